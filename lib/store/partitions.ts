// Monthly partitions of the raw readings table and retention by resolution.
//
// readings is partitioned by month of ts in UTC (migration 2), without a default partition, so a
// month's partition must exist before a reading of that month is written. Partitions are created
// ahead of time for the months around now, and on demand for the months a write needs: a
// historical import such as the Volve daily reports (2007-2016) writes into months long past.
import { ConfigError } from '../errors';
import { parseTime } from '../time';
import type { Reading } from '../types';
import type { Db, Queryable } from './db';
import { sqlStateOf } from './db-errors';
import type { Resolution, RetentionPolicy, RetentionResult } from './types';
import { RESOLUTION_TABLES, RESOLUTIONS } from './readings';
import { isoTime } from './sql-values';

/**
 * Default retention in days: raw readings 90 days, 1-minute rollups 2 years, 15-minute and hourly
 * rollups forever. The cloud runtime applies it on a schedule (see runtime/retention.ts).
 * NOTE: Historical imports need a retention policy of their own. The Volve readings (2007-2016)
 * are years older than the raw retention, so applying the defaults drops all their raw readings
 * and their 1-minute rollups, and keeps only the 15-minute and hourly rollups.
 */
export const DEFAULT_RETENTION: RetentionPolicy = { raw: 90, '1m': 730, '15m': null, '1h': null };

const DAY_MS = 86_400_000;

/** Returns the start of the UTC month of `ms` plus `offset` months, in epoch milliseconds. */
export function monthStart(ms: number, offset = 0): number {
    const date = new Date(ms);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1);
}

/** Returns the distinct UTC months of the readings' times; unreadable times are left to the insert to reject. */
export function readingMonths(readings: Reading[]): number[] {
    const months = new Set<number>();
    let lastMonth = Number.NaN;
    let lastEnd = Number.NaN;
    for (const reading of readings) {
        const ms = parseTime(reading.ts);
        if (Number.isNaN(ms)) continue;
        // Readings usually come in time order, so most fall in the month of the previous one.
        if (ms >= lastMonth && ms < lastEnd) continue;
        lastMonth = monthStart(ms);
        lastEnd = monthStart(ms, 1);
        months.add(lastMonth);
    }
    return [...months];
}

/** True for the error of an insert into a month that has no partition (SQLSTATE 23514). */
export function isMissingPartitionError(error: unknown): boolean {
    return sqlStateOf(error) === '23514' && /no partition of relation/i.test(String((error as Error).message));
}

