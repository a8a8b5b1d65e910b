// The Store implemented in SQL over a Db, the same on PostgreSQL and on the embedded engine.
import { randomUUID } from 'node:crypto';

import {
    claimAlertNotifications,
    escalateAlert,
    expireSilence,
    insertSilence,
    openAlert,
    requestAlertNotification,
    selectSilences,
    selectStoredAlerts,
    setAlertSilence,
    type EscalationChange,
    type OpenAlertOptions,
    type OpenAlertResult,
    type Silence,
    type SilenceInput,
    type SilencesQuery,
    type StoredAlert,
    type StoredAlertsQuery,
} from './alert-lifecycle';
import { sqlStateOf } from './db-errors';
import { appendAudit, appendAuditLocked, selectAudit, verifyAuditChain, type AuditEntry, type AuditEntryInput } from './audit';
import { selectMonthlyFieldProduction, type MonthlyFieldProduction } from './public-aggregates';
import type { AlertEvent, Asset, Reading, Rejection } from '../types';
import type { Db, Queryable } from './db';
import { migrate } from './migrate';
import { openPgliteDb } from './pglite-db';
import { openPostgresDb } from './postgres-db';
import { RollupRefresher } from './rollup-refresh';
import { applyRetention, isMissingPartitionError, monthsAround, PartitionCache, readingMonths } from './partitions';
import {
    countReadings,
    insertReadings,
    insertsInOneStatement,
    KnownSeries,
    refreshRollups,
    selectLatestReadings,
    selectReadings,
    selectReadingsPage,
    type InsertReadingsOptions,
    type InsertReadingsResult,
    type ReadingsWriteResult,
} from './readings';
import {
    insertEvent,
    insertQuarantine,
    selectAssets,
    selectEvents,
    selectQuarantine,
    updateEventState,
    upsertAssets,
} from './records';
import type {
    EventsQuery,
    QuarantineRow,
    ReadingsPage,
    ReadingsPageQuery,
    ReadingsQuery,
    RetentionPolicy,
    RetentionResult,
    RollupRow,
    Store,
    StoreSpec,
} from './types';

export interface DetailedStore extends Store {
    /** As Store.writeReadings, and also reports which input readings were new. */
    writeReadings(readings: Reading[]): Promise<ReadingsWriteResult>;
}

/** True for a unique violation (SQLSTATE 23505): a reading of the batch is already stored. */
function isDuplicateError(error: unknown): boolean {
    return sqlStateOf(error) === '23505';
}

/** Batches written with skipped duplicates after a duplicate, before the plain insert is tried again. */
const CAREFUL_BATCHES = 20;

/** Audit details of a silence: what it matches, when and why. */
function silenceDetails(silence: Silence): Record<string, unknown> {
    const { asset_id, field, operator, rule_id, starts_at, ends_at, reason } = silence;
    return { asset_id, field, operator, rule_id, starts_at, ends_at, reason };
}

export class SqlStore implements DetailedStore {
    private readonly partitions: PartitionCache;
    private readonly refresher: RollupRefresher;
    /** Series this process has seen in the series list. */
    private readonly knownSeries = new KnownSeries();
    /**
     * Batches left to write in the mode that skips duplicates. Most batches hold only new readings
     * and take the faster plain insert; after a batch with a duplicate (a redelivery) the next few
     * skip duplicates from the start, since redelivered readings tend to come in runs.
     */
    private carefulBatches = 0;

    constructor(private readonly db: Db) {
        this.partitions = new PartitionCache(db);
        this.refresher = new RollupRefresher(db);
        // Marks left by a process that stopped before refreshing them.
        this.refresher.kick();
    }

    async writeReadings(readings: Reading[]): Promise<ReadingsWriteResult> {
        if (readings.length === 0) return { inserted: 0, duplicates: 0, storedFlags: [] };
        // Partitions are created before the write transaction and outside it, so that the write
        // does not hold its locks while another process attaches a partition.
        const months = readingMonths(readings);
        await this.partitions.ensure(months);
        let result: InsertReadingsResult;
        try {
            result = await this.insertBatch(readings);
        } catch (error) {
            if (!isMissingPartitionError(error)) throw error;
            // Retention in another process dropped a month this process had seen: create it again.
            this.partitions.forget(months);
            await this.partitions.ensure(months);
            result = await this.insertBatch(readings);
        }
        for (const [assetId, metric] of result.addedSeries) this.knownSeries.add(assetId, metric);
        if (result.inserted > 0) this.refresher.kick();
        const { inserted, duplicates, storedFlags } = result;
        return { inserted, duplicates, storedFlags };
    }

