// Readings and their rollups of 1 minute, 15 minutes and 1 hour: idempotent batch insert, rollup
// maintenance and queries.
import { ValidationError } from '../errors';
import { parseTime } from '../time';
import type { Reading } from '../types';
import type { Db, Queryable } from './db';
import type { ReadingsPage, ReadingsPageQuery, ReadingsQuery, Resolution, RollupRow, WriteResult } from './types';
import { Conditions, isoTime, numberArrayParam, numberOrNull, resolveLimit, textArrayParam, timeParam } from './sql-values';

/** Rows per INSERT statement, which bounds each statement's parameters and each message to the worker. */
export const INSERT_CHUNK_ROWS = 5_000;
export const READINGS_LIMIT = { default: 10_000, max: 100_000 };
/** Points a chart needs by default when the resolution is chosen automatically. */
export const DEFAULT_MAX_POINTS = 2_000;

export const RESOLUTIONS: readonly Resolution[] = ['raw', '1m', '15m', '1h'];
const ROLLUPS = [
    { resolution: '1m', bucketMs: 60_000 },
    { resolution: '15m', bucketMs: 900_000 },
    { resolution: '1h', bucketMs: 3_600_000 },
] as const;

export interface ReadingsWriteResult extends WriteResult {
    /** One flag per input reading, in input order: true when this call stored it, false for a duplicate. */
    storedFlags: boolean[];
}

// Rows of the readings' column arrays. Times travel as epoch milliseconds, which the database
// converts faster than ISO strings and which cannot be read in the session's time zone.
const SELECT_READING_COLUMNS = `SELECT r.asset_id, r.metric, to_timestamp(r.ms / 1000), r.value, r.unit, r.quality_flag
    FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[]) AS r (asset_id, metric, ms, value, unit, quality_flag)`;

// Writes readings that are all new. On PostgreSQL 15 here, a plain INSERT took about 60 % of the
// time of an INSERT that skips duplicates. A duplicate fails the statement with a unique violation, and
// the caller writes the batch again with INSERT_READINGS. In the same statement, marks the minutes the batch adds
// readings to, one mark per asset and minute ($7, $8, distinct), for refreshRollups to recompute.
const INSERT_NEW_READINGS = `
WITH stored AS (
    INSERT INTO readings (asset_id, metric, ts, value, unit, quality_flag)
    ${SELECT_READING_COLUMNS}
)
INSERT INTO rollup_pending_1m (asset_id, bucket, seq)
SELECT asset_id, to_timestamp(bucket / 1000), nextval('rollup_mark_seq') FROM unnest($7::text[], $8::float8[]) AS m (asset_id, bucket)
ON CONFLICT (asset_id, bucket) DO UPDATE SET seq = EXCLUDED.seq`;

// Skips readings already stored with the same key. Returns the keys of the stored rows grouped by
// asset and metric, with times as epoch milliseconds, so the main thread builds no Date object per
// reading, and marks the minutes of the stored readings like INSERT_NEW_READINGS.
const INSERT_READINGS = `
WITH stored AS (
    INSERT INTO readings (asset_id, metric, ts, value, unit, quality_flag)
    ${SELECT_READING_COLUMNS}
    ON CONFLICT (asset_id, metric, ts) DO NOTHING
    RETURNING asset_id, metric, ts
), marked AS (
    INSERT INTO rollup_pending_1m (asset_id, bucket, seq)
    SELECT asset_id, bucket, nextval('rollup_mark_seq') FROM (
        SELECT DISTINCT asset_id, date_bin('1 minute', ts, '2000-01-01 00:00:00+00') AS bucket FROM stored
    ) AS minutes
    ORDER BY asset_id, bucket
    ON CONFLICT (asset_id, bucket) DO UPDATE SET seq = EXCLUDED.seq
)
SELECT asset_id, metric, array_agg((extract(epoch FROM ts) * 1000)::float8) AS times
FROM stored GROUP BY asset_id, metric`;

