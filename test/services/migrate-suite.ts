// Schema migrations on one engine, shared by the embedded engine's tests (npm test) and the
// PostgreSQL services tests (npm run test:services).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../../lib/errors';
import type { Db } from '../../lib/store/db';
import { closeAllStores, openStore } from '../../lib/store/index';
import { migrate } from '../../lib/store/migrate';
import { MIGRATIONS, type Migration } from '../../lib/store/migrations';
import { refreshRollupBatch } from '../../lib/store/readings';
import { openDb } from '../../lib/store/sql-store';
import type { StoreSpec } from '../../lib/store/types';
import type { StoreTarget } from './store-target';

const LATEST = MIGRATIONS.length;
const addIndex: Migration = { version: LATEST + 1, name: 'index readings by time', sql: 'CREATE INDEX readings_ts_idx ON readings (ts)' };

async function count(db: Db, sql: string): Promise<number> {
    const { rows } = await db.query<{ count: unknown }>(sql);
    return Number(rows[0].count);
}

/** Runs the migration tests against new databases of `target`. */
export function migrateSuite(target: StoreTarget): void {
    afterAll(async () => {
        await closeAllStores();
        await target.cleanup();
    });

    describe('migrate', () => {
        let spec: StoreSpec;
        let db: Db | undefined;

        function database(): Db {
            if (!db) throw new Error('database not open');
            return db;
        }

        beforeAll(async () => {
            spec = await target.createSpec();
            db = await openDb(spec);
        });

        afterAll(async () => {
            await db?.close();
        });

        it('should apply every migration to an empty database', async () => {
            const result = await migrate(database());

            expect(result).toEqual({ applied: MIGRATIONS.map((migration) => migration.version), version: LATEST });
        });

        it('should do nothing when run again', async () => {
            const result = await migrate(database());

            expect(result).toEqual({ applied: [], version: LATEST });
        });

        it('should apply only a migration added later', async () => {
            const result = await migrate(database(), [...MIGRATIONS, addIndex]);
            const { rows } = await database().query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');

            expect(result).toEqual({ applied: [LATEST + 1], version: LATEST + 1 });
            expect(rows.map((row) => row.version)).toEqual([...MIGRATIONS, addIndex].map((migration) => migration.version));
        });

        it('should roll back a migration that fails', async () => {
            const broken: Migration = { version: LATEST + 2, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT * FROM missing_table' };

            await expect(migrate(database(), [...MIGRATIONS, addIndex, broken])).rejects.toThrow(/missing_table/);
            const tables = await database().query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
            const versions = await database().query('SELECT version FROM schema_migrations WHERE version = $1', [LATEST + 2]);

            expect(tables.rows).toHaveLength(0);
            expect(versions.rows).toHaveLength(0);
        });

        it('should reject a database newer than the code', async () => {
            const attempt = migrate(database());

            await expect(attempt).rejects.toBeInstanceOf(ConfigError);
            await expect(attempt).rejects.toThrow(
                new RegExp(`schema version ${LATEST + 1}, but this version of Upstream Live knows schema versions up to ${LATEST}\\. Upgrade`),
            );
        });

        it('should reject migrations out of order', async () => {
            await expect(migrate(database(), [addIndex])).rejects.toThrow(new RegExp(`has version ${LATEST + 1}; expected 1`));
        });

        it('should reject opening a store on a newer database', async () => {
            // The embedded engine must not have two engines on one data folder.
            await database().close();
            db = undefined;

            await expect(openStore(spec)).rejects.toThrow(new RegExp(`knows schema versions up to ${LATEST}`));
        });
    });

    describe('partitioning migration', () => {
        let db: Db | undefined;

        function database(): Db {
            if (!db) throw new Error('database not open');
            return db;
        }

        beforeAll(async () => {
            db = await openDb(await target.createSpec());
            // A database of the first schema version with readings of two months and their rollups.
            await migrate(db, MIGRATIONS.slice(0, 1));
            await db.exec(`
                INSERT INTO readings (asset_id, metric, ts, value, unit, quality_flag) VALUES
                    ('old-well', 'pressure_wellhead', '2016-08-31T23:59:30Z', 10, 'psi', 'GOOD'),
                    ('old-well', 'pressure_wellhead', '2016-09-01T00:00:10Z', 20, 'psi', 'SUSPECT'),
                    ('old-well', 'pressure_wellhead', '2016-09-01T00:00:50Z', NULL, 'psi', 'BAD'),
                    ('old-well', 'pressure_wellhead', '2016-09-01T00:20:00Z', 40, 'psi', 'GOOD');
                INSERT INTO readings_1m (asset_id, metric, bucket, count, min, max, avg, sum, first, last, first_ts, last_ts) VALUES
                    ('old-well', 'pressure_wellhead', '2016-08-31T23:59:00Z', 1, 10, 10, 10, 10, 10, 10, '2016-08-31T23:59:30Z', '2016-08-31T23:59:30Z'),
                    ('old-well', 'pressure_wellhead', '2016-09-01T00:00:00Z', 1, 20, 20, 20, 20, 20, 20, '2016-09-01T00:00:10Z', '2016-09-01T00:00:10Z'),
                    ('old-well', 'pressure_wellhead', '2016-09-01T00:20:00Z', 1, 40, 40, 40, 40, 40, 40, '2016-09-01T00:20:00Z', '2016-09-01T00:20:00Z');
            `);
        });

        afterAll(async () => {
            await db?.close();
        });

        it('should move existing readings into monthly partitions', async () => {
            const result = await migrate(database());
            const { rows } = await database().query<{ name: string; count: unknown }>(
                `SELECT c.relname AS name, (SELECT count(*) FROM readings r WHERE r.tableoid = c.oid) AS count
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'readings'::regclass AND c.relkind = 'r' ORDER BY 1`,
            );

            expect(result).toEqual({ applied: MIGRATIONS.slice(1).map((migration) => migration.version), version: LATEST });
            expect(rows.map((row) => [row.name, Number(row.count)])).toEqual([['readings_2016_08', 1], ['readings_2016_09', 3]]);
            expect(await count(database(), "SELECT count(*) AS count FROM pg_class WHERE relname = 'readings_unpartitioned'")).toBe(0);
        });

        it('should add the unit and worst quality to existing 1-minute rollups', async () => {
            const { rows } = await database().query<{ unit: string; quality_flag: string }>(
                "SELECT unit, quality_flag FROM readings_1m WHERE bucket = '2016-09-01T00:00:00Z'",
            );

            expect(rows).toEqual([{ unit: 'psi', quality_flag: 'BAD' }]);
        });

        it('should fill 15-minute and hourly rollups from the 1-minute ones', async () => {
            const quarters = await database().query<{ bucket: Date; count: number; first: number; last: number }>(
                "SELECT bucket, count, first, last FROM readings_15m WHERE asset_id = 'old-well' ORDER BY bucket",
            );
            const hours = await database().query<{ bucket: Date; count: number; avg: number; first: number; last: number; quality_flag: string }>(
                "SELECT bucket, count, avg, first, last, quality_flag FROM readings_1h WHERE asset_id = 'old-well' ORDER BY bucket",
            );

            expect(quarters.rows.map((row) => [row.bucket.toISOString(), row.count, row.first, row.last])).toEqual([
                ['2016-08-31T23:45:00.000Z', 1, 10, 10],
                ['2016-09-01T00:00:00.000Z', 1, 20, 20],
                ['2016-09-01T00:15:00.000Z', 1, 40, 40],
            ]);
            expect(hours.rows.map((row) => [row.bucket.toISOString(), row.count, row.avg, row.first, row.last, row.quality_flag])).toEqual([
                ['2016-08-31T23:00:00.000Z', 1, 10, 10, 10, 'GOOD'],
                ['2016-09-01T00:00:00.000Z', 2, 30, 20, 40, 'BAD'],
            ]);
        });

        it('should move existing rollups into their monthly and yearly partitions', async () => {
            const { rows } = await database().query<{ parent: string; name: string; count: unknown }>(
                `SELECT p.relname AS parent, c.relname AS name,
                    (SELECT count(*) FROM readings_1m r WHERE r.tableoid = c.oid)
                    + (SELECT count(*) FROM readings_15m r WHERE r.tableoid = c.oid)
                    + (SELECT count(*) FROM readings_1h r WHERE r.tableoid = c.oid) AS count
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
                WHERE p.relname IN ('readings_1m', 'readings_15m', 'readings_1h') ORDER BY 1, 2`,
            );

            expect(rows.map((row) => [row.parent, row.name, Number(row.count)])).toEqual([
                ['readings_15m', 'readings_15m_2016', 3],
                ['readings_1h', 'readings_1h_2016', 2],
                ['readings_1m', 'readings_1m_2016_08', 1],
                ['readings_1m', 'readings_1m_2016_09', 2],
            ]);
            expect(await count(database(), "SELECT count(*) AS count FROM pg_class WHERE relname LIKE 'readings_%_unpartitioned'")).toBe(0);
        });

        it('should keep writing into the converted table', async () => {
            await database().query("SELECT readings_create_partition('2016-10-15T00:00:00Z')");
            await database().exec(`INSERT INTO readings (asset_id, metric, ts, value, unit) VALUES
                ('old-well', 'pressure_wellhead', '2016-10-15T00:00:00Z', 5, 'psi')`);

            expect(await count(database(), "SELECT count(*) AS count FROM readings WHERE asset_id = 'old-well'")).toBe(5);
        });

        it('should reject a reading of a month without a partition', async () => {
            const insert = database().exec(`INSERT INTO readings (asset_id, metric, ts, value, unit) VALUES
                ('old-well', 'pressure_wellhead', '2030-01-01T00:00:00Z', 5, 'psi')`);

            await expect(insert).rejects.toThrow(/no partition of relation "readings" found for row/);
        });
    });

    describe('asset minute marks migration', () => {
        let db: Db | undefined;

        function database(): Db {
            if (!db) throw new Error('database not open');
            return db;
        }

        beforeAll(async () => {
            db = await openDb(await target.createSpec());
            // A database of schema version 5, with minute marks per metric that no refresh has taken.
            await migrate(db, MIGRATIONS.slice(0, 5));
            await db.query("SELECT readings_create_partition('2017-05-01T00:00:00Z')");
            await db.exec(`
                INSERT INTO readings (asset_id, metric, ts, value, unit) VALUES
                    ('marked-well', 'pressure_wellhead', '2017-05-01T10:00:05Z', 1, 'psi'),
                    ('marked-well', 'temp_tpt', '2017-05-01T10:00:05Z', 50, 'degC'),
                    ('marked-well', 'temp_tpt', '2017-05-01T10:01:05Z', 51, 'degC');
                INSERT INTO rollup_pending_1m (asset_id, metric, bucket, seq) VALUES
                    ('marked-well', 'pressure_wellhead', '2017-05-01T10:00:00Z', 3),
                    ('marked-well', 'temp_tpt', '2017-05-01T10:00:00Z', 4),
                    ('marked-well', 'temp_tpt', '2017-05-01T10:01:00Z', 5);
            `);
        });

        afterAll(async () => {
            await db?.close();
        });

        it('should keep one mark per asset and minute, with the latest write number', async () => {
            await migrate(database());
            const { rows } = await database().query<{ bucket: Date; seq: unknown }>(
                "SELECT bucket, seq FROM rollup_pending_1m WHERE asset_id = 'marked-well' ORDER BY bucket",
            );

            expect(rows.map((row) => [row.bucket.toISOString(), Number(row.seq)])).toEqual([
                ['2017-05-01T10:00:00.000Z', 4],
                ['2017-05-01T10:01:00.000Z', 5],
            ]);
        });

        it('should list the series of the stored readings', async () => {
            const { rows } = await database().query<{ metric: string }>("SELECT metric FROM series WHERE asset_id = 'marked-well' ORDER BY metric");

            expect(rows.map((row) => row.metric)).toEqual(['pressure_wellhead', 'temp_tpt']);
        });

        it('should refresh the migrated marks into minute rollups of each metric', async () => {
            await refreshRollupBatch(database(), 'minutes');
            const { rows } = await database().query<{ metric: string; bucket: Date; count: number }>(
                "SELECT metric, bucket, count FROM readings_1m WHERE asset_id = 'marked-well' ORDER BY metric, bucket",
            );

            // pressure_wellhead has no reading in 10:01, so that minute gets no row of it.
            expect(rows.map((row) => [row.metric, row.bucket.toISOString(), row.count])).toEqual([
                ['pressure_wellhead', '2017-05-01T10:00:00.000Z', 1],
                ['temp_tpt', '2017-05-01T10:00:00.000Z', 1],
                ['temp_tpt', '2017-05-01T10:01:00.000Z', 1],
            ]);
            expect(await count(database(), 'SELECT count(*) AS count FROM rollup_pending_1m')).toBe(0);
        });
    });
}
