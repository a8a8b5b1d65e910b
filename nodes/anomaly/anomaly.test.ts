import { createRequire } from 'node:module';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

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

async function load(config: Record<string, unknown>): Promise<{ node: TestNode; alerts: TestNode; rejected: TestNode }> {
    await helper.load([anomalyNode], [
        { id: 'anomaly-1', type: 'ul-anomaly', detector: 'mad', learn: '60', window: '10m', threshold: '10', hold: '3', ...config, wires: [['alerts'], ['rejected']] },
        { id: 'alerts', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ]);
    return { node: helper.getNode('anomaly-1'), alerts: helper.getNode('alerts'), rejected: helper.getNode('rejected') };
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
});