const INSERT_SERIES = `
INSERT INTO series (asset_id, metric) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`;

// Ranks quality flags so that max() finds the worst one: BAD > SUSPECT > GOOD.
const WORST_QUALITY = (column: string): string => `CASE max(CASE ${column} WHEN 'GOOD' THEN 1 WHEN 'SUSPECT' THEN 2 WHEN 'BAD' THEN 3 END)
            WHEN 1 THEN 'GOOD' WHEN 2 THEN 'SUSPECT' WHEN 3 THEN 'BAD' END`;

const ROLLUP_COLUMNS = 'count, min, max, avg, sum, first, last, first_ts, last_ts, unit, quality_flag';

// A bucket before the raw horizon lost its raw readings to retention, so a late reading there must
// not replace the rollup computed from all of them. A bucket without a rollup row is still stored.
const upsertTail = (table: string): string => `
ON CONFLICT (asset_id, metric, bucket) DO UPDATE SET
    count = EXCLUDED.count, min = EXCLUDED.min, max = EXCLUDED.max, avg = EXCLUDED.avg, sum = EXCLUDED.sum,
    first = EXCLUDED.first, last = EXCLUDED.last, first_ts = EXCLUDED.first_ts, last_ts = EXCLUDED.last_ts,
    unit = EXCLUDED.unit, quality_flag = EXCLUDED.quality_flag
WHERE ${table}.bucket >= coalesce((SELECT dropped_before FROM retention_horizons WHERE resolution = 'raw'), '-infinity')`;

// Recomputes whole buckets from the raw table rather than adding the new rows to the stored
// aggregates, so a late or out-of-order reading leaves the same rollup as in-order delivery. A
// marked minute of an asset is expanded to the asset's metrics through the series list; a metric
// without a reading in that minute gets no rollup row. The LATERAL subquery reads each bucket
// through the primary key, whatever the table statistics. The quarters of the recomputed minutes
// are marked for the next stage.
const REFRESH_MINUTE_ROLLUPS = `
WITH minutes AS (
    INSERT INTO readings_1m (asset_id, metric, bucket, ${ROLLUP_COLUMNS})
    SELECT s.asset_id, s.metric, g.bucket, b.count, b.min, b.max, b.avg, b.sum, b.first, b.last, b.first_ts, b.last_ts,
        b.unit, b.quality_flag
    FROM unnest($1::text[], $2::timestamptz[]) AS g (asset_id, bucket)
    JOIN series s ON s.asset_id = g.asset_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS rows, count(x.value)::int AS count,
            min(x.value) AS min, max(x.value) AS max, avg(x.value) AS avg, sum(x.value) AS sum,
            (array_agg(x.value ORDER BY x.ts) FILTER (WHERE x.value IS NOT NULL))[1] AS first,
            (array_agg(x.value ORDER BY x.ts DESC) FILTER (WHERE x.value IS NOT NULL))[1] AS last,
            min(x.ts) FILTER (WHERE x.value IS NOT NULL) AS first_ts,
            max(x.ts) FILTER (WHERE x.value IS NOT NULL) AS last_ts,
            (array_agg(x.unit ORDER BY x.ts DESC))[1] AS unit,
            ${WORST_QUALITY('x.quality_flag')} AS quality_flag
        FROM readings x
        WHERE x.asset_id = s.asset_id AND x.metric = s.metric
            AND x.ts >= g.bucket AND x.ts < g.bucket + interval '1 minute'
    ) AS b
    WHERE b.rows > 0
    ${upsertTail('readings_1m')}
    RETURNING asset_id, metric, bucket
)
INSERT INTO rollup_pending_15m (asset_id, metric, bucket, seq)
SELECT asset_id, metric, bucket, nextval('rollup_mark_seq') FROM (
    SELECT DISTINCT asset_id, metric, date_bin('15 minutes', bucket, '2000-01-01 00:00:00+00') AS bucket FROM minutes
) AS quarters
ON CONFLICT (asset_id, metric, bucket) DO UPDATE SET seq = EXCLUDED.seq`;

