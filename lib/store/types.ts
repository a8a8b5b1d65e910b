// The store contract. PostgreSQL and the embedded PGlite engine implement the same interface with
// the same SQL; nodes and the API use only this interface.
import type { AlertEvent, Asset, Reading, Rejection, Severity } from '../types';

export type StoreSpec =
    | { engine: 'pglite'; /** Folder for the embedded database files. */ dataDir: string }
    | { engine: 'postgres'; /** libpq connection string, for example postgres://user@127.0.0.1:5432/upstream */ connectionString: string };

export interface WriteResult {
    /** Readings stored for the first time. */
    inserted: number;
    /** Readings already stored with the same asset_id, metric and ts; they change nothing. */
    duplicates: number;
}

export interface ReadingsQuery {
    asset_id: string;
    metric?: string;
    /** ISO 8601, inclusive. */
    from?: string;
    /** ISO 8601, exclusive. */
    to?: string;
    resolution?: 'raw' | '1m';
    limit?: number;
}

export interface RollupRow {
    asset_id: string;
    metric: string;
    bucket: string;
    count: number;
    min: number | null;
    max: number | null;
    avg: number | null;
    first: number | null;
    last: number | null;
}

export interface EventsQuery {
    severity?: Severity;
    state?: AlertEvent['state'];
    since?: string;
    asset_ids?: string[];
    limit?: number;
}

export interface QuarantineRow extends Rejection {
    id: number;
}

export interface Store {
    /** Stores readings idempotently on (asset_id, metric, ts) and updates their 1-minute rollups. */
    writeReadings(readings: Reading[]): Promise<WriteResult>;
    /** Appends rejected input to the quarantine; the same source and ref stored twice is kept once. */
    writeQuarantine(rows: Rejection[]): Promise<number>;
    /** Stores a new alert event; the same event_id stored twice is kept once. */
    insertEvent(event: AlertEvent): Promise<void>;
    /** Changes the state of an alert and records who did it. Returns the updated event or undefined. */
    updateEventState(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<AlertEvent | undefined>;
    upsertAssets(assets: Asset[]): Promise<void>;
    listAssets(filter?: { operator?: string }): Promise<Asset[]>;
    queryReadings(query: ReadingsQuery): Promise<Reading[] | RollupRow[]>;
    /** Latest reading per asset and metric, for the dashboard and the overview. */
    latestReadings(filter?: { asset_ids?: string[] }): Promise<Reading[]>;
    listEvents(query?: EventsQuery): Promise<AlertEvent[]>;
    listQuarantine(query?: { source?: string; since?: string; limit?: number }): Promise<QuarantineRow[]>;
    countReadings(filter?: { asset_id?: string; metric?: string }): Promise<number>;
    /** Runs SQL directly; for migrations, tests and diagnostics. */
    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
    close(): Promise<void>;
}
