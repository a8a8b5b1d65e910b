import { describe, expect, it } from 'vitest';

import type { ForecastPayload } from '../../lib/anomaly/forecast-payload';
import type { Asset, Reading } from '../../lib/types';
import { AssetRegistry } from './access';
import { parseForecastInput, TrendStore, type TrendDataWithForecast } from './trend-store';

const ALL = { kind: 'all' } as const;
const ACME = { kind: 'operator', operator: 'acme' } as const;
const START = Date.UTC(2017, 0, 1);
const MINUTE = 60_000;

function registry(): AssetRegistry {
    const assets: Asset[] = ['a1', 'b1'].map((assetId) => ({
        asset_id: assetId,
        name: assetId,
        type: 'well',
        operator: assetId.startsWith('a') ? 'acme' : 'bravo',
        field: 'f',
        license: 'l',
        geometry: { type: 'Point', coordinates: [0, 0] },
    }));
    const result = new AssetRegistry();
    result.upsert(assets);
    return result;
}

function reading(assetId: string, value: number, minute: number): Reading {
    return { asset_id: assetId, metric: 'pressure_tpt', value, unit: 'psi', ts: new Date(START + minute * MINUTE).toISOString() };
}

/** Builds a forecast generated at `minute` with `count` points 5 minutes apart, all expecting `level`. */
function forecast(assetId: string, minute: number, level: number, count = 3): ForecastPayload {
    return {
        asset_id: assetId,
        metric: 'pressure_tpt',
        unit: 'psi',
        generated_at: new Date(START + minute * MINUTE).toISOString(),
        interval_ms: 15_000,
        points: Array.from({ length: count }, (_, index) => ({
            ts: new Date(START + (minute + 5 * (index + 1)) * MINUTE).toISOString(),
            expected: level,
            lower: level - 3,
            upper: level + 3,
        })),
    };
}

describe('TrendStore forecasts', () => {
    it('should return the forecast with the selected series', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'pressure_tpt' });
        store.addReadings([reading('a1', 1000, 0)]);
        store.setForecasts([forecast('a1', 0, 1001)]);

        const series = store.select({ scope: ALL, registry: registry() }, 'a1', 'pressure_tpt');

        expect(series?.points).toEqual([[START, 1000]]);
        expect(series?.forecast).toEqual({
            asset_id: 'a1',
            metric: 'pressure_tpt',
            unit: 'psi',
            generated_at: START,
            interval_ms: 15_000,
            points: [
                [START + 5 * MINUTE, 1001, 998, 1004],
                [START + 10 * MINUTE, 1001, 998, 1004],
                [START + 15 * MINUTE, 1001, 998, 1004],
            ],
        });
    });

    it('should replace the previous forecast of the series', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'pressure_tpt' });
        store.setForecasts([forecast('a1', 0, 1001, 3)]);
        store.setForecasts([forecast('a1', 15, 1200, 2)]);

        const series = store.select({ scope: ALL, registry: registry() }, 'a1', 'pressure_tpt');

        expect(store.forecastCount).toBe(1);
        expect(series?.forecast?.generated_at).toBe(START + 15 * MINUTE);
        expect(series?.forecast?.points.map((point) => point[1])).toEqual([1200, 1200]);
    });

    it('should return a forecast of a series without readings', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'pressure_tpt' });
        store.setForecasts([forecast('a1', 0, 1001)]);

        const series = store.select({ scope: ALL, registry: registry() }, 'a1', 'pressure_tpt');

        expect(series?.points).toEqual([]);
        expect(series?.unit).toBe('psi');
        expect(series?.forecast?.points).toHaveLength(3);
        expect(store.select({ scope: ALL, registry: registry() }, 'a1', 'temp_tpt')).toBeUndefined();
    });

    it('should keep the first points in time order', () => {
        const store = new TrendStore('t', '', { points: 10, metric: 'pressure_tpt' });
        const payload = forecast('a1', 0, 1001, 30);
        payload.points.reverse();
        store.setForecasts([payload]);

        const points = store.select({ scope: ALL, registry: registry() }, 'a1', 'pressure_tpt')?.forecast?.points ?? [];

        expect(points).toHaveLength(10);
        expect(points[0][0]).toBe(START + 5 * MINUTE);
        expect(points[9][0]).toBe(START + 50 * MINUTE);
    });

    it('should push a new forecast once to a matching selection', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'pressure_tpt' });
        const assets = registry();
        store.addReadings([reading('a1', 1000, 0)]);
        store.drain(assets);
        store.setForecasts([forecast('a1', 0, 1001)]);

        const produce = store.drain(assets);
        const selected = produce?.({ scope: ALL, registry: assets, selection: { asset_id: 'a1', metric: 'pressure_tpt' } }) as TrendDataWithForecast;

        expect(produce?.({ scope: ALL, registry: assets })).toBeUndefined();
        expect(produce?.({ scope: ALL, registry: assets, selection: { asset_id: 'a1', metric: 'temp_tpt' } })).toBeUndefined();
        expect(selected.forecast?.generated_at).toBe(START);
        expect(selected.points).toBeUndefined();
        expect(store.drain(assets)).toBeUndefined();
    });

    it('should send new points without the unchanged forecast', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'pressure_tpt' });
        const assets = registry();
        store.setForecasts([forecast('a1', 0, 1001)]);
        store.drain(assets);
        store.addReadings([reading('a1', 1000, 1)]);

        const data = store.drain(assets)?.({ scope: ALL, registry: assets, selection: { asset_id: 'a1', metric: 'pressure_tpt' } }) as TrendDataWithForecast;

        expect(data.points?.points).toEqual([[START + MINUTE, 1000]]);
        expect(data.forecast).toBeUndefined();
    });

    it('should hide other operators forecasts', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'pressure_tpt' });
        const assets = registry();
        store.setForecasts([forecast('b1', 0, 1001)]);

        const produce = store.drain(assets);

        expect(store.select({ scope: ACME, registry: assets }, 'b1', 'pressure_tpt')).toBeUndefined();
        expect(produce?.({ scope: ACME, registry: assets, selection: { asset_id: 'b1', metric: 'pressure_tpt' } })).toBeUndefined();
        expect(store.select({ scope: ALL, registry: assets }, 'b1', 'pressure_tpt')?.forecast).toBeDefined();
    });
});