    /**
     * Writes one batch atomically, with the plain insert unless a duplicate is likely. A batch
     * that takes one statement is sent alone; a larger batch, or one that adds series, is written
     * in a transaction. Under load each round trip waits for a free turn of the runtime's event
     * loop, so leaving out BEGIN and COMMIT saves two such waits per batch.
     */
    private async insertBatch(readings: Reading[]): Promise<InsertReadingsResult> {
        const write = (mode: InsertReadingsOptions['mode']): Promise<InsertReadingsResult> => {
            const insert = (target: Queryable): Promise<InsertReadingsResult> =>
                insertReadings(target, readings, { mode, knownSeries: this.knownSeries });
            return insertsInOneStatement(readings, this.knownSeries) ? insert(this.db) : this.db.transaction(insert);
        };
        if (this.carefulBatches > 0) {
            this.carefulBatches--;
            return write('skip-duplicates');
        }
        try {
            return await write('new');
        } catch (error) {
            if (!isDuplicateError(error)) throw error;
            this.carefulBatches = CAREFUL_BATCHES;
            return write('skip-duplicates');
        }
    }

    /**
     * Recomputes the rollups of every marked minute now, or of one asset's (and metric's) minutes.
     * Rollups are otherwise refreshed in the background shortly after each write, and before a
     * query of the asset reads them.
     */
    refreshRollups(scope?: { asset_id?: string; metric?: string }): Promise<number> {
        return refreshRollups(this.db, scope);
    }

    preparePartitions(now: Date = new Date(), months = 2): Promise<string[]> {
        return this.partitions.ensure(monthsAround(now, months));
    }

    async applyRetention(now: Date, policy?: RetentionPolicy): Promise<RetentionResult> {
        // Rollups of raw readings about to be dropped must be computed while those readings exist.
        // Those buckets ended long ago. Buckets still receiving readings are left to the
        // background refresh. Under load, new marks for them keep arriving: at 40,000 readings/s,
        // a retention pass that refreshed every marked bucket took 26 to 28 s.
        await refreshRollups(this.db, {}, now.getTime());
        const result = await applyRetention(this.db, now, policy);
        // A yearly rollup partition covers twelve months of the cache, so start it afresh.
        if (result.droppedPartitions.length > 0) this.partitions.forget();
        return result;
    }

    writeQuarantine(rows: Rejection[]): Promise<number> {
        return insertQuarantine(this.db, rows);
    }

    /** Stores a new alert and records its opening in the audit log, in one transaction. */
    insertEvent(event: AlertEvent): Promise<boolean> {
        return this.db.transaction(async (tx) => {
            const inserted = await insertEvent(tx, event);
            if (inserted) {
                await appendAuditLocked(tx, {
                    actor: event.rule_id.startsWith('anomaly') ? 'detector' : 'rule',
                    action: `alert.${event.state === 'open' ? 'open' : event.state}`,
                    subject: event.event_id,
                    details: { rule_id: event.rule_id, asset_id: event.asset_id, severity: event.severity, at: event.opened_at },
                });
            }
            return inserted;
        });
    }

