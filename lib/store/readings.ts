// Readings and their 1-minute rollups: idempotent batch insert, rollup maintenance and queries.
import { ValidationError } from '../errors';
import type { Reading } from '../types';
import type { Queryable } from './db';
import type { ReadingsQuery, RollupRow, WriteResult } from './types';
import { Conditions, isoTime, numberOrNull, resolveLimit, timeParam } from './sql-values';

/** Rows per INSERT statement, which bounds each statement's parameters and each message to the worker. */
export const INSERT_CHUNK_ROWS = 5_000;
export const READINGS_LIMIT = { default: 10_000, max: 100_000 };

const BUCKET_MS = 60_000;

export interface ReadingsWriteResult extends WriteResult {
    /** One flag per input reading, in input order: true when this call stored it, false for a duplicate. */
    storedFlags: boolean[];
}

// Returns the keys of the stored rows grouped by asset and metric, with times as epoch
// milliseconds, so the main thread builds no Date object per reading.
const INSERT_READINGS = `
WITH stored AS (
    INSERT INTO readings (asset_id, metric, ts, value, unit, quality_flag)
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::text[], $6::text[])
    ON CONFLICT (asset_id, metric, ts) DO NOTHING
    RETURNING asset_id, metric, ts
)
SELECT asset_id, metric, array_agg((extract(epoch FROM ts) * 1000)::float8) AS times
FROM stored GROUP BY asset_id, metric`;

// Recomputes whole buckets from the raw table rather than adding the new rows to the stored
// aggregates, so a late or out-of-order reading leaves the same rollup as in-order delivery.
// The LATERAL subquery reads each bucket through the primary key, whatever the table statistics.
const UPSERT_ROLLUPS = `
INSERT INTO readings_1m (asset_id, metric, bucket, count, min, max, avg, sum, first, last, first_ts, last_ts)
SELECT g.asset_id, g.metric, g.bucket, b.count, b.min, b.max, b.avg, b.sum, b.first, b.last, b.first_ts, b.last_ts
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS g (asset_id, metric, bucket)
CROSS JOIN LATERAL (
    SELECT count(x.value)::int AS count,
        min(x.value) AS min, max(x.value) AS max, avg(x.value) AS avg, sum(x.value) AS sum,
        (array_agg(x.value ORDER BY x.ts) FILTER (WHERE x.value IS NOT NULL))[1] AS first,
        (array_agg(x.value ORDER BY x.ts DESC) FILTER (WHERE x.value IS NOT NULL))[1] AS last,
        min(x.ts) FILTER (WHERE x.value IS NOT NULL) AS first_ts,
        max(x.ts) FILTER (WHERE x.value IS NOT NULL) AS last_ts
    FROM readings x
    WHERE x.asset_id = g.asset_id AND x.metric = g.metric
        AND x.ts >= g.bucket AND x.ts < g.bucket + interval '1 minute'
) AS b
ON CONFLICT (asset_id, metric, bucket) DO UPDATE SET
    count = EXCLUDED.count, min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, sum = EXCLUDED.sum,
    first = EXCLUDED.first, last = EXCLUDED.last, first_ts = EXCLUDED.first_ts, last_ts = EXCLUDED.last_ts`;

function readingKey(assetId: string, metric: string, ms: number): string {
    return `${assetId}\u0000${metric}\u0000${ms}`;
}

/**
 * Returns the time of each reading in epoch milliseconds. Times are sent to the database as
 * UTC ISO strings built from these, so that a time without an offset cannot be read in the
 * database session's time zone, and stored rows match their input by key.
 */
function readingTimes(readings: Reading[], firstIndex: number): number[] {
    return readings.map((reading, offset) => {
        const ms = Date.parse(reading.ts);
        if (Number.isNaN(ms)) {
            throw new ValidationError('invalid_timestamp', `Invalid ts "${reading.ts}" in reading ${firstIndex + offset} of asset `
                + `${reading.asset_id}, metric ${reading.metric}: use an ISO 8601 time such as 2017-03-20T14:31:44.000Z.`, {
                field: 'ts',
                value: reading.ts,
            });
        }
        return ms;
    });
}

/** Splits readings into one array per column, the shape unnest() takes. */
function columns(readings: Reading[], times: number[]): unknown[][] {
    return [
        readings.map((r) => r.asset_id),
        readings.map((r) => r.metric),
        times.map((ms) => new Date(ms).toISOString()),
        readings.map((r) => r.value ?? null),
        readings.map((r) => r.unit),
        readings.map((r) => r.quality_flag ?? null),
    ];
}

/**
 * Inserts readings, skipping those already stored with the same asset_id, metric and ts, and
 * recomputes the 1-minute rollup of every minute that received a new reading. Call it inside
 * a transaction so that readings and rollups commit together, and so that a reading with an
 * unreadable time (a ValidationError) rolls back the chunks already inserted.
 */