function quoteIdentifier(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Keeps track of the partitions known to exist, so that a write queries the database only for
 * months it has not seen. A month dropped by another process is noticed when an insert fails
 * with isMissingPartitionError, and the caller then calls forget() and ensure() again.
 */
export class PartitionCache {
    private readonly known = new Set<number>();

    constructor(private readonly db: Db) {}

    /** Creates the partitions of the given months (epoch ms of month starts) that are missing. */
    async ensure(months: number[]): Promise<string[]> {
        const missing = months.filter((month) => !this.known.has(month));
        if (missing.length === 0) return [];
        // One statement outside the write transaction: the function takes a transaction-scoped
        // advisory lock, which is released as soon as the partitions exist.
        const { rows } = await this.db.query<{ created: string | null }>(
            'SELECT readings_create_partition(month) AS created FROM unnest($1::timestamptz[]) AS month',
            [missing.map((month) => new Date(month).toISOString())],
        );
        for (const month of missing) this.known.add(month);
        return rows.map((row) => row.created).filter((name): name is string => name !== null);
    }

    forget(months?: number[]): void {
        if (months === undefined) this.known.clear();
        else for (const month of months) this.known.delete(month);
    }
}

export interface PartitionInfo {
    name: string;
    /** Bounds as epoch milliseconds: from inclusive, to exclusive. */
    from: number;
    to: number;
}

/** Lists the range partitions of `parent` (readings or one of its rollup tables) with their bounds, oldest first. */
export async function listPartitions(db: Queryable, parent = 'readings'): Promise<PartitionInfo[]> {
    // pg_get_expr prints the bounds as timestamptz literals with their offset, for example
    // FOR VALUES FROM ('2017-03-01 00:00:00+00') TO ('2017-04-01 00:00:00+00').
    const { rows } = await db.query<{ name: string; from: unknown; to: unknown }>(
        `SELECT c.relname AS name,
            substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']+)''\\)')::timestamptz AS "from",
            substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS "to"
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass AND c.relkind = 'r'
        ORDER BY 2`,
        [parent],
    );
    return rows
        .filter((row) => row.from !== null && row.to !== null)
        .map((row) => ({ name: row.name, from: Date.parse(isoTime(row.from)), to: Date.parse(isoTime(row.to)) }));
}

/** Returns the month starts from `months` before to `months` after the month of `now`. */
export function monthsAround(now: Date, months: number): number[] {
    if (!Number.isInteger(months) || months < 0 || months > 120) {
        throw new ConfigError(`Invalid number of months ${months} to prepare partitions for: use a whole number from 0 to 120.`);
    }
    const result: number[] = [];
    for (let offset = -months; offset <= months; offset += 1) result.push(monthStart(now.getTime(), offset));
    return result;
}

/** Throws a ConfigError unless every retention is positive or null and no resolution outlives a coarser one. */
export function checkRetentionPolicy(policy: RetentionPolicy): void {
    let previous = 0;
    let previousResolution: Resolution = 'raw';
    for (const resolution of RESOLUTIONS) {
        const days = policy[resolution];
        if (days !== null && (typeof days !== 'number' || !Number.isFinite(days) || days <= 0)) {
            throw new ConfigError(`Invalid retention of ${String(days)} days for ${resolution}: use a positive number of days, or null to keep forever.`);
        }
        const keptDays = days ?? Number.POSITIVE_INFINITY;
        // A rollup recomputed after its raw readings were dropped would lose data, and rollups of
        // a coarse resolution are built from the 1-minute rollups.
        if (keptDays < previous) {
            const kept = Number.isFinite(previous) ? `${previous} days` : 'forever';
            const example = Number.isFinite(previous) ? `${previous}d` : 'forever';
            throw new ConfigError(`Invalid retention: ${previousResolution} is kept ${kept}, longer than ${resolution} (${days} days); `
                + `keep ${resolution} as long, for example ${resolution}=${example}, because each resolution must be kept `
                + 'at least as long as the finer ones (raw ≤ 1m ≤ 15m ≤ 1h).');
        }
        previous = keptDays;
        previousResolution = resolution;
    }
}

/**
 * Drops, for each resolution with a retention, every partition whose range ends at or before `now`
 * minus that retention, and records how far each resolution is gone, in one transaction.
 * Partitions are dropped whole and never emptied row by row. Raw readings and 1-minute rollups go
 * by month, 15-minute and hourly rollups by year. Rows of the month (or year) that contains the
 * cutoff stay until all of it has passed the cutoff.
 */
export async function applyRetention(db: Db, now: Date, policy: RetentionPolicy = DEFAULT_RETENTION): Promise<RetentionResult> {
    checkRetentionPolicy(policy);
    const nowMs = now.getTime();
    if (Number.isNaN(nowMs)) throw new ConfigError('Invalid time for applyRetention: pass a valid Date.');

    return db.transaction(async (tx) => {
        const dropped: RetentionResult['droppedPartitions'] = [];
        for (const resolution of RESOLUTIONS) {
            const days = policy[resolution];
            if (days === null) continue;
            const cutoff = nowMs - days * DAY_MS;
            const droppedHere: number[] = [];
            for (const partition of await listPartitions(tx, RESOLUTION_TABLES[resolution])) {
                if (partition.to > cutoff) continue;
                // Takes an ACCESS EXCLUSIVE lock on the parent table until commit, so writes wait that long.
                await tx.exec(`DROP TABLE ${quoteIdentifier(partition.name)}`);
                droppedHere.push(partition.to);
                dropped.push({
                    resolution, name: partition.name, from: new Date(partition.from).toISOString(), to: new Date(partition.to).toISOString(),
                });
            }
            if (droppedHere.length === 0) continue;
            await tx.query(
                `INSERT INTO retention_horizons (resolution, dropped_before) VALUES ($1, $2)
                ON CONFLICT (resolution) DO UPDATE SET applied_at = now(),
                    dropped_before = greatest(retention_horizons.dropped_before, EXCLUDED.dropped_before)`,
                [resolution, new Date(Math.max(...droppedHere)).toISOString()],
            );
        }

        const { rows } = await tx.query<{ resolution: Resolution; dropped_before: unknown }>('SELECT resolution, dropped_before FROM retention_horizons');
        const horizons: RetentionResult['horizons'] = { raw: null, '1m': null, '15m': null, '1h': null };
        for (const row of rows) horizons[row.resolution] = isoTime(row.dropped_before);
        return { droppedPartitions: dropped, horizons, rawHorizon: horizons.raw };
    });
}
