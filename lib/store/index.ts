// Entry point of the store: one database connection per process and data folder or connection
// string, shared by the runtime API and every flow node through reference-counted handles.
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
import { ServiceError } from '../errors';
import type { AlertEvent, Asset, Reading, Rejection } from '../types';
import type { ReadingsWriteResult } from './readings';
import { resolveStoreSpec } from './spec';
import { type DetailedStore, openSqlStore, type SqlStore } from './sql-store';
import type {
    EventsQuery,
    QuarantineRow,
    ReadingsPage,
    ReadingsPageQuery,
    ReadingsQuery,
    RetentionPolicy,
    RetentionResult,
    RollupRow,
    StoreSpec,
} from './types';

export type { ReadingsWriteResult } from './readings';
export type { DetailedStore } from './sql-store';
export { DEFAULT_RETENTION } from './partitions';
export { describeStoreSpec, resolveStoreSpec, storeSpecFromSettings, type StoreSettings } from './spec';
export type * from './types';
export type * from './alert-lifecycle';

interface SharedStore {
    key: string;
    openers: number;
    opened: Promise<SqlStore>;
}

const shared = new Map<string, SharedStore>();
/** Stores being closed, by key; opening the same database again waits for them. */
const closing = new Map<string, Promise<void>>();

function cacheKey(spec: StoreSpec): string {
    return spec.engine === 'pglite' ? `pglite:${spec.dataDir}` : `postgres:${spec.connectionString}`;
}

async function openShared(key: string, spec: StoreSpec): Promise<SqlStore> {
    // Two engines on one data folder would corrupt it, so a reopen waits for the close to end.
    await closing.get(key);
    return openSqlStore(spec);
}

/**
 * Opens the store of `spec`, or joins the instance already open in this process for the same
 * data folder or connection string. Each caller gets its own handle, and `close()` on a handle
 * releases only that caller. The database closes when the last handle closes.
 */
export async function openStore(spec: StoreSpec): Promise<StoreHandle> {
    const resolved = resolveStoreSpec(spec);
    const key = cacheKey(resolved);
    let entry = shared.get(key);
    if (!entry) {
        const created: SharedStore = { key, openers: 0, opened: openShared(key, resolved) };
        created.opened.catch(() => {
            // A failed open is not cached, so the next caller tries again.
            if (shared.get(key) === created) shared.delete(key);
        });
        shared.set(key, created);
        entry = created;
    }

    entry.openers += 1;
    try {
        return new StoreHandle(entry, await entry.opened);
    } catch (error) {
        entry.openers -= 1;
        throw error;
    }
}

async function release(entry: SharedStore): Promise<void> {
    entry.openers -= 1;
    if (entry.openers > 0 || shared.get(entry.key) !== entry) return;

    shared.delete(entry.key);
    const closed = entry.opened.then((store) => store.close());
    const settled = closed.catch(() => undefined);
    closing.set(entry.key, settled);
    void settled.then(() => {
        if (closing.get(entry.key) === settled) closing.delete(entry.key);
    });
    await closed;
}

/** Closes every store open in this process, including stores with open handles. For shutdown and tests. */
export async function closeAllStores(): Promise<void> {
    const entries = [...shared.values()];
    for (const entry of entries) entry.openers = 1;
    await Promise.all(entries.map((entry) => release(entry)));
}

/** One opener's view of a shared store. */
export class StoreHandle implements DetailedStore {
    private closed = false;

    constructor(
        private readonly entry: SharedStore,
        private readonly store: SqlStore,
    ) {}

    private use(): SqlStore {
        if (this.closed) {
            throw new ServiceError('This store handle is closed; open the store again with openStore().');
        }
        return this.store;
    }

    async writeReadings(readings: Reading[]): Promise<ReadingsWriteResult> {
        return this.use().writeReadings(readings);
    }

    async writeQuarantine(rows: Rejection[]): Promise<number> {
        return this.use().writeQuarantine(rows);
    }

