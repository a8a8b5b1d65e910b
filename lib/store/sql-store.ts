// The Store implemented in SQL over a Db, the same on PostgreSQL and on the embedded engine.
import { appendAudit, appendAuditLocked, selectAudit, verifyAuditChain, type AuditEntry, type AuditEntryInput } from './audit';
import { selectMonthlyFieldProduction, type MonthlyFieldProduction } from './public-aggregates';
import type { AlertEvent, Asset, Reading, Rejection } from '../types';
import type { Db } from './db';
import { migrate } from './migrate';
import { openPgliteDb } from './pglite-db';
import { openPostgresDb } from './postgres-db';
import { RollupRefresher } from './rollup-refresh';
import { applyRetention, isMissingPartitionError, monthsAround, PartitionCache, readingMonths } from './partitions';
import {
    countReadings,
    insertReadings,
    refreshRollups,
    selectLatestReadings,
    selectReadings,
    selectReadingsPage,
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

export class SqlStore implements DetailedStore {
    private readonly partitions: PartitionCache;
    private readonly refresher: RollupRefresher;

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
        let result: ReadingsWriteResult;
        try {
            result = await this.db.transaction((tx) => insertReadings(tx, readings));
        } catch (error) {
            if (!isMissingPartitionError(error)) throw error;
            // Retention in another process dropped a month this process had seen: create it again.
            this.partitions.forget(months);
            await this.partitions.ensure(months);
            result = await this.db.transaction((tx) => insertReadings(tx, readings));
        }
        if (result.inserted > 0) this.refresher.kick();
        return result;
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
        await this.refreshRollups();
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
    updateEventState(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<AlertEvent | undefined> {
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
            return event;
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
