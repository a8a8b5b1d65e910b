import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import type { Db } from './db';
import { openStore } from './index';
import { migrate } from './migrate';
import { MIGRATIONS, type Migration } from './migrations';
import { openPgliteDb } from './pglite-db';

const folder = mkdtempSync(join(tmpdir(), 'ul-migrate-test-'));
const dataDir = join(folder, 'db');
let db: Db | undefined;

beforeAll(async () => {
    db = await openPgliteDb(dataDir);
});

afterAll(async () => {
    await db?.close();
    rmSync(folder, { recursive: true, force: true });
});

function database(): Db {
    if (!db) throw new Error('database not open');
    return db;
}

const addIndex: Migration = { version: 2, name: 'index readings by time', sql: 'CREATE INDEX readings_ts_idx ON readings (ts)' };

describe('migrate', () => {
    it('should apply every migration to an empty database', async () => {
        const result = await migrate(database());

        expect(result).toEqual({ applied: [1], version: 1 });
    });

    it('should do nothing when run again', async () => {
        const result = await migrate(database());

        expect(result).toEqual({ applied: [], version: 1 });
    });

    it('should apply only a migration added later', async () => {
        const result = await migrate(database(), [...MIGRATIONS, addIndex]);
        const { rows } = await database().query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');

        expect(result).toEqual({ applied: [2], version: 2 });
        expect(rows.map((row) => row.version)).toEqual([1, 2]);
    });

    it('should roll back a migration that fails', async () => {
        const broken: Migration = { version: 3, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT * FROM missing_table' };

        await expect(migrate(database(), [...MIGRATIONS, addIndex, broken])).rejects.toThrow(/missing_table/);
        const tables = await database().query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
        const versions = await database().query('SELECT version FROM schema_migrations WHERE version = 3');

        expect(tables.rows).toHaveLength(0);
        expect(versions.rows).toHaveLength(0);
    });

    it('should reject a database newer than the code', async () => {
        const attempt = migrate(database());

        await expect(attempt).rejects.toBeInstanceOf(ConfigError);
        await expect(attempt).rejects.toThrow(/schema version 2, but this version of Upstream Live knows schema versions up to 1\. Upgrade/);
    });

    it('should reject migrations out of order', async () => {
        await expect(migrate(database(), [addIndex])).rejects.toThrow(/has version 2; expected 1/);
    });

});

describe('embedded engine worker', () => {
    it('should fail a statement in progress as retriable when the worker stops', async () => {
        const worker = (database() as unknown as { worker: Worker }).worker;
        const slow = database().query('SELECT pg_sleep(2)');

        await worker.terminate();

        await expect(slow).rejects.toMatchObject({ name: 'ServiceError', retriable: true });
    });

    it('should start a new worker for the next statement', async () => {
        const { rows } = await database().query<{ version: number }>('SELECT max(version) AS version FROM schema_migrations');

        expect(rows[0].version).toBe(2);
    });
});

describe('opening a store', () => {
    it('should refuse to open a store on a newer database', async () => {
        await database().close();
        db = undefined;

        await expect(openStore({ engine: 'pglite', dataDir })).rejects.toThrow(/knows schema versions up to 1/);
    });
});