    /**
     * Moves an alert to acknowledged or resolved and records who did it in the audit log, in one
     * transaction. A request that changes nothing records nothing.
     */
    async updateEventState(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<AlertEvent | undefined> {
        return (await this.transitionEvent(eventId, state, by, at)).event;
    }

    /** Does what updateEventState does, and also returns whether this call changed the alert. */
    transitionEvent(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<{ event: AlertEvent | undefined; changed: boolean }> {
        return this.db.transaction(async (tx) => {
            const { event, changed } = await updateEventState(tx, eventId, state, by, at);
            if (event && changed) {
                await appendAuditLocked(tx, {
                    actor: by,
                    action: state === 'acknowledged' ? 'alert.acknowledge' : 'alert.resolve',
                    subject: eventId,
                    details: { rule_id: event.rule_id, asset_id: event.asset_id, severity: event.severity, at: state === 'acknowledged' ? event.acknowledged_at : event.resolved_at },
                });
            }
            return { event, changed };
        });
    }

    /** Stores an alert with its lifecycle; a new alert is recorded in the audit log in the same transaction. */
    openAlert(event: AlertEvent, options: OpenAlertOptions): Promise<OpenAlertResult> {
        return this.db.transaction(async (tx) => {
            const result = await openAlert(tx, event, options);
            if (result.outcome === 'inserted') {
                await appendAuditLocked(tx, {
                    actor: event.rule_id.startsWith('anomaly') ? 'detector' : 'rule',
                    action: `alert.${event.state === 'open' ? 'open' : event.state}`,
                    subject: event.event_id,
                    details: {
                        rule_id: event.rule_id,
                        asset_id: event.asset_id,
                        severity: event.severity,
                        at: event.opened_at,
                        ...(result.alert.silence_id ? { silence_id: result.alert.silence_id } : {}),
                    },
                });
            }
            return result;
        });
    }

    listStoredAlerts(query?: StoredAlertsQuery): Promise<StoredAlert[]> {
        return selectStoredAlerts(this.db, query);
    }

    /** Applies an escalation and records it in the audit log with actor `escalation`, in one transaction. */
    escalateAlert(eventId: string, change: EscalationChange): Promise<StoredAlert | undefined> {
        return this.db.transaction(async (tx) => {
            const alert = await escalateAlert(tx, eventId, change);
            if (alert) {
                await appendAuditLocked(tx, {
                    actor: 'escalation',
                    action: 'alert.escalate',
                    subject: eventId,
                    at: change.at,
                    details: { rule_id: alert.rule_id, asset_id: alert.asset_id, from: change.from_severity, to: change.to_severity, step: change.to_step },
                });
            }
            return alert;
        });
    }

    setAlertSilence(eventId: string, silenceId: string | null, at: string): Promise<StoredAlert | undefined> {
        return setAlertSilence(this.db, eventId, silenceId, at);
    }

    requestAlertNotification(eventId: string, at: string): Promise<boolean> {
        return requestAlertNotification(this.db, eventId, at);
    }

    claimAlertNotifications(eventIds: string[], at: string): Promise<string[]> {
        return claimAlertNotifications(this.db, eventIds, at);
    }

    /** Stores a silence and records it in the audit log, in one transaction. */
    createSilence(input: SilenceInput): Promise<Silence> {
        return this.db.transaction(async (tx) => {
            const silence = await insertSilence(tx, randomUUID(), input);
            await appendAuditLocked(tx, {
                actor: input.created_by,
                action: 'silence.create',
                subject: silence.silence_id,
                details: silenceDetails(silence),
            });
            return silence;
        });
    }

    listSilences(query?: SilencesQuery): Promise<Silence[]> {
        return selectSilences(this.db, query);
    }

    /** Ends a silence and records who did it in the audit log, in one transaction; an ended silence records nothing. */
    expireSilence(silenceId: string, by: string, at: string = new Date().toISOString()): Promise<{ silence: Silence | undefined; changed: boolean }> {
        return this.db.transaction(async (tx) => {
            const result = await expireSilence(tx, silenceId, by, at);
            if (result.silence && result.changed) {
                await appendAuditLocked(tx, { actor: by, action: 'silence.expire', subject: silenceId, at, details: silenceDetails(result.silence) });
            }
            return result;
        });
    }

    upsertAssets(assets: Asset[]): Promise<void> {
        return upsertAssets(this.db, assets);
    }

    listAssets(filter?: { operator?: string }): Promise<Asset[]> {
        return selectAssets(this.db, filter);
    }

    async queryReadings(query: ReadingsQuery): Promise<Reading[] | RollupRow[]> {
        if (query.resolution !== undefined && query.resolution !== 'raw') await this.refreshRollups({ asset_id: query.asset_id, metric: query.metric });
        return selectReadings(this.db, query);
    }

    async readingsPage(query: ReadingsPageQuery): Promise<ReadingsPage> {
        // Brings the asset's rollups up to date first, so that a read includes every committed write.
        if (query.resolution !== 'raw') await this.refreshRollups({ asset_id: query.asset_id, metric: query.metric });
        return selectReadingsPage(this.db, query);
    }

    latestReadings(filter?: { asset_ids?: string[] }): Promise<Reading[]> {
        return selectLatestReadings(this.db, filter?.asset_ids);
    }

    listEvents(query?: EventsQuery): Promise<AlertEvent[]> {
        return selectEvents(this.db, query);
    }

    listQuarantine(query?: { source?: string; since?: string; limit?: number }): Promise<QuarantineRow[]> {
        return selectQuarantine(this.db, query);
    }

    countReadings(filter?: { asset_id?: string; metric?: string }): Promise<number> {
        return countReadings(this.db, filter);
    }

    appendAudit(entry: AuditEntryInput): Promise<AuditEntry> {
        return appendAudit(this.db, entry);
    }

    listAudit(limit?: number): Promise<AuditEntry[]> {
        return selectAudit(this.db, limit);
    }

    verifyAudit(): Promise<number | undefined> {
        return verifyAuditChain(this.db);
    }

    monthlyFieldProduction(): Promise<MonthlyFieldProduction[]> {
        return selectMonthlyFieldProduction(this.db);
    }

    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> {
        return this.db.query<T>(sql, params);
    }

    async close(): Promise<void> {
        await this.refresher.close();
        await this.db.close();
    }
}

/** Connects to the database of `spec` without migrating it. */
export function openDb(spec: StoreSpec): Promise<Db> {
    return spec.engine === 'pglite' ? openPgliteDb(spec.dataDir) : openPostgresDb(spec.connectionString);
}

/**
 * Connects to the database of `spec`, applies pending migrations, creates the readings partitions
 * of the months around now and returns the store.
 */
export async function openSqlStore(spec: StoreSpec): Promise<SqlStore> {
    const db = await openDb(spec);
    try {
        await migrate(db);
        const store = new SqlStore(db);
        await store.preparePartitions();
        return store;
    } catch (error) {
        await db.close().catch(() => undefined);
        throw error;
    }
}
