import { describe, expect, it } from 'vitest';

import type { AlertEvent, Asset, Reading } from '../../lib/types';
import { AssetRegistry } from './access';
import { AlertsStore, compareEvents } from './alerts-store';
import { OverviewStore } from './overview-store';
import { TrendStore } from './trend-store';

const ALL = { kind: 'all' } as const;
const ACME = { kind: 'operator', operator: 'acme' } as const;

function registry(): AssetRegistry {
    const assets: Asset[] = ['a1', 'a2', 'b1'].map((assetId) => ({
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

function reading(assetId: string, metric: string, value: number, second: number, unit = 'bopd'): Reading {
    return { asset_id: assetId, metric, value, unit, ts: new Date(Date.UTC(2017, 0, 1) + second * 1000).toISOString() };
}

function event(eventId: string, state: AlertEvent['state'], openedAt: string): AlertEvent {
    return { event_id: eventId, rule_id: 'r', asset_id: 'a1', metric: 'm', severity: 'P2', state, message: '', opened_at: openedAt, evidence: {} };
}

describe('OverviewStore', () => {
    it('should return rates in other units', () => {
        const store = new OverviewStore('o', '', { activeWindowMinutes: 10 });

        const wrong = store.addReadings([reading('a1', 'oil_rate', 5, 0, 'm3/d'), reading('a1', 'gas_rate', 1, 0, 'mmscfd')]);

        expect(wrong.map((entry) => entry.unit)).toEqual(['m3/d']);
        expect(store.summarize(ALL, registry()).total_gas_mmscfd).toBe(1);
    });

    it('should push a summary per scope', () => {
        const store = new OverviewStore('o', '', { activeWindowMinutes: 10 });
        const assets = registry();
        store.addReadings([reading('a1', 'oil_rate', 5, 0), reading('b1', 'oil_rate', 7, 0)]);

        const produce = store.drain(assets);

        expect(produce?.({ scope: ACME, registry: assets })).toMatchObject({ total_oil_bopd: 5, wells: 2 });
        expect(produce?.({ scope: ALL, registry: assets })).toMatchObject({ total_oil_bopd: 12, wells: 3 });
        expect(store.drain(assets)).toBeUndefined();
    });
});

describe('TrendStore', () => {
    it('should hold exactly the configured points', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'oil_rate' });
        const assets = registry();

        store.addReadings(Array.from({ length: 1_000 }, (_, index) => reading('a1', 'oil_rate', index, index)));
        const series = store.select({ scope: ALL, registry: assets }, 'a1', 'oil_rate');

        expect(series?.points.length).toBe(100);
        expect(series?.points[0][1]).toBe(900);
    });

    it('should draw BAD readings as gaps', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'oil_rate' });
        store.addReadings([reading('a1', 'oil_rate', 5, 0), { ...reading('a1', 'oil_rate', 1e12, 1), quality_flag: 'BAD' }, reading('a1', 'oil_rate', 6, 2)]);
        const series = store.select({ scope: ALL, registry: registry() }, 'a1', 'oil_rate');

        expect(series?.points.map((point) => point[1])).toEqual([5, null, 6]);
    });

    it('should hide other operators series', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'oil_rate' });
        const assets = registry();
        store.addReadings([reading('a1', 'oil_rate', 1, 0), reading('b1', 'oil_rate', 1, 0)]);

        expect(store.snapshot({ scope: ACME, registry: assets }).series?.map((info) => info.asset_id)).toEqual(['a1']);
        expect(store.select({ scope: ACME, registry: assets }, 'b1', 'oil_rate')).toBeUndefined();
    });

    it('should push points only to a matching selection', () => {
        const store = new TrendStore('t', '', { points: 100, metric: 'oil_rate' });
        const assets = registry();
        store.addReadings([reading('a1', 'oil_rate', 1, 0)]);
        store.drain(assets);
        store.addReadings([reading('a1', 'oil_rate', 2, 1)]);

        const produce = store.drain(assets);

        expect(produce?.({ scope: ALL, registry: assets })).toBeUndefined();
        expect(produce?.({ scope: ALL, registry: assets, selection: { asset_id: 'a1', metric: 'gas_rate' } })).toBeUndefined();
        expect(produce?.({ scope: ALL, registry: assets, selection: { asset_id: 'a1', metric: 'oil_rate' } })).toEqual({
            points: { asset_id: 'a1', metric: 'oil_rate', unit: 'bopd', points: [[Date.UTC(2017, 0, 1) + 1000, 2]] },
        });
    });
});

describe('AlertsStore', () => {
    it('should order open, acknowledged, resolved, newest first', () => {
        const events = [
            event('r', 'resolved', '2017-01-01T00:05:00Z'),
            event('o1', 'open', '2017-01-01T00:01:00Z'),
            event('a', 'acknowledged', '2017-01-01T00:09:00Z'),
            event('o2', 'open', '2017-01-01T00:02:00Z'),
        ];

        expect(events.sort(compareEvents).map((entry) => entry.event_id)).toEqual(['o2', 'o1', 'a', 'r']);
    });

    it('should count open events', () => {
        const store = new AlertsStore('al', '', { maxEvents: 10 });

        store.addEvents([event('o1', 'open', '2017-01-01T00:01:00Z'), event('a', 'acknowledged', '2017-01-01T00:01:00Z')]);
        store.addEvents([event('o1', 'resolved', '2017-01-01T00:01:00Z')]);

        expect(store.openCount).toBe(0);
    });
});
