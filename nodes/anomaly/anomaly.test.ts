import { createRequire } from 'node:module';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ForecastPayload } from '../../lib/anomaly/forecast-payload';
import type { AlertEvent, Reading, Rejection } from '../../lib/types';
import anomalyNode from './anomaly';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

interface TestNode {
    on(event: string, listener: (value: never) => void): void;
    receive(msg: unknown): void;
}

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

function reading(second: number, value: number): Reading {
    return { asset_id: 'well-1', metric: 'pressure_tpt', value, unit: 'psi', ts: new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString(), quality_flag: 'GOOD' };
}

async function load(config: Record<string, unknown>): Promise<{ node: TestNode; alerts: TestNode; rejected: TestNode; forecasts: TestNode }> {
    await helper.load([anomalyNode], [
        { id: 'anomaly-1', type: 'ul-anomaly', detector: 'mad', learn: '60', window: '10m', threshold: '10', hold: '3', ...config, wires: [['alerts'], ['rejected'], ['forecasts']] },
        { id: 'alerts', type: 'helper' },
        { id: 'rejected', type: 'helper' },
        { id: 'forecasts', type: 'helper' },
    ]);
    return { node: helper.getNode('anomaly-1'), alerts: helper.getNode('alerts'), rejected: helper.getNode('rejected'), forecasts: helper.getNode('forecasts') };
}

/** Readings one second apart from `from` to `to` (exclusive), rising 0.1 psi a second. */
function ramp(from: number, to: number): Reading[] {
    return Array.from({ length: to - from }, (_, index) => reading(from + index, 1000 + 0.1 * (from + index)));
}

/** Collects the first `count` payloads that arrive at a helper node. */
function collect<T>(node: TestNode, count: number): Promise<T[]> {
    const payloads: T[] = [];
    return new Promise((resolve) => {
        node.on('input', (msg: never) => {
            payloads.push((msg as { payload: T }).payload);
            if (payloads.length === count) resolve(payloads);
        });
    });
}

describe('ul-anomaly', () => {
    it('should open and resolve an alert', async () => {
        const { node, alerts } = await load({});
        const events = collect<AlertEvent>(alerts, 2);

        const normal = Array.from({ length: 100 }, (_, second) => reading(second, 1000 + (second % 3)));
        const step = Array.from({ length: 20 }, (_, i) => reading(100 + i, 1500));
        const back = Array.from({ length: 60 }, (_, i) => reading(120 + i, 1000 + (i % 3)));
        node.receive({ payload: normal });
        node.receive({ payload: step });
        node.receive({ payload: back });
        const [open, resolved] = await events;

        expect(open.state).toBe('open');
        expect(open.rule_id).toBe('anomaly:mad:pressure_tpt');
        expect(open.opened_at).toBe('2024-01-01T00:01:42.000Z');
        expect(open.evidence).toMatchObject({ expected: 1001, observed: 1500, threshold: 10 });
        expect(resolved.state).toBe('resolved');
        expect(resolved.event_id).toBe(open.event_id);
    });

    it('should send malformed readings to the rejected output', async () => {
        const { node, rejected } = await load({});
        const received = collect<Rejection[]>(rejected, 1);

        node.receive({ topic: 'well-1', payload: [reading(0, 1000), { asset_id: 'well-1', metric: 'pressure_tpt', value: 'high', unit: 'psi', ts: '2024-01-01T00:00:01Z' }] });
        const [rejections] = await received;

        expect(rejections).toHaveLength(1);
        expect(rejections[0]).toMatchObject({ code: 'invalid_reading', field: 'value', ref: 'item 1', source: 'anomaly:anomaly-1' });
    });

    it('should reject a payload that is not an array', async () => {
        const { node, rejected } = await load({});
        const received = collect<Rejection[]>(rejected, 1);

        node.receive({ payload: 'hello' });
        const [rejections] = await received;

        expect(rejections[0].code).toBe('invalid_payload');
    });

    it('should report an invalid configuration at deploy', async () => {
        await load({ detector: 'neural' });
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toContain('Detector "neural" is unknown');
    });

    it('should raise an isolation forest alert for the asset', async () => {
        const { node, alerts } = await load({ detector: 'iforest', window: '1m', threshold: '0.8', hold: '2', learn: '20m' });
        const events = collect<AlertEvent>(alerts, 1);

        const normal = Array.from({ length: 1800 }, (_, second) => reading(second, 2000 + (second % 5)));
        const shifted = Array.from({ length: 300 }, (_, i) => reading(1800 + i, 2300));
        node.receive({ payload: normal });
        node.receive({ payload: shifted });
        const [open] = await events;

        expect(open.rule_id).toBe('anomaly:iforest:pressure_tpt');
        expect(open.evidence.score as number).toBeGreaterThan(0.8);
    });

    it('should send the next-day forecast when the model is fitted', async () => {
        const { node, forecasts } = await load({ detector: 'forecast', window: '', threshold: '', hold: '', learn: '10m' });
        const received = collect<ForecastPayload>(forecasts, 1);

        node.receive({ payload: ramp(0, 900) });
        const [forecast] = await received;

        expect(forecast.asset_id).toBe('well-1');
        expect(forecast.metric).toBe('pressure_tpt');
        expect(forecast.unit).toBe('psi');
        // The interval from 885 s is still open, so the last modelled interval starts at 870 s.
        expect(forecast.generated_at).toBe('2024-01-01T00:14:30.000Z');
        expect(forecast.interval_ms).toBe(15_000);
        // 24 hours of 15-second intervals, every 20th interval: 288 points 5 minutes apart.
        expect(forecast.points).toHaveLength(288);
        expect(forecast.points[0].ts).toBe('2024-01-01T00:19:30.000Z');
        expect(forecast.points[287].ts).toBe('2024-01-02T00:14:30.000Z');
        expect(forecast.points[0].lower).toBeLessThan(forecast.points[0].expected);
        expect(forecast.points[0].upper).toBeGreaterThan(forecast.points[0].expected);
    });

    it('should send forecasts once per interval of reading time', async () => {
        const { node, forecasts } = await load({ detector: 'forecast', window: '', threshold: '', hold: '', learn: '10m', forecastEvery: '15m' });
        const received = collect<ForecastPayload>(forecasts, 2);

        node.receive({ payload: ramp(0, 900) });
        // The last interval moves 10 minutes on: no forecast.
        node.receive({ payload: ramp(900, 1500) });
        // Then 15 minutes after the first forecast: the second one.
        node.receive({ payload: ramp(1500, 1800) });
        const [first, second] = await received;

        expect(first.generated_at).toBe('2024-01-01T00:14:30.000Z');
        expect(second.generated_at).toBe('2024-01-01T00:29:30.000Z');
    });

    it('should report an invalid forecast interval at deploy', async () => {
        await load({ detector: 'forecast', forecastEvery: 'often' });
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toContain('Forecast every "often" is invalid');
    });
});