// Recomputes 15-minute and hourly buckets from their 1-minute rollups, which the same transaction
// has just recomputed from the raw readings. count, min, max, sum, first and last combine exactly,
// so the result equals an aggregation of the raw readings, and avg differs only by floating-point
// rounding. An hourly bucket reads at most 60 rollup rows instead of up to 3,600 raw readings of a
// 1 Hz series.
const upsertCoarseRollups = (table: string, interval: string): string => `
INSERT INTO ${table} (asset_id, metric, bucket, ${ROLLUP_COLUMNS})
SELECT g.asset_id, g.metric, g.bucket, coalesce(b.count, 0), b.min, b.max, b.avg, b.sum, b.first, b.last,
    b.first_ts, b.last_ts, b.unit, b.quality_flag
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS g (asset_id, metric, bucket)
CROSS JOIN LATERAL (
    SELECT sum(m.count)::int AS count, min(m.min) AS min, max(m.max) AS max,
        sum(m.sum) / nullif(sum(m.count), 0) AS avg, sum(m.sum) AS sum,
        (array_agg(m.first ORDER BY m.first_ts) FILTER (WHERE m.first_ts IS NOT NULL))[1] AS first,
        (array_agg(m.last ORDER BY m.last_ts DESC) FILTER (WHERE m.last_ts IS NOT NULL))[1] AS last,
        min(m.first_ts) AS first_ts, max(m.last_ts) AS last_ts,
        (array_agg(m.unit ORDER BY m.bucket DESC))[1] AS unit,
        ${WORST_QUALITY('m.quality_flag')} AS quality_flag
    FROM readings_1m m
    WHERE m.asset_id = g.asset_id AND m.metric = g.metric
        AND m.bucket >= g.bucket AND m.bucket < g.bucket + interval '${interval}'
) AS b
${upsertTail(table)}`;

const UPSERT_COARSE_ROLLUPS = [
    { bucketMs: ROLLUPS[1].bucketMs, sql: upsertCoarseRollups('readings_15m', '15 minutes') },
    { bucketMs: ROLLUPS[2].bucketMs, sql: upsertCoarseRollups('readings_1h', '1 hour') },
];

function readingKey(assetId: string, metric: string, ms: number): string {
    return `${assetId}\u0000${metric}\u0000${ms}`;
}

/**
 * Returns the time of each reading in epoch milliseconds, the form in which times are sent to the
 * database, so that stored rows match their input by key.
 */
