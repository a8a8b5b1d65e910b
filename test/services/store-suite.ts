// The store's behaviour on one engine, shared by the embedded engine's tests (npm test) and the
// PostgreSQL services tests (npm run test:services), so that both engines pass the same checks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { ConfigError, ValidationError } from '../../lib/errors';
import { DATA_DIR } from '../../lib/paths';
import { closeAllStores, openStore, type ReadingsPage, type RollupRow, type StoreHandle } from '../../lib/store/index';
import { MIGRATIONS } from '../../lib/store/migrations';
import { monthStart } from '../../lib/store/partitions';
import type { StoreSpec } from '../../lib/store/types';
import type { AlertEvent, Asset, QualityFlag, Reading, Rejection } from '../../lib/types';
import type { StoreTarget } from './store-target';

const HOUR_MS = 3_600_000;

function reading(asset: string, ts: string, value: number | null, metric = 'pressure_wellhead', quality: QualityFlag = 'GOOD'): Reading {
    return { asset_id: asset, metric, ts, value, unit: 'psi', quality_flag: quality };
}

/** Returns the name of the raw partition of the month of `ms`, readings_YYYY_MM. */
function partitionName(ms: number): string {
    const date = new Date(ms);
    return `readings_${date.getUTCFullYear()}_${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

async function partitionNames(store: StoreHandle, parent = 'readings'): Promise<string[]> {
    const { rows } = await store.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass AND c.relkind = 'r' ORDER BY 1`,
        [parent],
    );
    return rows.map((row) => row.name);
}

