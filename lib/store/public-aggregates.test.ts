import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Asset, Reading } from '../types';
import { closeAllStores, openStore } from './index';
import type { Store } from './types';

const folder = mkdtempSync(join(tmpdir(), 'ul-public-'));
let store: Store;

function well(asset_id: string, field: string): Asset {
    return { asset_id, name: asset_id, type: 'well', operator: 'acme', field, license: 'L1', geometry: { type: 'Point', coordinates: [1, 58] } };
}

function reading(asset_id: string, metric: string, ts: string, value: number, quality_flag: Reading['quality_flag'] = 'GOOD'): Reading {
    const units: Record<string, string> = { gas_rate: 'mmscfd', oil_rate: 'bopd', water_rate: 'bwpd' };
    const unit = units[metric];
    return { asset_id, metric, value, unit, ts, quality_flag };
}

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
    await store.upsertAssets([well('p-1', 'NORTH'), well('p-2', 'NORTH'), well('p-3', 'NORTH'), well('q-1', 'SOUTH'), well('q-2', 'SOUTH')]);
    await store.writeReadings([
        // NORTH, January: p-1 daily 100 and 200 bopd, p-2 hourly 50 and 150 (daily mean 100), p-3 one day 300.
        reading('p-1', 'oil_rate', '2020-01-01T00:00:00.000Z', 100),
        reading('p-1', 'oil_rate', '2020-01-02T00:00:00.000Z', 200),
        reading('p-2', 'oil_rate', '2020-01-01T00:00:00.000Z', 50),
        reading('p-2', 'oil_rate', '2020-01-01T01:00:00.000Z', 150),
        reading('p-3', 'oil_rate', '2020-01-05T00:00:00.000Z', 300),
        reading('p-3', 'oil_rate', '2020-01-06T00:00:00.000Z', 1e9, 'BAD'),
        reading('p-3', 'gas_rate', '2020-01-05T00:00:00.000Z', 2.5),
        // NORTH, February: only two wells report, so the month is not published.
        reading('p-1', 'oil_rate', '2020-02-01T00:00:00.000Z', 100),
        reading('p-2', 'oil_rate', '2020-02-01T00:00:00.000Z', 100),
        // SOUTH never has three wells.
        reading('q-1', 'oil_rate', '2020-01-01T00:00:00.000Z', 999),
        reading('q-2', 'oil_rate', '2020-01-01T00:00:00.000Z', 999),
    ]);
}, 60_000);

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

describe('monthlyFieldProduction', () => {
    it('should sum daily mean rates per field and month', async () => {
        const months = await store.monthlyFieldProduction();

        expect(months).toEqual([{ field: 'NORTH', month: '2020-01', oil_bbl: 700, gas_mmscf: 2.5, water_bbl: null, wells: 3 }]);
    });

    it('should keep volumes after raw retention', async () => {
        const before = await store.monthlyFieldProduction();

        const result = await store.applyRetention(new Date('2020-09-01T00:00:00.000Z'));

        expect(result.droppedPartitions.map((partition) => partition.name)).toEqual(expect.arrayContaining(['readings_2020_01', 'readings_2020_02']));
        expect(await store.countReadings({ asset_id: 'p-1' })).toBe(0);
        expect(await store.monthlyFieldProduction()).toEqual(before);
    });
});