describe('parseForecastInput', () => {
    it('should accept one forecast or an array', () => {
        expect(parseForecastInput(forecast('a1', 0, 1)).forecasts).toHaveLength(1);
        expect(parseForecastInput([forecast('a1', 0, 1), forecast('b1', 0, 1)]).forecasts).toHaveLength(2);
    });

    it('should name the first invalid item', () => {
        const input = parseForecastInput([forecast('a1', 0, 1), { ...forecast('b1', 0, 1), interval_ms: -1 }]);

        expect(input.forecasts).toHaveLength(1);
        expect(input.invalid).toEqual([{ index: 1, reason: 'interval_ms -1 is not a number above 0' }]);
    });

    it('should reject a payload without forecasts', () => {
        expect(() => parseForecastInput([{ ...forecast('a1', 0, 1), points: null }])).toThrow(
            '1 of 1 forecast item was not shown in msg.payload; msg.payload[0]: points is not an array. Wire the forecast output of an anomaly node in forecast mode to this widget.',
        );
    });
});

describe('TrendStore points', () => {
    const view = () => ({ scope: ALL, registry: registry() });

    it('should push points after a selection', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'pressure_tpt' });
        store.addReadings([reading('a1', 1, 0), reading('b1', 1, 0)]);
        const assets = registry();
        for (let push = 0; push < 4; push++) store.drain(assets);
        store.addReadings([reading('a1', 2, 1), reading('b1', 2, 1)]);
        expect(store.drain(assets)).toBeUndefined();

        const selection = { asset_id: 'a1', metric: 'pressure_tpt' };
        expect(store.select(view(), 'a1', 'pressure_tpt')?.points.map(([, value]) => value)).toEqual([1, 2]);
        store.addReadings([reading('a1', 3, 2), reading('b1', 3, 2), reading('a1', 2.5, 1.5)]);
        const produce = store.drain(assets);
        expect(produce?.({ ...view(), selection })).toEqual({
            points: { asset_id: 'a1', metric: 'pressure_tpt', unit: 'psi', points: [[START + 1.5 * MINUTE, 2.5], [START + 2 * MINUTE, 3]] },
        });
        store.addReadings([reading('a1', 4, 3)]);
        expect(store.drain(assets)?.({ ...view(), selection })).toEqual({
            points: { asset_id: 'a1', metric: 'pressure_tpt', unit: 'psi', points: [[START + 3 * MINUTE, 4]] },
        });
    });

    it('should order late points in a full series', () => {
        const store = new TrendStore('t', '', { points: 4, metric: 'pressure_tpt' });
        store.addReadings([10, 11, 12, 13].map((minute) => reading('a1', minute, minute)));
        // Older than every kept point: it would be the oldest, so it goes at once.
        store.addReadings([reading('a1', 5, 5)]);
        expect(store.select(view(), 'a1', 'pressure_tpt')?.points.map(([, value]) => value)).toEqual([10, 11, 12, 13]);
        // Late but inside the kept range: the oldest point makes room for it.
        store.addReadings([reading('a1', 12.5, 12.5)]);
        expect(store.select(view(), 'a1', 'pressure_tpt')?.points.map(([, value]) => value)).toEqual([11, 12, 12.5, 13]);
        store.addReadings([{ ...reading('a1', 99, 14), quality_flag: 'BAD' }, reading('a1', 120, 12)]);
        expect(store.select(view(), 'a1', 'pressure_tpt')?.points).toEqual([
            [START + 12 * MINUTE, 120],
            [START + 12.5 * MINUTE, 12.5],
            [START + 13 * MINUTE, 13],
            [START + 14 * MINUTE, null],
        ]);
    });
});