export async function insertReadings(tx: Queryable, readings: Reading[]): Promise<ReadingsWriteResult> {
    const storedFlags = new Array<boolean>(readings.length).fill(false);
    const buckets = new Map<string, { assetId: string; metric: string; bucketMs: number }>();
    let inserted = 0;

    for (let start = 0; start < readings.length; start += INSERT_CHUNK_ROWS) {
        const chunk = readings.slice(start, start + INSERT_CHUNK_ROWS);
        // Prepared chunk by chunk, so that the main thread is never busy for long in one go.
        const chunkTimes = readingTimes(chunk, start);
        const { rows } = await tx.query<{ asset_id: string; metric: string; times: number[] }>(
            INSERT_READINGS,
            columns(chunk, chunkTimes),
        );

        const stored = new Set<string>();
        for (const row of rows) {
            for (const time of row.times) {
                const ms = Number(time);
                stored.add(readingKey(row.asset_id, row.metric, ms));
                const bucketMs = Math.floor(ms / BUCKET_MS) * BUCKET_MS;
                buckets.set(readingKey(row.asset_id, row.metric, bucketMs), { assetId: row.asset_id, metric: row.metric, bucketMs });
            }
        }
        inserted += stored.size;
        // A key repeated inside the chunk was stored once: flag its first occurrence only.
        chunk.forEach((reading, offset) => {
            const key = readingKey(reading.asset_id, reading.metric, chunkTimes[offset]);
            if (stored.delete(key)) storedFlags[start + offset] = true;
        });
    }

    if (buckets.size > 0) {
        const groups = [...buckets.values()];
        await tx.query(UPSERT_ROLLUPS, [
            groups.map((g) => g.assetId),
            groups.map((g) => g.metric),
            groups.map((g) => new Date(g.bucketMs).toISOString()),
        ]);
    }
    return { inserted, duplicates: readings.length - inserted, storedFlags };
}

function toReading(row: Record<string, unknown>): Reading {
    const reading: Reading = {
        asset_id: String(row.asset_id),
        metric: String(row.metric),
        value: numberOrNull(row.value),
        unit: String(row.unit),
        ts: isoTime(row.ts),
    };
    if (row.quality_flag !== null && row.quality_flag !== undefined) reading.quality_flag = row.quality_flag as Reading['quality_flag'];
    return reading;
}

function toRollup(row: Record<string, unknown>): RollupRow {
    return {
        asset_id: String(row.asset_id),
        metric: String(row.metric),
        bucket: isoTime(row.bucket),
        count: Number(row.count),
        min: numberOrNull(row.min),
        max: numberOrNull(row.max),
        avg: numberOrNull(row.avg),
        first: numberOrNull(row.first),
        last: numberOrNull(row.last),
    };
}

/** Returns raw readings or 1-minute rollups of one asset in time order, up to the limit. */
export async function selectReadings(db: Queryable, query: ReadingsQuery): Promise<Reading[] | RollupRow[]> {
    const limit = resolveLimit(query.limit, READINGS_LIMIT.default, READINGS_LIMIT.max);
    const rollup = query.resolution === '1m';
    const time = rollup ? 'bucket' : 'ts';
    const conditions = new Conditions();
    conditions.add('asset_id = $', query.asset_id);
    if (query.metric !== undefined) conditions.add('metric = $', query.metric);
    if (query.from !== undefined) conditions.add(`${time} >= $::timestamptz`, timeParam(query.from, 'from'));
    if (query.to !== undefined) conditions.add(`${time} < $::timestamptz`, timeParam(query.to, 'to'));

    const select = rollup
        ? 'SELECT asset_id, metric, bucket, count, min, max, avg, first, last FROM readings_1m'
        : 'SELECT asset_id, metric, ts, value, unit, quality_flag FROM readings';
    const sql = `${select} ${conditions.where()} ORDER BY ${time}, metric LIMIT ${conditions.param(limit)}`;
    const { rows } = await db.query(sql, conditions.params);
    return rollup ? rows.map(toRollup) : rows.map(toReading);
}

/** Returns the latest reading of every asset and metric, or of the listed assets only. */
export async function selectLatestReadings(db: Queryable, assetIds?: string[]): Promise<Reading[]> {
    const conditions = new Conditions();
    if (assetIds !== undefined) conditions.add('asset_id = ANY($::text[])', assetIds);
    // NOTE: DISTINCT ON reads every row of the selected assets. When the dashboard's overview
    // gets slow on a large table, keep a latest-value table up to date in insertReadings instead.
    const sql = `SELECT DISTINCT ON (asset_id, metric) asset_id, metric, ts, value, unit, quality_flag
        FROM readings ${conditions.where()} ORDER BY asset_id, metric, ts DESC`;
    const { rows } = await db.query(sql, conditions.params);
    return rows.map(toReading);
}

export async function countReadings(db: Queryable, filter: { asset_id?: string; metric?: string } = {}): Promise<number> {
    const conditions = new Conditions();
    if (filter.asset_id !== undefined) conditions.add('asset_id = $', filter.asset_id);
    if (filter.metric !== undefined) conditions.add('metric = $', filter.metric);
    const { rows } = await db.query<{ count: unknown }>(`SELECT count(*) AS count FROM readings ${conditions.where()}`, conditions.params);
    return Number(rows[0]?.count ?? 0);
}
