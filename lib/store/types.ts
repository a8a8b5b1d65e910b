// The store contract. PostgreSQL and the embedded PGlite engine implement the same interface with
// the same SQL; nodes and the API use only this interface.
import type { AlertEvent, Asset, QualityFlag, Reading, Rejection, Severity } from '../types';
import type {
    EscalationChange,
    OpenAlertOptions,
    OpenAlertResult,
    Silence,
    SilenceInput,
    SilencesQuery,
    StoredAlert,
    StoredAlertsQuery,
} from './alert-lifecycle';
import type { AuditEntry, AuditEntryInput } from './audit';
import type { MonthlyFieldProduction } from './public-aggregates';

export type StoreSpec =
    | { engine: 'pglite'; /** Folder for the embedded database files. */ dataDir: string }
    | { engine: 'postgres'; /** libpq connection string, for example postgres://user@127.0.0.1:5432/upstream */ connectionString: string };

export interface WriteResult {
    /** Readings stored for the first time. */
    inserted: number;
    /** Readings already stored with the same asset_id, metric and ts; they change nothing. */
    duplicates: number;
}

/** Raw readings, or rollups of 1 minute, 15 minutes or 1 hour. */
export type Resolution = 'raw' | '1m' | '15m' | '1h';

export interface ReadingsQuery {
    asset_id: string;
    metric?: string;
    /** ISO 8601, inclusive. */
    from?: string;
    /** ISO 8601, exclusive. */
    to?: string;
    resolution?: Resolution;
    limit?: number;
}

export interface ReadingsPageQuery extends ReadingsQuery {
    // Without a resolution, the page has the finest resolution whose rows in [from, to) number at
    // most max_points.
    /** Maximum points for the automatic resolution; defaults to `limit` when set, else 2,000. */
    max_points?: number;
    /** Cursor from a previous page's `next`: returns rows after this time (ISO 8601). */
    after?: string;
}

export interface ReadingsPage {
    resolution: Resolution;
    rows: Reading[] | RollupRow[];
    /** Time of the last row when more rows follow; pass it as `after` for the next page. */
    next: string | null;
}

export interface RollupRow {
    asset_id: string;
    metric: string;
    /** Start of the bucket, ISO 8601 in UTC. */
    bucket: string;
    /** Readings with a value; readings whose value is null are left out of every aggregate. */
    count: number;
    min: number | null;
    max: number | null;
    avg: number | null;
    first: number | null;
    last: number | null;
    /** Unit of the bucket's latest reading; null when unknown. */
    unit: string | null;
    /** Worst quality flag of the bucket's readings (BAD, then SUSPECT, then GOOD); null when none has one. */
    quality_flag: QualityFlag | null;
}

/** Days each resolution is kept; null keeps it forever. */
export type RetentionPolicy = Record<Resolution, number | null>;

export interface RetentionResult {
    /** Partitions dropped, with their resolution and the bounds of the month or year each held. */
    droppedPartitions: { resolution: Resolution; name: string; from: string; to: string }[];
    /** Per resolution, the time before which its rows are gone; null when nothing was ever dropped. */
    horizons: Record<Resolution, string | null>;
    /** Raw readings before this time are gone; null when nothing was ever dropped. */
    rawHorizon: string | null;
}

export interface EventsQuery {
    severity?: Severity;
    state?: AlertEvent['state'];
    since?: string;
    asset_ids?: string[];
    /** Only the events with these ids. */
    event_ids?: string[];
    limit?: number;
}

export interface QuarantineRow extends Rejection {
    id: number;
}

