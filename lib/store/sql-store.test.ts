// Round trips of the store's reading writes on the embedded engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Reading } from '../types';
import type { Db, Queryable } from './db';
import { migrate } from './migrate';
import { openPgliteDb } from './pglite-db';
import { INSERT_CHUNK_ROWS, insertsInOneStatement, KnownSeries } from './readings';
import { SqlStore } from './sql-store';

function reading(asset: string, second: number, metric = 'pressure_wellhead'): Reading {
    return { asset_id: asset, metric, ts: new Date(Date.UTC(2017, 2, 20, 14, 0, second)).toISOString(), value: second, unit: 'psi', quality_flag: 'GOOD' };
}

/** Wraps `db` to record, for each statement that inserts readings, whether it ran inside a transaction. */
function recordingDb(db: Db): { db: Db; inserts: ('alone' | 'in transaction')[] } {
    const inserts: ('alone' | 'in transaction')[] = [];
    const record = (target: Queryable, where: 'alone' | 'in transaction'): Queryable => ({
        query: (sql, params) => {
            if (/INSERT INTO readings /.test(sql)) inserts.push(where);
            return target.query(sql, params);
        },
        exec: (sql) => target.exec(sql),
    });
    return {
        inserts,
        db: {
            ...record(db, 'alone'),
            transaction: (fn) => db.transaction((tx) => fn(record(tx, 'in transaction'))),
            close: () => db.close(),
        },
    };
}

describe('insertsInOneStatement', () => {
    it('should need known series and one chunk', () => {
        const known = new KnownSeries();
        known.add('a', 'pressure_wellhead');

        expect(insertsInOneStatement([reading('a', 0), reading('a', 1)], known)).toBe(true);
        expect(insertsInOneStatement([reading('a', 0), reading('a', 1, 'temperature')], known)).toBe(false);
        expect(insertsInOneStatement(Array.from({ length: INSERT_CHUNK_ROWS + 1 }, (_, i) => reading('a', i % 60)), known)).toBe(false);
    });
});

describe('SqlStore reading writes', () => {
    let folder: string;
    let store: SqlStore;
    let inserts: ('alone' | 'in transaction')[];

    beforeAll(async () => {
        folder = mkdtempSync(join(tmpdir(), 'ul-sql-store-'));
        const opened = await openPgliteDb(join(folder, 'db'));
        await migrate(opened);
        const recording = recordingDb(opened);
        inserts = recording.inserts;
        store = new SqlStore(recording.db);
    });

    afterAll(async () => {
        await store.close();
        rmSync(folder, { recursive: true, force: true });
    });

    it('should wrap only a batch that adds series', async () => {
        inserts.length = 0;

        await store.writeReadings([reading('well-1', 0), reading('well-1', 1)]);
        await store.writeReadings([reading('well-1', 2), reading('well-1', 3)]);

        expect(inserts).toEqual(['in transaction', 'alone']);
    });

    it('should write a redelivery without a transaction', async () => {
        await store.writeReadings([reading('well-2', 0)]);
        inserts.length = 0;

        const result = await store.writeReadings([reading('well-2', 0), reading('well-2', 1)]);

        expect(result).toMatchObject({ inserted: 1, duplicates: 1, storedFlags: [false, true] });
        // The plain insert fails on the duplicate, then the batch goes again as one statement that skips it.
        expect(inserts).toEqual(['alone', 'alone']);
    });
});