    async insertEvent(event: AlertEvent): Promise<boolean> {
        return this.use().insertEvent(event);
    }

    async updateEventState(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<AlertEvent | undefined> {
        return this.use().updateEventState(eventId, state, by, at);
    }

    async transitionEvent(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<{ event: AlertEvent | undefined; changed: boolean }> {
        return this.use().transitionEvent(eventId, state, by, at);
    }

    async openAlert(event: AlertEvent, options: OpenAlertOptions): Promise<OpenAlertResult> {
        return this.use().openAlert(event, options);
    }

    async listStoredAlerts(query?: StoredAlertsQuery): Promise<StoredAlert[]> {
        return this.use().listStoredAlerts(query);
    }

    async escalateAlert(eventId: string, change: EscalationChange): Promise<StoredAlert | undefined> {
        return this.use().escalateAlert(eventId, change);
    }

    async setAlertSilence(eventId: string, silenceId: string | null, at: string): Promise<StoredAlert | undefined> {
        return this.use().setAlertSilence(eventId, silenceId, at);
    }

    async requestAlertNotification(eventId: string, at: string): Promise<boolean> {
        return this.use().requestAlertNotification(eventId, at);
    }

    async claimAlertNotifications(eventIds: string[], at: string): Promise<string[]> {
        return this.use().claimAlertNotifications(eventIds, at);
    }

    async createSilence(input: SilenceInput): Promise<Silence> {
        return this.use().createSilence(input);
    }

    async listSilences(query?: SilencesQuery): Promise<Silence[]> {
        return this.use().listSilences(query);
    }

    async expireSilence(silenceId: string, by: string, at?: string): Promise<{ silence: Silence | undefined; changed: boolean }> {
        return this.use().expireSilence(silenceId, by, at);
    }

    async upsertAssets(assets: Asset[]): Promise<void> {
        return this.use().upsertAssets(assets);
    }

    async listAssets(filter?: { operator?: string }): Promise<Asset[]> {
        return this.use().listAssets(filter);
    }

    /** Recomputes the rollups of marked minutes now; see SqlStore.refreshRollups. */
    async refreshRollups(scope?: { asset_id?: string; metric?: string }): Promise<number> {
        return this.use().refreshRollups(scope);
    }

    async queryReadings(query: ReadingsQuery): Promise<Reading[] | RollupRow[]> {
        return this.use().queryReadings(query);
    }

    async readingsPage(query: ReadingsPageQuery): Promise<ReadingsPage> {
        return this.use().readingsPage(query);
    }

    async preparePartitions(now?: Date, months?: number): Promise<string[]> {
        return this.use().preparePartitions(now, months);
    }

    async applyRetention(now: Date, policy?: RetentionPolicy): Promise<RetentionResult> {
        return this.use().applyRetention(now, policy);
    }

    async latestReadings(filter?: { asset_ids?: string[] }): Promise<Reading[]> {
        return this.use().latestReadings(filter);
    }

    async listEvents(query?: EventsQuery): Promise<AlertEvent[]> {
        return this.use().listEvents(query);
    }

    async listQuarantine(query?: { source?: string; since?: string; limit?: number }): Promise<QuarantineRow[]> {
        return this.use().listQuarantine(query);
    }

    async countReadings(filter?: { asset_id?: string; metric?: string }): Promise<number> {
        return this.use().countReadings(filter);
    }

    async appendAudit(entry: AuditEntryInput): Promise<AuditEntry> {
        return this.use().appendAudit(entry);
    }

    async listAudit(limit?: number): Promise<AuditEntry[]> {
        return this.use().listAudit(limit);
    }

    async verifyAudit(): Promise<number | undefined> {
        return this.use().verifyAudit();
    }

    async monthlyFieldProduction(): Promise<MonthlyFieldProduction[]> {
        return this.use().monthlyFieldProduction();
    }

    async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> {
        return this.use().query<T>(sql, params);
    }

    /** Releases this handle; closing it again does nothing. */
    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        await release(this.entry);
    }
}
