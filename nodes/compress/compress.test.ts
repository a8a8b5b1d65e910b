import { createRequire } from 'node:module';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Reading, Rejection } from '../../lib/types';
import replayNode from '../replay/replay';
import tagMapNode from '../tag-map/tag-map';
import compressNode from './compress';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const PSI_PA = 6894.757293168;
const FILE = 'petrobras-3w/6/WELL-00004_20171031193025.csv';

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

function collect(id: string): Record<string, unknown>[] {
    const messages: Record<string, unknown>[] = [];
    helper.getNode(id).on('input', (msg: Record<string, unknown>) => messages.push(msg));
    return messages;
}

/** Waits through event-loop turns until the condition holds; message delivery takes one turn per hop. */
async function until(condition: () => boolean): Promise<void> {
    for (let turn = 0; turn < 10_000 && !condition(); turn++) await new Promise((resolve) => setImmediate(resolve));
    if (!condition()) throw new Error('condition not reached within 10,000 event-loop turns');
}

function nextMessage(id: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

/** Largest difference between each reading and linear interpolation between the archived ones of its metric. */
function maxError(original: Reading[], archived: Reading[], metric: string): number {
    const points = archived.filter((r) => r.metric === metric).map((r) => ({ t: Date.parse(r.ts), v: r.value as number }));
    let worst = 0;
    let j = 0;
    for (const reading of original.filter((r) => r.metric === metric)) {
        const t = Date.parse(reading.ts);
        while (j + 1 < points.length && points[j + 1].t <= t) j++;
        const [before, after] = [points[j], points[j + 1]];
        const estimate = before.t === t ? before.v : before.v + ((after.v - before.v) * (t - before.t)) / (after.t - before.t);
        worst = Math.max(worst, Math.abs(estimate - (reading.value as number)));
    }
    return worst;
}

const sinks = [
    { id: 'mapped', type: 'helper' },
    { id: 'archived', type: 'helper' },
    { id: 'rejected', type: 'helper' },
    { id: 'done', type: 'helper' },
];

describe('ul-compress with replay and tag map', () => {
    it('should compress a real 3W file within the configured error', async () => {
        await helper.load([replayNode, tagMapNode, compressNode], [
            { id: 'replay-1', type: 'ul-replay', file: FILE, speed: '1e9', timestamps: 'original', autostart: true, loop: false, startRow: '', endRow: '', wires: [['map-1'], ['done'], []] },
            { id: 'map-1', type: 'ul-tag-map', assetId: '3w-well-00004', operator: 'petrobras', preset: '3w', map: '[]', ignore: 'class', wires: [['compress-1', 'mapped'], []] },
            { id: 'compress-1', type: 'ul-compress', maxErrors: '{"pressure_tpt": 5, "temp_tpt": {"percent": 0.5, "span": 20}}', defaultPercent: 0.5, deadband: 0, heartbeat: 60, wires: [['archived'], ['rejected']] },
            ...sinks,
        ]);
        const mapped = collect('mapped');
        const archived = collect('archived');
        const summary = (await nextMessage('done')).payload as { rows: number };
        await until(() => mapped.length === summary.rows);
        const before = archived.length;
        helper.getNode('compress-1').receive({ flush: true });
        await until(() => archived.length > before);

        const original = mapped.flatMap((msg) => msg.payload as Reading[]);
        const kept = archived.flatMap((msg) => msg.payload as Reading[]);
        expect(archived.every((msg) => msg.topic === '3w-well-00004' && msg.operator === 'petrobras')).toBe(true);
        expect(kept.length).toBeGreaterThan(0);
        expect(original.length / kept.length).toBeGreaterThan(5);
        // 5 psi and 0.5 % of 20 degC; other metrics get 0.5 % of their catalogue range.
        expect(maxError(original, kept, 'pressure_tpt')).toBeLessThanOrEqual(5 * PSI_PA);
        expect(maxError(original, kept, 'temp_tpt')).toBeLessThanOrEqual(0.1);
        expect(maxError(original, kept, 'temp_downstream_choke')).toBeLessThanOrEqual(1.5);
        expect(maxError(original, kept, 'pressure_upstream_choke')).toBeLessThanOrEqual(100 * PSI_PA);
        const last = original[original.length - 1];
        expect(kept.some((r) => r.metric === last.metric && r.ts === last.ts)).toBe(true);
    });
});

describe('ul-compress messages', () => {
    const flow = [{ id: 'compress-1', type: 'ul-compress', maxErrors: '{}', defaultPercent: 0.5, deadband: 0, heartbeat: 0, wires: [['archived'], ['rejected']] }, ...sinks];
    const reading = (ts: string, value: unknown): Record<string, unknown> => ({ asset_id: 'w1', metric: 'temp_tpt', value, unit: 'degC', ts, quality_flag: 'GOOD' });

    it('should send nothing while a series stays in its door', async () => {
        await helper.load([compressNode], flow);
        const archived = collect('archived');
        const node = helper.getNode('compress-1');
        node.receive({ payload: [reading('2024-01-01T00:00:00Z', 50)] });
        node.receive({ payload: [reading('2024-01-01T00:00:01Z', 50.1)] });
        node.receive({ payload: [reading('2024-01-01T00:00:02Z', 50.2)] });
        await new Promise((resolve) => setImmediate(resolve));

        expect(archived.map((msg) => (msg.payload as Reading[]).map((r) => r.value))).toEqual([[50]]);
    });

    it('should reject invalid readings and keep valid ones', async () => {
        await helper.load([compressNode], flow);
        const rejected = nextMessage('rejected');
        const archived = nextMessage('archived');
        helper.getNode('compress-1').receive({ topic: 'w1', payload: [reading('2024-01-01T00:00:00Z', 'high'), reading('2024-01-01T00:00:00Z', 50)] });

        expect(((await archived).payload as Reading[]).map((r) => r.value)).toEqual([50]);
        const rejections = (await rejected).payload as Rejection[];
        expect(rejections.map((r) => [r.code, r.field, r.value])).toEqual([['invalid_value', 'value', 'high']]);
    });

    it('should reject a payload that is not an array', async () => {
        await helper.load([compressNode], flow);
        const rejected = nextMessage('rejected');
        helper.getNode('compress-1').receive({ payload: { value: 1 } });

        expect(((await rejected).payload as Rejection[])[0].code).toBe('invalid_input');
    });

    it('should send pending readings on close', async () => {
        await helper.load([compressNode], flow);
        const archived = collect('archived');
        const node = helper.getNode('compress-1');
        node.receive({ payload: [reading('2024-01-01T00:00:00Z', 50), reading('2024-01-01T00:00:01Z', 50)] });
        await new Promise((resolve) => setImmediate(resolve));
        await node.close();
        await new Promise((resolve) => setImmediate(resolve));

        expect(archived.flatMap((msg) => (msg.payload as Reading[]).map((r) => r.ts))).toEqual(['2024-01-01T00:00:00Z', '2024-01-01T00:00:01Z']);
    });

    it('should report invalid settings at deploy', async () => {
        await helper.load([compressNode], [{ id: 'compress-1', type: 'ul-compress', maxErrors: '{"pressure": 1}', defaultPercent: 0.5, deadband: 0, heartbeat: 60 }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors.length).toBe(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toMatch(/unknown metric "pressure"/);
    });
});
