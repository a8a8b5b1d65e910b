import type { Worker } from 'node:worker_threads';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrateSuite } from '../../test/services/migrate-suite';
import { pgliteTarget } from '../../test/services/store-target';
import type { Db } from './db';
import { MIGRATIONS } from './migrations';
import { migrate } from './migrate';
import { openPgliteDb } from './pglite-db';

// The shared migration suite on the embedded engine; test/services/migrate.postgres.test.ts runs
// it on PostgreSQL.
migrateSuite(pgliteTarget());

describe('embedded engine worker', () => {
    const target = pgliteTarget();
    let db: Db | undefined;

    function database(): Db {
        if (!db) throw new Error('database not open');
        return db;
    }

    beforeAll(async () => {
        const spec = await target.createSpec();
        if (spec.engine !== 'pglite') throw new Error('expected an embedded database');
        db = await openPgliteDb(spec.dataDir);
        await migrate(db);
    });

    afterAll(async () => {
        await db?.close();
        await target.cleanup();
    });

    it('should fail a statement in progress as retriable when the worker stops', async () => {
        const worker = (database() as unknown as { worker: Worker }).worker;
        const slow = database().query('SELECT pg_sleep(2)');

        await worker.terminate();

        await expect(slow).rejects.toMatchObject({ name: 'ServiceError', retriable: true });
    });

    it('should start a new worker for the next statement', async () => {
        const { rows } = await database().query<{ version: number }>('SELECT max(version) AS version FROM schema_migrations');

        expect(rows[0].version).toBe(MIGRATIONS.length);
    });
});
