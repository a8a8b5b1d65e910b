import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ValidationError } from '../errors';
import { DATA_DIR } from '../paths';
import type { AlertEvent, Asset, Reading, Rejection } from '../types';
import { closeAllStores, openStore, type RollupRow, type StoreHandle } from './index';

// One embedded database for the whole file: opening a fresh one takes seconds.
const folder = mkdtempSync(join(tmpdir(), 'ul-store-test-'));
const dataDir = join(folder, 'db');
let store: StoreHandle;

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir });
});

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

function reading(asset: string, ts: string, value: number | null, metric = 'pressure_wellhead'): Reading {
    return { asset_id: asset, metric, ts, value, unit: 'psi', quality_flag: 'GOOD' };
}

describe('migrations at open', () => {
    it('should create the schema on an empty database', async () => {
        const { rows } = await store.query<{ table_name: string }>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
        );
        const tables = rows.map((row) => row.table_name);

        for (const table of ['assets', 'audit_log', 'devices', 'events', 'licenses', 'operators', 'quarantine', 'readings',
            'readings_1m', 'roles', 'royalty_ledger', 'schema_migrations', 'user_roles', 'users', 'work_orders']) {
            expect(tables).toContain(table);
        }
    });

    it('should record the applied version', async () => {
        const { rows } = await store.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations');

        expect(rows).toEqual([{ version: 1, name: 'initial schema' }]);
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
            count: 0, min: null, max: null, avg: null, first: null, last: null,
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
        await store.insertEvent(event);
        await store.insertEvent({ ...event, message: 'changed' });

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
    it('should share one database between openers of one folder', async () => {
        const other = await openStore({ engine: 'pglite', dataDir: join(folder, 'x', '..', 'db') });
        await other.writeReadings([reading('shared-well', '2017-03-20T14:00:00.000Z', 1)]);

        await other.close();

        expect(await store.countReadings({ asset_id: 'shared-well' })).toBe(1);
    });

    it('should reject calls on a closed handle', async () => {
        const other = await openStore({ engine: 'pglite', dataDir });
        await other.close();

        await expect(other.countReadings()).rejects.toThrow(/handle is closed/);
    });

    it('should keep the data when the folder is opened again', async () => {
        const before = await store.countReadings();
        await store.close();

        store = await openStore({ engine: 'pglite', dataDir });

        expect(before).toBeGreaterThan(0);
        expect(await store.countReadings()).toBe(before);
    });
});