function readingTimes(readings: Reading[], firstIndex: number): number[] {
    return readings.map((reading, offset) => {
        const ms = parseTime(reading.ts);
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

/** Splits readings into one array literal per column, the shape unnest() takes. */
function columns(readings: Reading[], times: number[]): string[] {
    return [
        textArrayParam(readings.map((r) => r.asset_id)),
        textArrayParam(readings.map((r) => r.metric)),
        numberArrayParam(times),
        numberArrayParam(readings.map((r) => r.value ?? null)),
        textArrayParam(readings.map((r) => r.unit)),
        textArrayParam(readings.map((r) => r.quality_flag ?? null)),
    ];
}

/**
 * Series known to be in the series list: the metrics of each asset. Looked up by asset and then
 * by metric, so that checking a reading builds no key string.
 */
export class KnownSeries {
    private readonly metrics = new Map<string, Set<string>>();

    has(assetId: string, metric: string): boolean {
        return this.metrics.get(assetId)?.has(metric) ?? false;
    }

    add(assetId: string, metric: string): void {
        let metrics = this.metrics.get(assetId);
        if (!metrics) {
            metrics = new Set();
            this.metrics.set(assetId, metrics);
        }
        metrics.add(metric);
    }
}

export interface InsertReadingsOptions {
    /**
     * 'new' writes with a plain INSERT, which fails with a unique violation (SQLSTATE 23505) when
     * any reading is already stored or repeated in the batch; the caller then writes the batch
     * again with 'skip-duplicates'. Default 'skip-duplicates'.
     */
    mode?: 'new' | 'skip-duplicates';
    /** Series the list already holds; the others are added to it in the same transaction. */
    knownSeries?: KnownSeries;
}

export interface InsertReadingsResult extends ReadingsWriteResult {
    /** Series this call added to the series list, as asset and metric pairs. */
    addedSeries: [string, string][];
}

/**
 * Distinct asset and minute pairs of a chunk, as the columns INSERT_NEW_READINGS takes. Sorted, so
 * that concurrent writes of new readings lock the marks they share in the same order. The
 * readings of one asset and time usually follow each other, so a reading with the pair of the
 * one before it is skipped without a lookup.
 */
function minuteMarks(chunk: Reading[], times: number[]): [string, string] {
    const marks = new Map<string, Set<number>>();
    const list: [string, number][] = [];
    let lastAsset: string | undefined;
    let lastMinute = Number.NaN;
    chunk.forEach((reading, i) => {
        const minute = Math.floor(times[i] / 60_000) * 60_000;
        if (reading.asset_id === lastAsset && minute === lastMinute) return;
        lastAsset = reading.asset_id;
        lastMinute = minute;
        let minutes = marks.get(reading.asset_id);
        if (!minutes) {
            minutes = new Set();
            marks.set(reading.asset_id, minutes);
        }
        if (minutes.has(minute)) return;
        minutes.add(minute);
        list.push([reading.asset_id, minute]);
    });
    list.sort(([assetA, minuteA], [assetB, minuteB]) => {
        if (assetA !== assetB) return assetA < assetB ? -1 : 1;
        return minuteA - minuteB;
    });
    return [textArrayParam(list.map(([asset]) => asset)), numberArrayParam(list.map(([, minute]) => minute))];
}

/**
 * True when insertReadings writes `readings` with one statement: they fit in one chunk and all
 * their series are known. One statement is atomic on its own, so such a write needs no
 * transaction around it.
 */
export function insertsInOneStatement(readings: Reading[], known: KnownSeries): boolean {
    if (readings.length > INSERT_CHUNK_ROWS) return false;
    for (const reading of readings) {
        if (!known.has(reading.asset_id, reading.metric)) return false;
    }
    return true;
}

/**
 * Inserts readings and marks the minutes that received a new reading for refreshRollups. By
 * default it skips readings already stored with the same asset_id, metric and ts (see
 * InsertReadingsOptions for the faster mode). Call it inside a transaction, so that readings,
 * marks and series commit together, and so that a reading with an unreadable time (a
 * ValidationError) rolls back the chunks already inserted. insertsInOneStatement() returns whether
 * the transaction can be left out. The partitions of the readings' months must exist (see
 * PartitionCache).
 */
export async function insertReadings(tx: Queryable, readings: Reading[], options: InsertReadingsOptions = {}): Promise<InsertReadingsResult> {
    const mode = options.mode ?? 'skip-duplicates';
    const addedSeries = await insertSeries(tx, readings, options.knownSeries ?? new KnownSeries());
    const storedFlags = new Array<boolean>(readings.length).fill(mode === 'new');
    let inserted = 0;

    for (let start = 0; start < readings.length; start += INSERT_CHUNK_ROWS) {
        const chunk = readings.slice(start, start + INSERT_CHUNK_ROWS);
        // Prepared chunk by chunk, so that the main thread is never busy for long in one go.
        const chunkTimes = readingTimes(chunk, start);
        if (mode === 'new') {
            await tx.query(INSERT_NEW_READINGS, [...columns(chunk, chunkTimes), ...minuteMarks(chunk, chunkTimes)]);
            inserted += chunk.length;
            continue;
        }
        const { rows } = await tx.query<{ asset_id: string; metric: string; times: number[] }>(
            INSERT_READINGS,
            columns(chunk, chunkTimes),
        );

        const stored = new Set<string>();
        for (const row of rows) {
            for (const time of row.times) stored.add(readingKey(row.asset_id, row.metric, Number(time)));
        }
        inserted += stored.size;
        // A key repeated inside the chunk was stored once: flag its first occurrence only.
        chunk.forEach((reading, offset) => {
            const key = readingKey(reading.asset_id, reading.metric, chunkTimes[offset]);
            if (stored.delete(key)) storedFlags[start + offset] = true;
        });
    }
    return { inserted, duplicates: readings.length - inserted, storedFlags, addedSeries };
}

/** Adds the readings' series that `known` lacks to the series list and returns them. */
async function insertSeries(tx: Queryable, readings: Reading[], known: KnownSeries): Promise<[string, string][]> {
    const unknown = new KnownSeries();
    const pairs: [string, string][] = [];
    for (const reading of readings) {
        if (known.has(reading.asset_id, reading.metric) || unknown.has(reading.asset_id, reading.metric)) continue;
        unknown.add(reading.asset_id, reading.metric);
        pairs.push([reading.asset_id, reading.metric]);
    }
    if (pairs.length === 0) return [];
    await tx.query(INSERT_SERIES, [pairs.map(([asset]) => asset), pairs.map(([, metric]) => metric)]);
    return pairs;
}

/** Marked buckets that one refresh transaction takes at most. */
export const REFRESH_BATCH_BUCKETS = 20_000;

/** The series whose marked buckets a refresh takes; all series when left out. */
export interface RefreshScope {
    asset_id?: string;
    metric?: string;
}

/**
 * WHERE conditions that limit marks to the asset and metric of a refresh scope. Minute marks name
 * no metric, so a scoped refresh of minutes covers all metrics of the asset.
 */
function scopeConditions(scope: RefreshScope, withMetric = true): Conditions {
    const conditions = new Conditions();
    if (scope.asset_id !== undefined) conditions.add('asset_id = $', scope.asset_id);
    if (withMetric && scope.metric !== undefined) conditions.add('metric = $', scope.metric);
    return conditions;
}

/**
 * Stage of a refresh. Marked minutes of an asset are recomputed from raw readings for each of its
 * metrics and then mark their quarters. Marked quarters are recomputed from their minutes, as are
 * the hours that contain them.
 */
export type RefreshStage = 'minutes' | 'quarters';

// One refresh per stage runs at a time across all processes, so that two refreshes never
// recompute the same bucket from different sets of rows. The keys differ from the partition and
// migration keys.
const STAGE_LOCKS: Record<RefreshStage, number> = { minutes: 7517260743, quarters: 7517260744 };

type Mark = { asset_id: string; metric?: string; bucket: unknown; seq: string; expired: boolean };

/**
 * Recomputes the rollups of up to `limit` marked buckets of one stage, then removes the marks it
 * read. The recompute runs in one transaction under the stage's lock and reads the marks without
 * locking them. Marks are removed after it commits, and only where no later write has set them
 * again, so a crash in between only repeats the recompute. A bucket whose month retention has
 * dropped is unmarked without recomputing, since its raw readings and rollup partitions are gone.
 * Returns the number of buckets taken, so a caller repeats until it gets 0. Returns 0 at once when
 * `wait` is false and another refresh of the stage holds its lock. With `endedBy` (epoch ms), it
 * takes only buckets that ended by then, so a live minute is recomputed once after it ends rather
 * than after every write to it.
 */
export async function refreshRollupBatch(
    db: Db,
    stage: RefreshStage,
    scope: RefreshScope = {},
    limit = REFRESH_BATCH_BUCKETS,
    wait = true,
    endedBy?: number,
): Promise<number> {
    const minutes = stage === 'minutes';
    const marks = minutes ? 'rollup_pending_1m' : 'rollup_pending_15m';
    const taken = await db.transaction(async (tx): Promise<Mark[]> => {
        const lock = STAGE_LOCKS[stage];
        if (wait) {
            await tx.query('SELECT pg_advisory_xact_lock($1)', [lock]);
        } else {
            const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [lock]);
            if (!rows[0]?.locked) return [];
        }
        const conditions = scopeConditions(scope, !minutes);
        if (endedBy !== undefined) conditions.add('bucket <= $', new Date(endedBy - (minutes ? ROLLUPS[0] : ROLLUPS[1]).bucketMs).toISOString());
        const { rows } = await tx.query<Mark>(
            `SELECT asset_id, ${minutes ? '' : 'metric, '}bucket, seq::text AS seq,
                bucket < coalesce((SELECT dropped_before FROM retention_horizons WHERE resolution = 'raw'), '-infinity')
                    AND to_regclass('readings_' || to_char(bucket AT TIME ZONE 'UTC', 'YYYY_MM')) IS NULL AS expired
            FROM ${marks} ${conditions.where()} LIMIT ${conditions.param(limit)}`,
            conditions.params,
        );
        const live = rows.filter((row) => !row.expired);
        if (live.length === 0) return rows;
        if (minutes) {
            await tx.query(REFRESH_MINUTE_ROLLUPS, [live.map((row) => row.asset_id), live.map((row) => isoTime(row.bucket))]);
            return rows;
        }
        // In order: hourly rollups are built from the 1-minute ones, like the 15-minute ones.
        for (const rollup of UPSERT_COARSE_ROLLUPS) {
            await tx.query(rollup.sql, bucketColumns(bucketsOf(live, rollup.bucketMs)));
        }
        return rows;
    });
    if (taken.length === 0) return 0;
    const columnsOf = (rows: Mark[]): unknown[][] => [rows.map((row) => row.asset_id), rows.map((row) => isoTime(row.bucket)), rows.map((row) => row.seq)];
    if (minutes) {
        await db.query(
            `DELETE FROM rollup_pending_1m m USING unnest($1::text[], $2::timestamptz[], $3::bigint[]) AS t (asset_id, bucket, seq)
            WHERE m.asset_id = t.asset_id AND m.bucket = t.bucket AND m.seq = t.seq`,
            columnsOf(taken),
        );
    } else {
        await db.query(
            `DELETE FROM rollup_pending_15m m USING unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::text[]) AS t (asset_id, bucket, seq, metric)
            WHERE m.asset_id = t.asset_id AND m.metric = t.metric AND m.bucket = t.bucket AND m.seq = t.seq`,
            [...columnsOf(taken), taken.map((row) => row.metric)],
        );
    }
    return taken.length;
}

interface Bucket {
    assetId: string;
    metric: string;
    bucketMs: number;
}

/** Returns the distinct buckets of width `widthMs` that contain the given marked buckets. */
function bucketsOf(rows: Mark[], widthMs: number): Bucket[] {
    const groups = new Map<string, Bucket>();
    for (const row of rows) {
        const bucketMs = Math.floor(Date.parse(isoTime(row.bucket)) / widthMs) * widthMs;
        const metric = row.metric ?? '';
        groups.set(readingKey(row.asset_id, metric, bucketMs), { assetId: row.asset_id, metric, bucketMs });
    }
    return [...groups.values()];
}

function bucketColumns(list: Bucket[]): unknown[][] {
    return [list.map((g) => g.assetId), list.map((g) => g.metric), list.map((g) => new Date(g.bucketMs).toISOString())];
}

/**
 * Recomputes every marked bucket of the scope, minutes first, batch after batch; returns how many
 * minutes it took. With `endedBy` (epoch ms), only buckets that ended by then.
 */
export async function refreshRollups(db: Db, scope: RefreshScope = {}, endedBy?: number): Promise<number> {
    // Most reads find nothing marked, which one query without a lock or a transaction checks.
    const conditions = scopeConditions(scope);
    const { rows } = await db.query<{ marked: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM rollup_pending_1m ${scope.asset_id === undefined ? '' : 'WHERE asset_id = $1'})
            OR EXISTS (SELECT 1 FROM rollup_pending_15m ${conditions.where()}) AS marked`,
        conditions.params,
    );
    if (!rows[0]?.marked) return 0;

    let minutes = 0;
    for (const stage of ['minutes', 'quarters'] as const) {
        for (;;) {
            const taken = await refreshRollupBatch(db, stage, scope, REFRESH_BATCH_BUCKETS, true, endedBy);
            if (stage === 'minutes') minutes += taken;
            if (taken === 0) break;
        }
    }
    return minutes;
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
        unit: row.unit === null || row.unit === undefined ? null : String(row.unit),
        quality_flag: (row.quality_flag ?? null) as RollupRow['quality_flag'],
    };
}

function checkResolution(resolution: unknown): Resolution {
    if (!RESOLUTIONS.includes(resolution as Resolution)) {
        throw new ValidationError('invalid_resolution', `Invalid resolution "${String(resolution)}": use raw, 1m, 15m or 1h.`, {
            field: 'resolution',
            value: resolution,
        });
    }
    return resolution as Resolution;
}

/** Table of each resolution. */
export const RESOLUTION_TABLES: Record<Resolution, string> = { raw: 'readings', '1m': 'readings_1m', '15m': 'readings_15m', '1h': 'readings_1h' };

/** Returns the table, time column and selected columns of one resolution. */
function source(resolution: Resolution): { table: string; time: string; select: string } {
    if (resolution === 'raw') {
        return { table: RESOLUTION_TABLES.raw, time: 'ts', select: 'asset_id, metric, ts, value, unit, quality_flag' };
    }
    return {
        table: RESOLUTION_TABLES[resolution],
        time: 'bucket',
        select: 'asset_id, metric, bucket, count, min, max, avg, first, last, unit, quality_flag',
    };
}

/** WHERE conditions on asset, metric and the time range [from, to) of one resolution. */
function rangeConditions(query: ReadingsQuery, time: string): Conditions {
    const conditions = new Conditions();
    conditions.add('asset_id = $', query.asset_id);
    if (query.metric !== undefined) conditions.add('metric = $', query.metric);
    if (query.from !== undefined) conditions.add(`${time} >= $::timestamptz`, timeParam(query.from, 'from'));
    if (query.to !== undefined) conditions.add(`${time} < $::timestamptz`, timeParam(query.to, 'to'));
    return conditions;
}

/** Returns raw readings or rollups of one asset in time order, up to the limit. */
export async function selectReadings(db: Queryable, query: ReadingsQuery): Promise<Reading[] | RollupRow[]> {
    const limit = resolveLimit(query.limit, READINGS_LIMIT.default, READINGS_LIMIT.max);
    const resolution = checkResolution(query.resolution ?? 'raw');
    const { table, time, select } = source(resolution);
    const conditions = rangeConditions(query, time);
    const sql = `SELECT ${select} FROM ${table} ${conditions.where()} ORDER BY ${time}, metric LIMIT ${conditions.param(limit)}`;
    const { rows } = await db.query(sql, conditions.params);
    return resolution === 'raw' ? rows.map(toReading) : rows.map(toRollup);
}

/** Counts the rows of one resolution in the query's range, stopping at `cap`. */
async function countUpTo(db: Queryable, query: ReadingsQuery, resolution: Resolution, cap: number): Promise<number> {
    const { table, time } = source(resolution);
    const conditions = rangeConditions(query, time);
    const sql = `SELECT count(*) AS count FROM (SELECT 1 FROM ${table} ${conditions.where()} LIMIT ${conditions.param(cap)}) AS capped`;
    const { rows } = await db.query<{ count: unknown }>(sql, conditions.params);
    return Number(rows[0]?.count ?? 0);
}

/** Per resolution, the time before which retention has dropped its rows. */
async function retentionHorizons(db: Queryable): Promise<Partial<Record<Resolution, number>>> {
    const { rows } = await db.query<{ resolution: Resolution; dropped_before: unknown }>('SELECT resolution, dropped_before FROM retention_horizons');
    return Object.fromEntries(rows.map((row) => [row.resolution, Date.parse(isoTime(row.dropped_before))]));
}

/**
 * Returns the finest resolution whose rows in the query's range number at most `maxPoints`, or
 * hourly rollups when even those are more. Rows are counted, not estimated from the length of the
 * range, so that a sparse series (daily reports) stays raw over years, and each count reads at most
 * maxPoints + 1 rows. A resolution that retention has dropped for part of the range is skipped, so
 * an old range is read from the rollups that still cover it.
 */
export async function chooseResolution(db: Queryable, query: ReadingsQuery, maxPoints: number): Promise<Resolution> {
    const horizons = await retentionHorizons(db);
    const from = query.from === undefined ? Number.NEGATIVE_INFINITY : Date.parse(timeParam(query.from, 'from'));
    for (const resolution of RESOLUTIONS) {
        if (resolution === '1h') break;
        const horizon = horizons[resolution];
        if (horizon !== undefined && from < horizon) continue;
        if ((await countUpTo(db, query, resolution, maxPoints + 1)) <= maxPoints) return resolution;
    }
    return '1h';
}

function resolveMaxPoints(query: ReadingsPageQuery): number {
    if (query.max_points === undefined) return query.limit ?? DEFAULT_MAX_POINTS;
    if (!Number.isInteger(query.max_points) || query.max_points < 1 || query.max_points > READINGS_LIMIT.max) {
        throw new ValidationError('invalid_max_points', `Invalid max_points ${query.max_points}: use a whole number from 1 to ${READINGS_LIMIT.max}.`, {
            field: 'max_points',
            value: query.max_points,
        });
    }
    return query.max_points;
}

function rowTime(row: Reading | RollupRow): string {
    return 'bucket' in row ? row.bucket : row.ts;
}

/**
 * Returns one page of raw readings or rollups in time order. Without a resolution in the query,
 * chooses it with chooseResolution over the whole range [from, to), ignoring `after`, so that every
 * page of one range gets the same resolution. A page never splits the rows of one time across two
 * pages, so that `after` (rows later than the previous page's last time) loses none of them when
 * several metrics share a time. A page contains more than `limit` rows only when the rows of one time
 * alone exceed it.
 */
export async function selectReadingsPage(db: Queryable, query: ReadingsPageQuery): Promise<ReadingsPage> {
    const limit = resolveLimit(query.limit, READINGS_LIMIT.default, READINGS_LIMIT.max);
    const resolution = query.resolution === undefined
        ? await chooseResolution(db, query, resolveMaxPoints(query))
        : checkResolution(query.resolution);
    const { table, time, select } = source(resolution);
    const convert = (row: Record<string, unknown>): Reading | RollupRow => (resolution === 'raw' ? toReading(row) : toRollup(row));

    const conditions = rangeConditions(query, time);
    if (query.after !== undefined) conditions.add(`${time} > $::timestamptz`, timeParam(query.after, 'after'));
    const sql = `SELECT ${select} FROM ${table} ${conditions.where()} ORDER BY ${time}, metric LIMIT ${conditions.param(limit + 1)}`;
    const rows: (Reading | RollupRow)[] = (await db.query(sql, conditions.params)).rows.map(convert);
    if (rows.length <= limit) return { resolution, rows: rows as Reading[] | RollupRow[], next: null };

    // The row after the page shares its time with the page's trailing rows: hold those back.
    const cutTime = rowTime(rows[limit]);
    let page = rows.slice(0, limit);
    while (page.length > 0 && rowTime(page[page.length - 1]) === cutTime) page.pop();
    if (page.length === 0) {
        const sameTime = rangeConditions(query, time);
        sameTime.add(`${time} = $::timestamptz`, cutTime);
        const all = await db.query(`SELECT ${select} FROM ${table} ${sameTime.where()} ORDER BY metric`, sameTime.params);
        page = all.rows.map(convert);
    }
    return { resolution, rows: page as Reading[] | RollupRow[], next: rowTime(page[page.length - 1]) };
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
