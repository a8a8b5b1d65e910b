// Partition creation next to open write transactions on a real PostgreSQL server: attaching a
// new month must not wait for writers, which hold ROW EXCLUSIVE locks on readings until they end.
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { closeAllStores, openStore, type StoreHandle } from '../../lib/store/index';
import { postgresTarget } from './store-target';

describe('partition creation on PostgreSQL', () => {
    const target = postgresTarget();
    let store: StoreHandle;
    let writer: Client;

    beforeAll(async () => {
        const spec = await target.createSpec();
        if (spec.engine !== 'postgres') throw new Error('expected a PostgreSQL database');
        store = await openStore(spec);
        await store.writeReadings([{ asset_id: 'lock-well', metric: 'pressure_wellhead', ts: '2017-03-01T00:00:00.000Z', value: 1, unit: 'psi' }]);
        writer = new Client({ connectionString: spec.connectionString });
        await writer.connect();
    });

    afterAll(async () => {
        await writer?.end();
        await closeAllStores();
        await target.cleanup();
    });

    it('should not wait for an open write transaction', async () => {
        await writer.query('BEGIN');
        await writer.query(`INSERT INTO readings (asset_id, metric, ts, value, unit)
            VALUES ('lock-well', 'pressure_wellhead', '2017-03-02T00:00:00Z', 2, 'psi')`);
        await writer.query("SELECT count(*) FROM readings WHERE ts >= '2017-01-01T00:00:00Z'");

        const started = performance.now();
        try {
            const result = await store.writeReadings([{ asset_id: 'lock-well', metric: 'pressure_wellhead', ts: '2017-05-01T00:00:00.000Z', value: 3, unit: 'psi' }]);
            const elapsedMs = performance.now() - started;

            expect(result.inserted).toBe(1);
            expect(elapsedMs).toBeLessThan(2_000);
        } finally {
            await writer.query('COMMIT');
        }
        expect(await store.countReadings({ asset_id: 'lock-well' })).toBe(3);
    });

    it('should create each month once under concurrent writers', async () => {
        const months = ['2012-01', '2012-02', '2012-03'];
        const writes = Array.from({ length: 6 }, (_, index) => store.writeReadings(months.map((month) => ({
            asset_id: `race-well-${index}`, metric: 'pressure_wellhead', ts: `${month}-15T00:00:00.000Z`, value: index, unit: 'psi',
        }))));

        const results = await Promise.all(writes);
        const { rows } = await store.query<{ name: string }>(
            "SELECT c.relname AS name FROM pg_class c WHERE c.relname LIKE 'readings_2012_%' AND c.relkind = 'r' ORDER BY 1",
        );

        expect(results.map((result) => result.inserted)).toEqual([3, 3, 3, 3, 3, 3]);
        expect(rows.map((row) => row.name)).toEqual(['readings_2012_01', 'readings_2012_02', 'readings_2012_03']);
    });
});
