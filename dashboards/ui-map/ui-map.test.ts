import { createRequire } from 'node:module';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { MapData } from '../lib/protocol';
import { alertEvent, completionNodes, deliver, demoAssets, fakeRuntime, reading, signIn, widgetState } from '../shared/test-support';
import pageNode from '../ui-page/ui-page';
import mapNode from './ui-map';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const ts = (minute: number): string => new Date(Date.UTC(2017, 2, 20, 14, minute)).toISOString();
const WS_PATH = '/dashboard/ws';

function flow(): Record<string, unknown>[] {
    return [
        { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: '', interval: 50 },
        { id: 'map', type: 'ul-ui-map', page: 'page', activeWindowMinutes: 10 },
        ...completionNodes('map'),
    ];
}

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    await helper.startServer();
});

beforeEach(() => {
    helper.settings({ upstreamLive: fakeRuntime() });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await helper.stopServer();
});

describe('ul-ui-map', () => {
    it('should list the registry assets with their positions', async () => {
        await helper.load([pageNode, mapNode], flow());

        const { client, state } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        client.close();
        const map = widgetState<MapData>(state, 'map');
        const volve = map.assets?.find((asset) => asset.asset_id === 'volve-15-9-f-11');

        expect(map.assets?.length).toBe(22);
        expect(volve?.geometry).toEqual({ type: 'Point', coordinates: [1.8883, 58.4422] });
        expect(volve).toBeDefined();
        expect(Object.keys(volve ?? {})).not.toContain('attributes');
        expect(map.status['volve-15-9-f-11']).toBe('stale');
    });

    it('should colour assets by alerts and data age', async () => {
        await helper.load([pageNode, mapNode], flow());

        await deliver(helper, 'map', [
            reading('3w-well-00001', 'oil_rate', 1, ts(30)),
            reading('3w-well-00003', 'oil_rate', 1, ts(25)),
            reading('3w-well-00004', 'oil_rate', 1, ts(5)),
        ]);
        await deliver(helper, 'map', [
            alertEvent('ev-p2', '3w-well-00005', 'P2', 'acknowledged', ts(3)),
            alertEvent('ev-p3', '3w-well-00007', 'P3', 'open', ts(3)),
            alertEvent('ev-p3b', '3w-well-00001', 'P3', 'resolved', ts(3)),
        ]);
        const { client, state } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        client.close();
        const status = widgetState<MapData>(state, 'map').status;

        expect(status['3w-well-00001']).toBe('active');
        expect(status['3w-well-00003']).toBe('active');
        expect(status['3w-well-00004']).toBe('stale');
        expect(status['3w-well-00005']).toBe('alarm');
        expect(status['3w-well-00007']).toBe('warning');
        expect(status['3w-well-00008']).toBe('stale');
    });

    it('should push only the statuses that changed', async () => {
        await helper.load([pageNode, mapNode], flow());
        await deliver(helper, 'map', [reading('3w-well-00001', 'oil_rate', 1, ts(0))]);
        const { client } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');

        await deliver(helper, 'map', alertEvent('ev-1', '3w-well-00003', 'P1', 'open', ts(0)));
        const update = await client.next('update');
        client.close();

        expect(update.updates).toEqual([{ widget: 'map', data: { status: { '3w-well-00003': 'alarm' } } }]);
    });

    it('should take assets from its input', async () => {
        helper.settings({ upstreamLive: undefined });
        await helper.load([pageNode, mapNode], flow());
        const [first, second] = demoAssets();

        const error = await deliver(helper, 'map', [first, second]);
        const { client, state } = await signIn(`${helper.url()}${WS_PATH}`, '');
        client.close();

        expect(error).toBeUndefined();
        expect(widgetState<MapData>(state, 'map').assets?.map((asset) => asset.asset_id)).toEqual([first.asset_id, second.asset_id]);
    });

    it('should resend the state for a new asset', async () => {
        await helper.load([pageNode, mapNode], flow());
        const { client } = await signIn(`${helper.url()}${WS_PATH}`, 'analyst-token');
        const pipeline = {
            asset_id: 'volve-export-line',
            name: 'Volve export line',
            type: 'pipeline',
            operator: 'equinor',
            field: 'Volve',
            license: 'PL046',
            geometry: { type: 'LineString', coordinates: [[1.8875, 58.4417], [1.95, 58.5]] },
        };

        await deliver(helper, 'map', [pipeline]);
        const state = await client.next('state');
        client.close();
        const map = widgetState<MapData>(state, 'map');

        expect(map.assets?.length).toBe(23);
        expect(map.status['volve-export-line']).toBe('stale');
    });

    it('should fail an asset without geometry', async () => {
        await helper.load([pageNode, mapNode], flow());

        const error = await deliver(helper, 'map', [{ asset_id: 'x', operator: 'acme', geometry: { type: 'Polygon', coordinates: [] } }]);

        expect(error).toContain('geometry is not a GeoJSON Point or LineString');
    });
});
