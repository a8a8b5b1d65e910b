import { createRequire } from 'node:module';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { ForecastPayload } from '../../lib/anomaly/forecast-payload';
import type { TrendData } from '../lib/protocol';
import type { TrendDataWithForecast, TrendSeriesWithForecast } from '../lib/trend-store';
import { alertEvent, completionNodes, deliver, fakeRuntime, reading, signIn, widgetState } from '../shared/test-support';
import pageNode from '../ui-page/ui-page';
import trendNode from './ui-trend';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const START = Date.UTC(2017, 2, 20, 14, 0);
const ts = (second: number): string => new Date(START + second * 1000).toISOString();
const WS_PATH = '/dashboard/ws';

function forecast(assetId: string, level: number): ForecastPayload {
    return {
        asset_id: assetId,
        metric: 'pressure_tpt',
        unit: 'psi',
        generated_at: ts(0),
        interval_ms: 15_000,
        points: [1, 2].map((step) => ({ ts: ts(300 * step), expected: level, lower: level - 2, upper: level + 2 })),
    };
}

function flow(options: Record<string, unknown> = {}): Record<string, unknown>[] {
    return [
        { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: '', interval: 50 },
        { id: 'trend', type: 'ul-ui-trend', page: 'page', points: 900, metric: 'oil_rate', ...options },
        ...completionNodes('trend'),
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

describe('ul-ui-trend', () => {
    it('should keep the newest points per series', async () => {
        await helper.load([pageNode, trendNode], flow({ points: 10 }));
        const readings = Array.from({ length: 30 }, (_, index) => reading('3w-well-00001', 'oil_rate', index, ts(index)));

        await deliver(helper, 'trend', readings);
        const { client } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00001', metric: 'oil_rate' });
        const series = await client.next('series');
        client.close();

        expect(series.data.points.length).toBe(10);
        expect(series.data.points[0]).toEqual([START + 20_000, 20]);
        expect(series.data.points[9]).toEqual([START + 29_000, 29]);
    });

    it('should put late points in time order', async () => {
        await helper.load([pageNode, trendNode], flow());

        await deliver(helper, 'trend', [
            reading('3w-well-00001', 'pressure_tpt', 3, ts(3)),
            reading('3w-well-00001', 'pressure_tpt', 1, ts(1)),
            reading('3w-well-00001', 'pressure_tpt', 2, ts(2)),
            reading('3w-well-00001', 'pressure_tpt', 22, ts(2)),
        ]);
        const { client } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00001', metric: 'pressure_tpt' });
        const series = await client.next('series');
        client.close();

        expect(series.data.points.map(([, value]) => value)).toEqual([1, 22, 3]);
    });

    it('should push live points of the selected series only', async () => {
        await helper.load([pageNode, trendNode], flow());
        await deliver(helper, 'trend', [reading('3w-well-00001', 'oil_rate', 1, ts(0)), reading('3w-well-00003', 'oil_rate', 1, ts(0))]);
        const first = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        const second = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        first.client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00001', metric: 'oil_rate' });
        second.client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00003', metric: 'oil_rate' });
        await first.client.next('series');
        await second.client.next('series');

        await deliver(helper, 'trend', [reading('3w-well-00001', 'oil_rate', 5, ts(10)), reading('3w-well-00003', 'oil_rate', 7, ts(10))]);
        const firstUpdate = (await first.client.next('update')).updates[0].data as TrendData;
        const secondUpdate = (await second.client.next('update')).updates[0].data as TrendData;
        first.client.close();
        second.client.close();

        expect(firstUpdate.points).toEqual({ asset_id: '3w-well-00001', metric: 'oil_rate', unit: 'bopd', points: [[START + 10_000, 5]] });
        expect(secondUpdate.points).toEqual({ asset_id: '3w-well-00003', metric: 'oil_rate', unit: 'bopd', points: [[START + 10_000, 7]] });
    });

    it('should announce new series', async () => {
        await helper.load([pageNode, trendNode], flow());
        await deliver(helper, 'trend', [reading('3w-well-00001', 'oil_rate', 1, ts(0))]);
        const { client, state } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');

        await deliver(helper, 'trend', [reading('3w-well-00001', 'oil_rate', 2, ts(1)), reading('3w-well-00001', 'gas_rate', 0.1, ts(1))]);
        let update: TrendData = {};
        while (!update.series) update = (await client.next('update')).updates[0].data as TrendData;
        client.close();

        expect(widgetState<TrendData>(state, 'trend').series).toEqual([{ asset_id: '3w-well-00001', metric: 'oil_rate', unit: 'bopd' }]);
        expect(update.series).toEqual([{ asset_id: '3w-well-00001', metric: 'gas_rate', unit: 'mmscfd' }]);
    });

    it('should list series from the runtime seed', async () => {
        helper.settings({ upstreamLive: fakeRuntime({ latestReadings: async () => [reading('volve-15-9-f-11', 'pressure_tpt', 200, ts(0))] }) });
        await helper.load([pageNode, trendNode], flow());

        const { client, state } = await signIn(`${helper.url()}${WS_PATH}`, 'equinor-token');
        client.close();

        expect(widgetState<TrendData>(state, 'trend').series).toEqual([{ asset_id: 'volve-15-9-f-11', metric: 'pressure_tpt', unit: 'psi' }]);
    });

    it('should fail alert events', async () => {
        await helper.load([pageNode, trendNode], flow());

        const error = await deliver(helper, 'trend', alertEvent('ev-1', '3w-well-00001', 'P1', 'open', ts(0)));

        expect(error).toContain('does not accept events');
    });

    it('should report an invalid point count at deploy', async () => {
        await helper.load([pageNode, trendNode], flow({ points: 5 }));
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors.map((call: unknown[]) => (call[0] as { msg: string }).msg)).toEqual(['ul-ui-trend.errors.invalid-option']);
    });

    it('should send the forecast with the selected series', async () => {
        await helper.load([pageNode, trendNode], flow());
        await deliver(helper, 'trend', [reading('3w-well-00001', 'pressure_tpt', 1000, ts(0))]);

        const error = await deliver(helper, 'trend', forecast('3w-well-00001', 1001));
        const { client } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00001', metric: 'pressure_tpt' });
        const series = (await client.next('series')).data as TrendSeriesWithForecast;
        client.close();

        expect(error).toBeUndefined();
        expect(series.points).toEqual([[START, 1000]]);
        expect(series.forecast?.points).toEqual([
            [START + 300_000, 1001, 999, 1003],
            [START + 600_000, 1001, 999, 1003],
        ]);
    });

    it('should push a newer forecast to the selecting client', async () => {
        await helper.load([pageNode, trendNode], flow());
        await deliver(helper, 'trend', [reading('3w-well-00001', 'pressure_tpt', 1000, ts(0))]);
        await deliver(helper, 'trend', [forecast('3w-well-00001', 1001)]);
        const { client } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');
        client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00001', metric: 'pressure_tpt' });
        await client.next('series');

        await deliver(helper, 'trend', [forecast('3w-well-00001', 1200)]);
        let update: TrendDataWithForecast = {};
        while (!update.forecast) update = (await client.next('update')).updates[0].data as TrendDataWithForecast;
        client.close();

        expect(update.forecast.points.map((point) => point[1])).toEqual([1200, 1200]);
    });

    it('should fail a forecast with a broken point', async () => {
        await helper.load([pageNode, trendNode], flow());
        const broken = forecast('3w-well-00001', 1001);
        broken.points[1].upper = Number.NaN;

        const error = await deliver(helper, 'trend', broken);

        expect(error).toContain('msg.payload[0]: points[1].upper NaN is not a finite number');
    });
});