/** Returns the partitions of readings and its rollup tables that the plan of `sql` scans. */
async function scannedPartitions(store: StoreHandle, sql: string): Promise<string[]> {
    const { rows } = await store.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql}`);
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    return [...new Set(plan.match(/readings_(?:1m_|15m_|1h_)?\d{4}(?:_\d{2})?\b/g) ?? [])].sort();
}

/** Aggregates the raw readings of one bucket the way a rollup row should hold them. */
async function rawAggregate(store: StoreHandle, asset: string, metric: string, bucket: string, widthMs: number): Promise<Record<string, unknown>> {
    const { rows } = await store.query(
        `SELECT count(value)::int AS count, min(value) AS min, max(value) AS max, avg(value) AS avg, sum(value) AS sum,
            (array_agg(value ORDER BY ts) FILTER (WHERE value IS NOT NULL))[1] AS first,
            (array_agg(value ORDER BY ts DESC) FILTER (WHERE value IS NOT NULL))[1] AS last
        FROM readings WHERE asset_id = $1 AND metric = $2 AND ts >= $3::timestamptz AND ts < $4::timestamptz`,
        [asset, metric, bucket, new Date(Date.parse(bucket) + widthMs).toISOString()],
    );
    return rows[0];
}

/** Runs every store test against a new database of `target`. */
export function storeSuite(target: StoreTarget): void {
    let spec: StoreSpec;
    let store: StoreHandle;

    beforeAll(async () => {
        spec = await target.createSpec();
        store = await openStore(spec);
    });

    afterAll(async () => {
        await closeAllStores();
        await target.cleanup();
    });

    describe('partitions', () => {
        it('should partition readings by range', async () => {
            const { rows } = await store.query<{ strategy: string; default_partition: unknown }>(
                `SELECT p.partstrat AS strategy, p.partdefid::int AS default_partition
                FROM pg_partitioned_table p WHERE p.partrelid = 'readings'::regclass`,
            );

            expect(rows).toHaveLength(1);
            expect(rows[0].strategy).toBe('r');
            // No default partition: a month without a partition is created before writing to it.
            expect(Number(rows[0].default_partition)).toBe(0);
        });

        it('should prepare the months around now at open', async () => {
            const names = await partitionNames(store);
            const now = Date.now();

            for (let offset = -2; offset <= 2; offset += 1) {
                expect(names).toContain(partitionName(monthStart(now, offset)));
            }
        });

        it('should prepare further months on request', async () => {
            const now = new Date();

            const created = await store.preparePartitions(now, 4);
            const again = await store.preparePartitions(now, 4);

            expect(created).toEqual([monthStart(now.getTime(), -4), monthStart(now.getTime(), -3), monthStart(now.getTime(), 3), monthStart(now.getTime(), 4)]
                .map(partitionName));
            expect(again).toEqual([]);
        });

        it('should create the partition of a historical month on write', async () => {
            const result = await store.writeReadings([reading('volve-like-well', '2008-02-10T00:00:00.000Z', 310, 'oil_volume')]);

            expect(result.inserted).toBe(1);
            expect(await partitionNames(store)).toContain('readings_2008_02');
        });

        it('should bound each partition by one UTC month', async () => {
            const { rows } = await store.query<{ from: Date; to: Date }>(
                `SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']+)''\\)')::timestamptz AS "from",
                    substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS "to"
                FROM pg_class c WHERE c.relname = 'readings_2008_02'`,
            );

            expect(rows[0].from.toISOString()).toBe('2008-02-01T00:00:00.000Z');
            expect(rows[0].to.toISOString()).toBe('2008-03-01T00:00:00.000Z');
        });

        it('should create a partition again after another process dropped it', async () => {
            await store.writeReadings([reading('dropped-month-well', '2009-05-01T00:00:00.000Z', 1)]);
            await store.query('DROP TABLE readings_2009_05');

            const result = await store.writeReadings([reading('dropped-month-well', '2009-05-02T00:00:00.000Z', 2)]);

            expect(result.inserted).toBe(1);
            expect(await store.countReadings({ asset_id: 'dropped-month-well' })).toBe(1);
        });

        it('should scan only the partitions of a time-bounded query', async () => {
            await store.writeReadings([
                reading('pruning-well', '2017-03-20T12:00:00.000Z', 1),
                reading('pruning-well', '2017-04-02T12:00:00.000Z', 2),
                reading('pruning-well', '2017-05-02T12:00:00.000Z', 3),
            ]);
            expect((await partitionNames(store)).length).toBeGreaterThan(5);

            const oneDay = await scannedPartitions(store, `SELECT ts, value FROM readings WHERE asset_id = 'pruning-well'
                AND ts >= '2017-03-20T00:00:00Z' AND ts < '2017-03-21T00:00:00Z'`);
            const twoMonths = await scannedPartitions(store, `SELECT ts, value FROM readings WHERE asset_id = 'pruning-well'
                AND ts >= '2017-03-31T00:00:00Z' AND ts < '2017-04-03T00:00:00Z'`);
            const unbounded = await scannedPartitions(store, `SELECT ts, value FROM readings WHERE asset_id = 'pruning-well'`);

            expect(oneDay).toEqual(['readings_2017_03']);
            expect(twoMonths).toEqual(['readings_2017_03', 'readings_2017_04']);
            expect(unbounded).toEqual(await partitionNames(store));
        });

        it('should prune rollup partitions too', async () => {
            const minutes = await scannedPartitions(store, `SELECT bucket, avg FROM readings_1m WHERE asset_id = 'pruning-well'
                AND bucket >= '2017-03-20T00:00:00Z' AND bucket < '2017-03-21T00:00:00Z'`);
            const hours = await scannedPartitions(store, `SELECT bucket, avg FROM readings_1h WHERE asset_id = 'pruning-well'
                AND bucket >= '2017-03-01T00:00:00Z' AND bucket < '2017-04-01T00:00:00Z'`);

            expect(minutes).toEqual(['readings_1m_2017_03']);
            expect(hours).toEqual(['readings_1h_2017']);
        });
    });

    describe('rollups of 15 minutes and 1 hour', () => {
        const asset = 'coarse-well';
        const metric = 'pressure_wellhead';

        async function rollups(resolution: '1m' | '15m' | '1h'): Promise<RollupRow[]> {
            return (await store.queryReadings({ asset_id: asset, metric, resolution })) as RollupRow[];
        }

        beforeAll(async () => {
            await store.writeReadings([
                reading(asset, '2017-03-20T14:00:30.000Z', 5),
                reading(asset, '2017-03-20T14:16:00.000Z', 2, metric, 'SUSPECT'),
                reading(asset, '2017-03-20T14:59:00.000Z', 7),
            ]);
            // Arrives later but is the first reading of the minute, the quarter and the hour.
            await store.writeReadings([reading(asset, '2017-03-20T14:00:05.000Z', 9)]);
        });

        it('should include a late reading in every resolution', async () => {
            const [minute] = await rollups('1m');
            const quarters = await rollups('15m');
            const [hour] = await rollups('1h');

            expect(minute).toMatchObject({ bucket: '2017-03-20T14:00:00.000Z', count: 2, min: 5, max: 9, first: 9, last: 5 });
            expect(quarters.map((row) => [row.bucket, row.count, row.first, row.last])).toEqual([
                ['2017-03-20T14:00:00.000Z', 2, 9, 5],
                ['2017-03-20T14:15:00.000Z', 1, 2, 2],
                ['2017-03-20T14:45:00.000Z', 1, 7, 7],
            ]);
            expect(hour).toMatchObject({ bucket: '2017-03-20T14:00:00.000Z', count: 4, min: 2, max: 9, first: 9, last: 7 });
            expect(hour.avg).toBeCloseTo(23 / 4, 10);
        });

        it('should equal an aggregation of the raw readings', async () => {
            for (const [resolution, widthMs] of [['1m', 60_000], ['15m', 900_000], ['1h', HOUR_MS]] as const) {
                for (const row of await rollups(resolution)) {
                    const raw = await rawAggregate(store, asset, metric, row.bucket, widthMs);
                    const label = `${resolution} ${row.bucket}`;

                    expect(row.count, label).toBe(raw.count);
                    expect(row.min, label).toBe(raw.min);
                    expect(row.max, label).toBe(raw.max);
                    expect(row.first, label).toBe(raw.first);
                    expect(row.last, label).toBe(raw.last);
                    expect(row.avg, label).toBeCloseTo(Number(raw.avg), 10);
                }
            }
        });

        it('should store the sum and the times of first and last', async () => {
            const { rows } = await store.query<{ sum: number; first_ts: Date; last_ts: Date }>(
                "SELECT sum, first_ts, last_ts FROM readings_1h WHERE asset_id = 'coarse-well' AND bucket = '2017-03-20T14:00:00Z'",
            );

            expect(rows[0].sum).toBe(23);
            expect(rows[0].first_ts.toISOString()).toBe('2017-03-20T14:00:05.000Z');
            expect(rows[0].last_ts.toISOString()).toBe('2017-03-20T14:59:00.000Z');
        });

        it('should leave every resolution unchanged by duplicates', async () => {
            await store.writeReadings([reading(asset, '2017-03-20T14:16:00.000Z', 100), reading(asset, '2017-03-20T14:00:05.000Z', -1)]);

            const [hour] = await rollups('1h');
            const quarters = await rollups('15m');

            expect(hour).toMatchObject({ count: 4, min: 2, max: 9, first: 9 });
            expect(quarters[1]).toMatchObject({ count: 1, max: 2 });
        });

        it('should keep the unit and the worst quality flag', async () => {
            await store.writeReadings([reading(asset, '2017-03-20T14:30:00.000Z', null, metric, 'BAD')]);

            const quarters = await rollups('15m');
            const [hour] = await rollups('1h');
            const [minute] = await rollups('1m');

            expect(minute).toMatchObject({ unit: 'psi', quality_flag: 'GOOD' });
            expect(quarters.map((row) => row.quality_flag)).toEqual(['GOOD', 'SUSPECT', 'BAD', 'GOOD']);
            // A null value adds its flag but no value.
            expect(hour).toMatchObject({ count: 4, unit: 'psi', quality_flag: 'BAD' });
        });
    });

    describe('readings written as array literals', () => {
        it('should round-trip text and numbers', async () => {
            const odd = 'well "7" \\ {a,b} NULL';
            const values = [0.1, -2.5e-7, 123_456_789.123_456_78, 1.2345678901234567e25, null];
            const written = values.map((value, index) => ({
                ...reading(index === 0 ? odd : 'literal-well', `2017-04-02T10:00:0${index}.123Z`, value),
                unit: index === 1 ? 'un"it\\' : 'psi',
            }));
            const result = await store.writeReadings(written);

            const { rows } = await store.query<{ asset_id: string; unit: string; value: number | null; ms: string }>(
                `SELECT asset_id, unit, value, (extract(epoch FROM ts) * 1000)::bigint::text AS ms FROM readings
                WHERE asset_id IN ($1, 'literal-well') ORDER BY ts`,
                [odd],
            );
            expect(result.inserted).toBe(values.length);
            expect(rows.map((row) => row.asset_id)).toEqual([odd, 'literal-well', 'literal-well', 'literal-well', 'literal-well']);
            expect(rows.map((row) => row.unit)).toEqual(['psi', 'un"it\\', 'psi', 'psi', 'psi']);
            expect(rows.map((row) => row.value)).toEqual(values);
            expect(rows.map((row) => Number(row.ms) - Date.parse('2017-04-02T10:00:00.123Z'))).toEqual([0, 1_000, 2_000, 3_000, 4_000]);
        });
    });

    describe('readings pages', () => {
        const asset = 'page-well';
        const metrics = ['m_a', 'm_b', 'm_c'];
        const start = Date.parse('2017-04-01T00:00:00.000Z');
        const at = (seconds: number): string => new Date(start + seconds * 1_000).toISOString();

        beforeAll(async () => {
            // 1,200 one-second readings (20 minutes) of three metrics.
            const readings: Reading[] = [];
            for (const metric of metrics) {
                for (let second = 0; second < 1_200; second += 1) readings.push(reading(asset, at(second), second, metric));
            }
            await store.writeReadings(readings);
        });

        async function page(query: Omit<Parameters<StoreHandle['readingsPage']>[0], 'asset_id'>): Promise<ReadingsPage> {
            return store.readingsPage({ asset_id: asset, ...query });
        }

        it('should choose the finest resolution within max_points', async () => {
            const cases: [number, string, number][] = [[2_000, 'raw', 1_200], [100, '1m', 20], [10, '15m', 2], [1, '1h', 1]];

            for (const [maxPoints, resolution, rows] of cases) {
                const result = await page({ metric: 'm_a', max_points: maxPoints });

                expect(result.resolution, `max_points ${maxPoints}`).toBe(resolution);
                expect(result.rows, `max_points ${maxPoints}`).toHaveLength(rows);
            }
        });

        it('should default max_points to 2,000', async () => {
            const result = await page({});

            // 3,600 raw readings are too many; 60 one-minute rollups fit.
            expect(result.resolution).toBe('1m');
            expect(result.rows).toHaveLength(60);
        });

        it('should take max_points from the limit when only the limit is set', async () => {
            const result = await page({ limit: 5_000 });

            expect(result.resolution).toBe('raw');
            expect(result.rows).toHaveLength(3_600);
            expect(result.next).toBeNull();
        });

        it('should choose the resolution for the requested range', async () => {
            const result = await page({ metric: 'm_a', from: at(600), to: at(1_200), max_points: 600 });

            expect(result.resolution).toBe('raw');
            expect((result.rows as Reading[])[0].ts).toBe(at(600));
            expect(result.rows).toHaveLength(600);
        });

        it('should use a resolution given in the query', async () => {
            const result = await page({ metric: 'm_a', resolution: '15m', max_points: 1 });

            expect(result.resolution).toBe('15m');
            expect(result.rows).toHaveLength(2);
            expect(result.rows[0]).toMatchObject({ bucket: at(0), count: 900, unit: 'psi', quality_flag: 'GOOD' });
        });

        it('should keep the resolution of the whole range on later pages', async () => {
            const result = await page({ metric: 'm_a', max_points: 100, after: at(17 * 60) });

            expect(result.resolution).toBe('1m');
            expect((result.rows as RollupRow[]).map((row) => row.bucket)).toEqual([at(18 * 60), at(19 * 60)]);
        });

        it('should page through raw readings with the next cursor', async () => {
            const seen = new Set<string>();
            let after: string | undefined;
            let pages = 0;
            do {
                const result = await page({ resolution: 'raw', limit: 1_000, after });
                pages += 1;

                expect(result.rows.length).toBeLessThanOrEqual(1_000);
                // Every time keeps its three metrics on one page.
                expect(result.rows.length % metrics.length).toBe(0);
                for (const row of result.rows as Reading[]) seen.add(`${row.ts} ${row.metric}`);
                if (result.next !== null) expect(result.next).toBe((result.rows as Reading[]).at(-1)?.ts);
                after = result.next ?? undefined;
            } while (after !== undefined && pages < 10);

            expect(pages).toBe(4);
            expect(seen.size).toBe(3_600);
        });

        it('should return the whole time when its rows exceed the limit', async () => {
            const result = await page({ resolution: 'raw', limit: 2 });

            expect((result.rows as Reading[]).map((row) => [row.ts, row.metric])).toEqual(metrics.map((metric) => [at(0), metric]));
            expect(result.next).toBe(at(0));
        });

        it('should page through rollups', async () => {
            const first = await page({ metric: 'm_a', resolution: '1m', limit: 7 });
            const second = await page({ metric: 'm_a', resolution: '1m', limit: 7, after: first.next ?? undefined });
            const third = await page({ metric: 'm_a', resolution: '1m', limit: 7, after: second.next ?? undefined });

            expect([first.rows.length, second.rows.length, third.rows.length]).toEqual([7, 7, 6]);
            expect(first.next).toBe(at(6 * 60));
            expect(third.next).toBeNull();
        });

        it('should reject an unknown resolution and a bad max_points', async () => {
            await expect(page({ resolution: 'weekly' as '1h' })).rejects.toBeInstanceOf(ValidationError);
            await expect(page({ max_points: 0 })).rejects.toThrow(/max_points 0/);
        });
    });

    describe('retention', () => {
        let retentionStore: StoreHandle;
        const now = new Date();
        const recent = new Date(now.getTime() - 86_400_000).toISOString();
        const oldHours = ['2007-06-15T10:00:00.000Z', '2007-06-15T10:20:00.000Z', '2016-09-01T06:00:00.000Z', '2016-09-01T06:30:00.000Z'];

        beforeAll(async () => {
            retentionStore = await openStore(await target.createSpec());
            await retentionStore.writeReadings([
                ...oldHours.map((ts, index) => reading('old-well', ts, index + 1)),
                reading('recent-well', recent, 42),
            ]);
            await retentionStore.refreshRollups();
        });

        afterAll(async () => {
            await retentionStore.close();
        });

        async function count(sql: string, params: unknown[] = []): Promise<number> {
            const { rows } = await retentionStore.query<{ count: unknown }>(sql, params);
            return Number(rows[0].count);
        }

        it('should not run by itself', async () => {
            expect(await retentionStore.countReadings({ asset_id: 'old-well' })).toBe(4);
        });

        it('should drop whole partitions older than each retention', async () => {
            const before = await partitionNames(retentionStore);
            const minuteBefore = await partitionNames(retentionStore, 'readings_1m');
            const hourlyBefore = await count("SELECT count(*) AS count FROM readings_1h WHERE asset_id = 'old-well'");

            const result = await retentionStore.applyRetention(now);

            // Raw readings are kept 90 days and 1-minute rollups 2 years: both lose 2007-06 and 2016-09.
            expect(result.droppedPartitions.map((partition) => [partition.resolution, partition.name])).toEqual([
                ['raw', 'readings_2007_06'], ['raw', 'readings_2016_09'], ['1m', 'readings_1m_2007_06'], ['1m', 'readings_1m_2016_09'],
            ]);
            expect(result.droppedPartitions[1]).toEqual({
                resolution: 'raw', name: 'readings_2016_09', from: '2016-09-01T00:00:00.000Z', to: '2016-10-01T00:00:00.000Z',
            });
            expect(result.rawHorizon).toBe('2016-10-01T00:00:00.000Z');
            expect(result.horizons).toEqual({ raw: '2016-10-01T00:00:00.000Z', '1m': '2016-10-01T00:00:00.000Z', '15m': null, '1h': null });
            expect(await retentionStore.countReadings({ asset_id: 'old-well' })).toBe(0);
            expect(await retentionStore.countReadings({ asset_id: 'recent-well' })).toBe(1);
            expect(await partitionNames(retentionStore)).toEqual(before.filter((name) => !['readings_2007_06', 'readings_2016_09'].includes(name)));
            expect(await partitionNames(retentionStore, 'readings_1m'))
                .toEqual(minuteBefore.filter((name) => !['readings_1m_2007_06', 'readings_1m_2016_09'].includes(name)));
            expect(await count("SELECT count(*) AS count FROM readings_1m WHERE asset_id = 'old-well'")).toBe(0);
            expect(await count("SELECT count(*) AS count FROM readings_1m WHERE asset_id = 'recent-well'")).toBe(1);
            // 15-minute and hourly rollups are kept forever.
            expect(await count("SELECT count(*) AS count FROM readings_1h WHERE asset_id = 'old-well'")).toBe(hourlyBefore);
            expect(hourlyBefore).toBe(2);
        });

        it('should drop yearly partitions of coarse rollups under a finite retention', async () => {
            const policy = { raw: 90, '1m': 730, '15m': 3_650, '1h': 3_650 };

            const result = await retentionStore.applyRetention(now, policy);

            // Only 2007 has wholly passed ten years before now; 2016's partitions stay.
            expect(result.droppedPartitions.map((partition) => partition.name)).toEqual(['readings_15m_2007', 'readings_1h_2007']);
            expect(await count("SELECT count(*) AS count FROM readings_1h WHERE asset_id = 'old-well'")).toBe(1);
            expect(await partitionNames(retentionStore, 'readings_1h')).toContain('readings_1h_2016');
        });

        it('should leave buckets still open to the background refresh', async () => {
            await retentionStore.writeReadings([reading('live-well', now.toISOString(), 7)]);
            const marked = "SELECT count(*) AS count FROM rollup_pending_1m WHERE asset_id = 'live-well'";
            expect(await count(marked)).toBe(1);

            await retentionStore.applyRetention(now);

            expect(await count(marked)).toBe(1);
            expect(await count("SELECT count(*) AS count FROM readings_1m WHERE asset_id = 'live-well'")).toBe(0);
        });

        it('should drop nothing more when applied again', async () => {
            const result = await retentionStore.applyRetention(now);

            expect(result.droppedPartitions).toEqual([]);
            expect(result.rawHorizon).toBe('2016-10-01T00:00:00.000Z');
        });

        it('should keep the rollups of a dropped month when a late reading arrives', async () => {
            const write = await retentionStore.writeReadings([reading('old-well', '2016-09-01T06:45:00.000Z', 1_000)]);
            await retentionStore.refreshRollups();
            const { rows } = await retentionStore.query<{ count: number; max: number }>(
                "SELECT count, max FROM readings_1h WHERE asset_id = 'old-well' AND bucket = '2016-09-01T06:00:00Z'",
            );

            expect(write.inserted).toBe(1);
            expect(rows).toEqual([{ count: 2, max: 4 }]);
        });

        it('should answer a range before the raw horizon from the rollups', async () => {
            const page = await retentionStore.readingsPage({
                asset_id: 'old-well', metric: 'pressure_wellhead', from: '2016-09-01T00:00:00.000Z', to: '2016-09-02T00:00:00.000Z',
            });

            // Raw readings and 1-minute rollups of 2016-09 are gone; the 15-minute rollups remain.
            expect(page.resolution).toBe('15m');
            expect(page.rows.length).toBeGreaterThan(0);
        });

        it('should reject a policy that keeps raw readings longer than rollups', async () => {
            const policy = { raw: 1_000, '1m': 730, '15m': null, '1h': null };

            await expect(retentionStore.applyRetention(now, policy)).rejects.toBeInstanceOf(ConfigError);
        });

        it('should keep everything under a policy without limits', async () => {
            const result = await retentionStore.applyRetention(now, { raw: null, '1m': null, '15m': null, '1h': null });

            expect(result.droppedPartitions).toEqual([]);
            expect(await retentionStore.countReadings({ asset_id: 'old-well' })).toBe(1);
        });
    });

    describe('migrations at open', () => {
        it('should create the schema on an empty database', async () => {
            const { rows } = await store.query<{ table_name: string }>(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
            );
            const tables = rows.map((row) => row.table_name);

            for (const table of ['assets', 'audit_log', 'devices', 'events', 'licenses', 'operators', 'quarantine', 'readings',
                'readings_15m', 'readings_1h', 'readings_1m', 'retention_horizons', 'roles', 'royalty_ledger', 'schema_migrations',
                'user_roles', 'users', 'work_orders']) {
                expect(tables).toContain(table);
            }
        });

        it('should record the applied versions', async () => {
            const { rows } = await store.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');

            expect(rows).toEqual(MIGRATIONS.map((migration) => ({ version: migration.version, name: migration.name })));
        });
    });

    describe('writeReadings', () => {
        it('should store a redelivered batch once', async () => {
            const batch = [0, 1, 2, 3, 4].map((i) => reading('redelivery-well', `2017-03-20T14:0${i}:00.000Z`, 100 + i));

            const first = await store.writeReadings(batch);
            const second = await store.writeReadings(batch);

            expect(first).toMatchObject({ inserted: 5, duplicates: 0 });
            expect(second).toMatchObject({ inserted: 0, duplicates: 5 });
            expect(await store.countReadings({ asset_id: 'redelivery-well' })).toBe(5);
        });

        it('should flag which readings were new', async () => {
            await store.writeReadings([reading('flags-well', '2017-03-20T14:00:00.000Z', 1)]);

            const result = await store.writeReadings([
                reading('flags-well', '2017-03-20T14:00:00.000Z', 1),
                reading('flags-well', '2017-03-20T14:00:01.000Z', 2),
                reading('flags-well', '2017-03-20T14:00:01.000Z', 2),
            ]);

            expect(result.storedFlags).toEqual([false, true, false]);
            expect(result.inserted).toBe(1);
            expect(result.duplicates).toBe(2);
        });

        it('should store new readings in the batches after a redelivery', async () => {
            const asset = 'after-redelivery-well';
            await store.writeReadings([reading(asset, '2017-03-21T00:00:00.000Z', 0)]);
            await store.writeReadings([reading(asset, '2017-03-21T00:00:00.000Z', 0)]);

            // Enough batches to pass from writes that skip duplicates back to plain inserts.
            const results = [];
            for (let i = 1; i <= 30; i++) {
                results.push(await store.writeReadings([reading(asset, `2017-03-21T00:${String(i).padStart(2, '0')}:00.000Z`, i)]));
            }
            const repeated = await store.writeReadings([reading(asset, '2017-03-21T00:30:00.000Z', 30), reading(asset, '2017-03-21T00:31:00.000Z', 31)]);

            expect(results.every((result) => result.inserted === 1 && result.storedFlags[0] === true)).toBe(true);
            expect(repeated).toMatchObject({ inserted: 1, duplicates: 1, storedFlags: [false, true] });
            expect(await store.countReadings({ asset_id: asset })).toBe(32);
        });

        it('should match a time written with an offset to the same instant in UTC', async () => {
            await store.writeReadings([reading('offset-well', '2017-03-20T14:00:00.000Z', 1)]);

            const result = await store.writeReadings([reading('offset-well', '2017-03-20T16:00:00+02:00', 1)]);

            expect(result.duplicates).toBe(1);
        });

        it('should reject a reading with an unreadable time', async () => {
            const write = store.writeReadings([reading('bad-time-well', 'yesterday', 1)]);

            await expect(write).rejects.toBeInstanceOf(ValidationError);
            expect(await store.countReadings({ asset_id: 'bad-time-well' })).toBe(0);
        });

        it('should store nothing of a rejected batch', async () => {
            const asset = 'refused-batch-well';
            await store.writeReadings([reading(asset, '2017-03-20T14:00:00.000Z', 1)]);
            // The series is known now, so the next batch goes out as one statement without a transaction.
            const batch = [reading(asset, '2017-03-20T14:00:01.000Z', 2), { ...reading(asset, '2017-03-20T14:00:02.000Z', 3), quality_flag: 'UNKNOWN' as QualityFlag }];

            await expect(store.writeReadings(batch)).rejects.toThrow(/quality_flag/);
            expect(await store.countReadings({ asset_id: asset })).toBe(1);
        });

        it('should store null values', async () => {
            await store.writeReadings([reading('null-well', '2017-03-20T14:00:00.000Z', null)]);

            const rows = await store.queryReadings({ asset_id: 'null-well' });

            expect(rows).toEqual([{ asset_id: 'null-well', metric: 'pressure_wellhead', ts: '2017-03-20T14:00:00.000Z', value: null, unit: 'psi', quality_flag: 'GOOD' }]);
        });
    });

    describe('1-minute rollups', () => {
        it('should include a late out-of-order reading', async () => {
            const asset = 'rollup-well';
            await store.writeReadings([
                reading(asset, '2017-03-20T14:00:10.000Z', 5),
                reading(asset, '2017-03-20T14:00:40.000Z', 2),
                reading(asset, '2017-03-20T14:00:50.000Z', null),
                reading(asset, '2017-03-20T14:01:30.000Z', 7),
            ]);
            // Arrives later but belongs before every other reading of the first minute.
            await store.writeReadings([reading(asset, '2017-03-20T14:00:05.000Z', 9)]);

            const rows = (await store.queryReadings({ asset_id: asset, resolution: '1m' })) as RollupRow[];

            expect(rows).toHaveLength(2);
            // Minute 14:00 contains 9 (at :05), 5 (:10), 2 (:40) and null (:50), and null is left out.
            expect(rows[0]).toMatchObject({ bucket: '2017-03-20T14:00:00.000Z', count: 3, min: 2, max: 9, first: 9, last: 2 });
            expect(rows[0].avg).toBeCloseTo(16 / 3, 10);
            expect(rows[1]).toMatchObject({ bucket: '2017-03-20T14:01:00.000Z', count: 1, min: 7, max: 7, avg: 7, first: 7, last: 7 });
        });

        it('should store sum and the times of first and last', async () => {
            const { rows } = await store.query<{ sum: number; first_ts: Date; last_ts: Date }>(
                "SELECT sum, first_ts, last_ts FROM readings_1m WHERE asset_id = 'rollup-well' AND bucket = '2017-03-20T14:00:00Z'",
            );

            expect(rows[0].sum).toBe(16);
            expect(rows[0].first_ts.toISOString()).toBe('2017-03-20T14:00:05.000Z');
            expect(rows[0].last_ts.toISOString()).toBe('2017-03-20T14:00:40.000Z');
        });

        it('should keep a minute of null values with count 0', async () => {
            await store.writeReadings([reading('all-null-well', '2017-03-20T14:00:00.000Z', null)]);

            const rows = await store.queryReadings({ asset_id: 'all-null-well', resolution: '1m' });

            expect(rows).toEqual([{
                asset_id: 'all-null-well', metric: 'pressure_wellhead', bucket: '2017-03-20T14:00:00.000Z',
                count: 0, min: null, max: null, avg: null, first: null, last: null, unit: 'psi', quality_flag: 'GOOD',
            }]);
        });

        it('should leave rollups unchanged by duplicates', async () => {
            const asset = 'duplicate-rollup-well';
            await store.writeReadings([reading(asset, '2017-03-20T14:00:00.000Z', 1)]);

            await store.writeReadings([reading(asset, '2017-03-20T14:00:00.000Z', 50)]);
            const rows = (await store.queryReadings({ asset_id: asset, resolution: '1m' })) as RollupRow[];

            expect(rows[0]).toMatchObject({ count: 1, max: 1 });
        });
    });

    describe('deferred rollup refresh', () => {
        async function pendingMarks(asset: string): Promise<number> {
            const { rows } = await store.query<{ count: unknown }>('SELECT count(*) AS count FROM rollup_pending_1m WHERE asset_id = $1', [asset]);
            return Number(rows[0].count);
        }

        async function minuteRows(asset: string): Promise<number> {
            const { rows } = await store.query<{ count: unknown }>('SELECT count(*) AS count FROM readings_1m WHERE asset_id = $1', [asset]);
            return Number(rows[0].count);
        }

        it('should mark each written minute once', async () => {
            await store.writeReadings([
                reading('marked-well', '2017-05-01T10:00:05.000Z', 1),
                reading('marked-well', '2017-05-01T10:00:35.000Z', 2),
                reading('marked-well', '2017-05-01T10:01:05.000Z', 3),
            ]);
            const marks = await pendingMarks('marked-well');
            await store.refreshRollups();

            // The background refresh may already have taken some marks; it never adds any.
            expect(marks).toBeLessThanOrEqual(2);
            expect(await pendingMarks('marked-well')).toBe(0);
            expect(await minuteRows('marked-well')).toBe(2);
        });

        it('should mark a minute of an asset once for all of its metrics', async () => {
            const metrics = ['pressure_wellhead', 'temp_tpt', 'pressure_tpt'];
            await store.writeReadings(metrics.map((metric) => reading('many-metrics-well', '2017-05-01T10:00:05.000Z', 1, metric)));
            const marks = await pendingMarks('many-metrics-well');
            await store.refreshRollups();

            expect(marks).toBeLessThanOrEqual(1);
            expect(await minuteRows('many-metrics-well')).toBe(3);
        });

        it('should give a metric no minute row for a minute without its readings', async () => {
            await store.writeReadings([
                reading('sparse-well', '2017-05-01T10:00:05.000Z', 1, 'pressure_wellhead'),
                reading('sparse-well', '2017-05-01T10:00:05.000Z', 7, 'temp_tpt'),
                reading('sparse-well', '2017-05-01T10:01:05.000Z', 8, 'temp_tpt'),
            ]);

            const rows = (await store.queryReadings({ asset_id: 'sparse-well', resolution: '1m' })) as RollupRow[];

            expect(rows.map((row) => `${row.metric} ${row.bucket}`).sort()).toEqual([
                'pressure_wellhead 2017-05-01T10:00:00.000Z',
                'temp_tpt 2017-05-01T10:00:00.000Z',
                'temp_tpt 2017-05-01T10:01:00.000Z',
            ]);
        });

        it('should refresh in the background without a read', async () => {
            await store.writeReadings([reading('background-well', '2017-05-01T10:00:05.000Z', 1)]);

            await vi.waitFor(async () => {
                expect(await minuteRows('background-well')).toBe(1);
            }, { timeout: 10_000, interval: 100 });
            expect(await pendingMarks('background-well')).toBe(0);
        });

        it('should leave a minute that has not ended to later refreshes', async () => {
            // A minute that ends in two minutes at the earliest, so that no background refresh may take it.
            const minute = Math.floor(Date.now() / 60_000) * 60_000 + 120_000;
            await store.writeReadings([reading('open-minute-well', new Date(minute + 5_000).toISOString(), 1)]);
            await new Promise((resolve) => setTimeout(resolve, 2_500));

            expect(await minuteRows('open-minute-well')).toBe(0);
            expect(await pendingMarks('open-minute-well')).toBe(1);
            await store.refreshRollups();
            expect(await minuteRows('open-minute-well')).toBe(1);
        });

        it('should bring an asset up to date before a rollup query', async () => {
            const writes = Array.from({ length: 30 }, (_, second) => reading('read-well', `2017-05-01T11:00:${String(second * 2).padStart(2, '0')}.000Z`, second));
            await store.writeReadings(writes);

            const rows = (await store.queryReadings({ asset_id: 'read-well', metric: 'pressure_wellhead', resolution: '1m' })) as RollupRow[];

            expect(rows).toHaveLength(1);
            expect(rows[0].count).toBe(30);
            expect(rows[0].last).toBe(29);
        });
    });

    describe('reading queries', () => {
        const asset = 'query-well';

        beforeAll(async () => {
            await store.writeReadings([
                reading(asset, '2017-03-20T14:00:02.000Z', 3, 'oil_rate'),
                reading(asset, '2017-03-20T14:00:00.000Z', 1),
                reading(asset, '2017-03-20T14:00:01.000Z', 2),
                reading(asset, '2017-03-20T14:00:03.000Z', 4),
            ]);
        });

        it('should return raw readings in time order', async () => {
            const rows = (await store.queryReadings({ asset_id: asset })) as Reading[];

            expect(rows.map((row) => row.value)).toEqual([1, 2, 3, 4]);
        });

        it('should filter by metric and time range', async () => {
            const rows = (await store.queryReadings({
                asset_id: asset,
                metric: 'pressure_wellhead',
                from: '2017-03-20T14:00:01.000Z',
                to: '2017-03-20T14:00:03.000Z',
            })) as Reading[];

            expect(rows.map((row) => row.ts)).toEqual(['2017-03-20T14:00:01.000Z']);
        });

        it('should apply the limit', async () => {
            const rows = await store.queryReadings({ asset_id: asset, limit: 2 });

            expect(rows).toHaveLength(2);
        });

        it('should reject a limit above the maximum', async () => {
            await expect(store.queryReadings({ asset_id: asset, limit: 100_001 })).rejects.toThrow(/from 1 to 100000/);
        });

        it('should return the latest reading per metric', async () => {
            const rows = await store.latestReadings({ asset_ids: [asset] });

            expect(rows.map((row) => [row.metric, row.value])).toEqual([['oil_rate', 3], ['pressure_wellhead', 4]]);
        });

        it('should count readings by asset and metric', async () => {
            expect(await store.countReadings({ asset_id: asset })).toBe(4);
            expect(await store.countReadings({ asset_id: asset, metric: 'oil_rate' })).toBe(1);
        });
    });

    describe('quarantine', () => {
        function rejection(ref: string | undefined, field?: string): Rejection {
            return {
                source: 'report:volve.csv',
                code: 'implausible_value',
                reason: 'Value out of the plausible range; check the unit of the column.',
                field,
                value: -5,
                ref,
                payload: { row: ref, oil: -5 },
                received_at: '2017-03-21T06:00:00.000Z',
            };
        }

        it('should keep a rejection once when imported twice', async () => {
            const rows = [rejection('row 12', 'oil'), rejection('row 12', 'gas'), rejection('row 13', 'oil')];

            const first = await store.writeQuarantine(rows);
            const second = await store.writeQuarantine(rows);

            expect(first).toBe(3);
            expect(second).toBe(0);
            expect(await store.listQuarantine({ source: 'report:volve.csv' })).toHaveLength(3);
        });

        it('should append rejections without a ref every time', async () => {
            const row = { ...rejection(undefined), source: 'api:ingest' };

            await store.writeQuarantine([row]);
            await store.writeQuarantine([row]);

            expect(await store.listQuarantine({ source: 'api:ingest' })).toHaveLength(2);
        });

        it('should return stored fields', async () => {
            const [row] = await store.listQuarantine({ source: 'report:volve.csv', limit: 1 });

            expect(row).toMatchObject({ code: 'implausible_value', field: 'oil', value: -5, ref: 'row 13', payload: { row: 'row 13', oil: -5 } });
            expect(row.received_at).toBe('2017-03-21T06:00:00.000Z');
            expect(typeof row.id).toBe('number');
        });

        it('should store text that PostgreSQL cannot hold as is', async () => {
            await store.writeQuarantine([{ ...rejection('row 99'), source: 'mqtt:binary', payload: 'a\u0000b\ud800' }]);

            const [row] = await store.listQuarantine({ source: 'mqtt:binary' });

            expect(row.payload).toBe('a\uFFFDb\uFFFD');
        });
    });

    describe('alert events', () => {
        const event: AlertEvent = {
            event_id: '4f1f5a8e-8a0c-4c53-9b43-3f7f4a1d2c11',
            rule_id: 'wellhead-pressure-high',
            asset_id: 'event-well',
            metric: 'pressure_wellhead',
            severity: 'P1',
            state: 'open',
            message: 'Wellhead pressure above 5000 psi for 60 s',
            runbook: 'https://runbooks.example/wellhead-pressure',
            opened_at: '2017-03-20T14:00:00.000Z',
            evidence: { value: 5230, threshold: 5000 },
        };

        it('should store an event once', async () => {
            expect(await store.insertEvent(event)).toBe(true);
            expect(await store.insertEvent({ ...event, message: "changed" })).toBe(false);

            const events = await store.listEvents({ asset_ids: ['event-well'] });

            expect(events).toHaveLength(1);
            expect(events[0]).toEqual({ ...event, acknowledged_at: null, acknowledged_by: null, resolved_at: null, resolved_by: null });
        });

        it('should record who acknowledged', async () => {
            const updated = await store.updateEventState(event.event_id, 'acknowledged', 'alice', '2017-03-20T14:05:00.000Z');

            expect(updated).toMatchObject({ state: 'acknowledged', acknowledged_by: 'alice', acknowledged_at: '2017-03-20T14:05:00.000Z' });
        });

        it('should keep the first acknowledgement', async () => {
            const updated = await store.updateEventState(event.event_id, 'acknowledged', 'bob');

            expect(updated).toMatchObject({ state: 'acknowledged', acknowledged_by: 'alice' });
        });

        it('should record who resolved', async () => {
            const updated = await store.updateEventState(event.event_id, 'resolved', 'bob', '2017-03-20T15:00:00.000Z');

            expect(updated).toMatchObject({ state: 'resolved', resolved_by: 'bob', resolved_at: '2017-03-20T15:00:00.000Z', acknowledged_by: 'alice' });
        });

        it('should not acknowledge a resolved event', async () => {
            const updated = await store.updateEventState(event.event_id, 'acknowledged', 'carol');

            expect(updated).toMatchObject({ state: 'resolved', acknowledged_by: 'alice' });
        });

        it('should record each change of state in the audit log', async () => {
            const entries = (await store.listAudit(1_000)).filter((entry) => entry.subject === event.event_id).reverse();

            // Opened by the rule, acknowledged by alice, resolved by bob; the repeated acknowledgements changed nothing.
            expect(entries.map((entry) => [entry.action, entry.actor])).toEqual([
                ['alert.open', 'rule'], ['alert.acknowledge', 'alice'], ['alert.resolve', 'bob'],
            ]);
            expect(entries[1].details).toMatchObject({ rule_id: 'wellhead-pressure-high', asset_id: 'event-well', at: '2017-03-20T14:05:00.000Z' });
            expect(await store.verifyAudit()).toBeUndefined();
        });

        it('should return undefined for an unknown event', async () => {
            expect(await store.updateEventState('00000000-0000-4000-8000-000000000000', 'resolved', 'bob')).toBeUndefined();
        });

        it('should filter events', async () => {
            await store.insertEvent({ ...event, event_id: '9a0e3f62-1d7b-4f0e-8b55-2c8d9e4f6a01', severity: 'P3', opened_at: '2017-03-22T00:00:00.000Z' });

            const open = await store.listEvents({ asset_ids: ['event-well'], state: 'open' });
            const p1 = await store.listEvents({ asset_ids: ['event-well'], severity: 'P1' });
            const recent = await store.listEvents({ asset_ids: ['event-well'], since: '2017-03-21T00:00:00.000Z' });

            expect(open.map((e) => e.severity)).toEqual(['P3']);
            expect(p1.map((e) => e.state)).toEqual(['resolved']);
            expect(recent.map((e) => e.event_id)).toEqual(['9a0e3f62-1d7b-4f0e-8b55-2c8d9e4f6a01']);
        });
    });

    describe('assets', () => {
        const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };

        it('should store the demo asset registry', async () => {
            await store.upsertAssets(registry.assets);

            const assets = await store.listAssets();

            expect(assets).toHaveLength(registry.assets.length);
            expect(assets.find((a) => a.asset_id === registry.assets[0].asset_id)).toEqual({
                ...registry.assets[0],
                position_illustrative: registry.assets[0].position_illustrative ?? false,
                attributes: registry.assets[0].attributes ?? {},
            });
        });

        it('should replace an asset with the same id', async () => {
            await store.upsertAssets([{ ...registry.assets[0], name: 'Renamed well' }]);

            const assets = await store.listAssets();

            expect(assets).toHaveLength(registry.assets.length);
            expect(assets.find((a) => a.asset_id === registry.assets[0].asset_id)?.name).toBe('Renamed well');
        });

        it('should filter assets by operator', async () => {
            const equinor = await store.listAssets({ operator: 'equinor' });

            expect(equinor.length).toBe(registry.assets.filter((a) => a.operator === 'equinor').length);
            expect(equinor.every((a) => a.operator === 'equinor')).toBe(true);
        });
    });

    describe('shared instances', () => {
        it('should share one database between openers of one spec', async () => {
            const other = await openStore(target.alias(spec));
            await other.writeReadings([reading('shared-well', '2017-03-20T14:00:00.000Z', 1)]);

            await other.close();

            expect(await store.countReadings({ asset_id: 'shared-well' })).toBe(1);
        });

        it('should reject calls on a closed handle', async () => {
            const other = await openStore(spec);
            await other.close();

            await expect(other.countReadings()).rejects.toThrow(/handle is closed/);
        });

        it('should keep the data when the database is opened again', async () => {
            const before = await store.countReadings();
            await store.close();

            store = await openStore(spec);

            expect(before).toBeGreaterThan(0);
            expect(await store.countReadings()).toBe(before);
        });
    });
}