export interface Store {
    /**
     * Stores readings idempotently on (asset_id, metric, ts), creating the monthly partitions they
     * need, and updates their 1-minute, 15-minute and hourly rollups.
     */
    writeReadings(readings: Reading[]): Promise<WriteResult>;
    /** Appends rejected input to the quarantine; the same source and ref stored twice is kept once. */
    writeQuarantine(rows: Rejection[]): Promise<number>;
    /** Stores a new alert event; the same event_id stored twice is kept once, and the second call returns false. */
    insertEvent(event: AlertEvent): Promise<boolean>;
    /** Changes the state of an alert and records who did it. Returns the updated event or undefined. */
    updateEventState(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<AlertEvent | undefined>;
    /**
     * Changes the state of an alert like updateEventState, and also returns whether this call
     * changed it: false when a concurrent request got there first.
     */
    transitionEvent(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<{ event: AlertEvent | undefined; changed: boolean }>;
    /**
     * Stores an alert event with its lifecycle and records a new alert in the audit log. An open
     * event for a rule, asset and metric that already has an unresolved alert raises that alert's
     * repeat count instead of storing a second alert.
     */
    openAlert(event: AlertEvent, options: OpenAlertOptions): Promise<OpenAlertResult>;
    /** Returns stored alerts with their lifecycle columns, oldest opened first. */
    listStoredAlerts(query?: StoredAlertsQuery): Promise<StoredAlert[]>;
    /** Raises the severity of an open alert and records it in the audit log with actor `escalation`. */
    escalateAlert(eventId: string, change: EscalationChange): Promise<StoredAlert | undefined>;
    /** Sets or clears the silence of an unresolved alert; undefined when nothing changed. */
    setAlertSilence(eventId: string, silenceId: string | null, at: string): Promise<StoredAlert | undefined>;
    /** Makes a notification of the alert wait to be sent; false when one waits already or the alert is silenced. */
    requestAlertNotification(eventId: string, at: string): Promise<boolean>;
    /** Takes waiting notifications for sending and returns the ids taken; each is taken once. */
    claimAlertNotifications(eventIds: string[], at: string): Promise<string[]>;
    /** Stores a silence and records it in the audit log. */
    createSilence(input: SilenceInput): Promise<Silence>;
    /** Returns silences, newest created first. */
    listSilences(query?: SilencesQuery): Promise<Silence[]>;
    /** Ends a silence now and records who did it in the audit log; see expireSilence in alert-lifecycle.ts. */
    expireSilence(silenceId: string, by: string, at?: string): Promise<{ silence: Silence | undefined; changed: boolean }>;
    upsertAssets(assets: Asset[]): Promise<void>;
    listAssets(filter?: { operator?: string }): Promise<Asset[]>;
    queryReadings(query: ReadingsQuery): Promise<Reading[] | RollupRow[]>;
    /** Returns one page of readings or rollups, choosing the resolution when the query has none. */
    readingsPage(query: ReadingsPageQuery): Promise<ReadingsPage>;
    /**
     * Creates the raw partitions of the months from `months` before to `months` after the month of
     * `now` (default 2). Returns the names of the partitions created.
     */
    preparePartitions(now?: Date, months?: number): Promise<string[]>;
    /**
     * Drops raw partitions that end at or before now minus the raw retention, and deletes rollups
     * older than their retention. Never runs by itself: see DEFAULT_RETENTION.
     */
    applyRetention(now: Date, policy?: RetentionPolicy): Promise<RetentionResult>;
    /** Latest reading per asset and metric, for the dashboard and the overview. */
    latestReadings(filter?: { asset_ids?: string[] }): Promise<Reading[]>;
    listEvents(query?: EventsQuery): Promise<AlertEvent[]>;
    listQuarantine(query?: { source?: string; since?: string; limit?: number }): Promise<QuarantineRow[]>;
    countReadings(filter?: { asset_id?: string; metric?: string }): Promise<number>;
    /** Appends an entry to the hash-chained audit log. */
    appendAudit(entry: AuditEntryInput): Promise<AuditEntry>;
    /** Returns audit entries, newest first. */
    listAudit(limit?: number): Promise<AuditEntry[]>;
    /** Recomputes the audit hash chain; returns the id of the first broken entry, or undefined. */
    verifyAudit(): Promise<number | undefined>;
    /** Monthly oil, gas and water volumes per field, for the public view; no per-well figures. */
    monthlyFieldProduction(): Promise<MonthlyFieldProduction[]>;
    /** Runs SQL directly; for migrations, tests and diagnostics. */
    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
    close(): Promise<void>;
}
