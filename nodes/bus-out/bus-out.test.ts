import { createRequire } from 'node:module';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import busNode from '../bus/bus';
import busInNode from '../bus-in/bus-in';
import busOutNode, { keyedParts } from './bus-out';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

const flow = [
    { id: 'bus-1', type: 'ul-bus', transport: 'memory', busName: 'bus-out-test' },
    { id: 'out-1', type: 'ul-bus-out', bus: 'bus-1', topic: 'telemetry.clean' },
    { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['sink']] },
    { id: 'sink', type: 'helper' },
];

describe('ul-bus-out', () => {
    it('should deliver payload keyed by asset', async () => {
        await helper.load([busNode, busInNode, busOutNode], flow);
        const received = new Promise<Record<string, unknown>>((resolve) => {
            helper.getNode('sink').on('input', resolve);
        });

        helper.getNode('out-1').receive({ payload: [{ asset_id: 'well-7', metric: 'oil_rate', value: 1 }] });
        const msg = await received;

        expect(msg.topic).toBe('telemetry.clean');
        expect(msg.key).toBe('well-7');
        expect(msg.payload).toEqual([{ asset_id: 'well-7', metric: 'oil_rate', value: 1 }]);
    });

    it('should split readings by asset', async () => {
        await helper.load([busNode, busInNode, busOutNode], flow);
        const received: Record<string, unknown>[] = [];
        helper.getNode('sink').on('input', (msg: Record<string, unknown>) => received.push(msg));
        const out = helper.getNode('out-1');

        out.receive({ payload: [
            { asset_id: 'well-1', metric: 'oil_rate', value: 1 },
            { asset_id: 'well-2', metric: 'oil_rate', value: 2 },
            { asset_id: 'well-1', metric: 'gas_rate', value: 3 },
        ] });
        for (let wait = 0; received.length < 2 && wait < 100; wait++) await new Promise((resolve) => setTimeout(resolve, 10));

        expect(received.map((msg) => [msg.key, (msg.payload as { value: number }[]).map((r) => r.value)])).toEqual([
            ['well-1', [1, 3]],
            ['well-2', [2]],
        ]);
    });

    it('should fail the message when the bus cannot publish', async () => {
        await helper.load([busNode, busOutNode], [
            { id: 'bus-1', type: 'ul-bus', transport: 'kafak' },
            { id: 'out-3', type: 'ul-bus-out', bus: 'bus-1', topic: 'telemetry.clean' },
        ]);
        const out = helper.getNode('out-3');
        const failed = new Promise<unknown[]>((resolve) => out.on('call:error', (call: { args: unknown[] }) => resolve(call.args)));
        out.receive({ payload: [{ asset_id: 'well-7' }] });
        const [error] = await failed;

        expect(String(error)).toContain("Bus transport 'kafak' is unknown");
        expect(out.status.lastCall.args[0]).toEqual({ fill: 'red', shape: 'ring', text: 'ul-bus-out.status.publish-failed' });
    });

    it('should report a missing topic at deploy', async () => {
        await helper.load([busNode, busOutNode], [
            { id: 'bus-1', type: 'ul-bus', transport: 'memory' },
            { id: 'out-2', type: 'ul-bus-out', bus: 'bus-1', topic: '' },
        ]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors.length).toBe(1);
    });
});

describe('keyedParts', () => {
    it('should key everything by msg.key', () => {
        expect(keyedParts({ key: 'pad-3', payload: [{ asset_id: 'well-1' }, { asset_id: 'well-2' }] })).toEqual([
            { key: 'pad-3', value: [{ asset_id: 'well-1' }, { asset_id: 'well-2' }] },
        ]);
    });

    it('should keep one asset whole', () => {
        const payload = [{ asset_id: 'well-1', n: 1 }, { asset_id: 'well-1', n: 2 }];
        const [part] = keyedParts({ payload });
        expect(part.key).toBe('well-1');
        expect(part.value).toBe(payload);
    });

    it('should attach assetless items to the previous', () => {
        expect(keyedParts({ payload: [{ asset_id: 'well-1' }, { asset_id: 'well-2' }, { note: 'x' }] })).toEqual([
            { key: 'well-1', value: [{ asset_id: 'well-1' }] },
            { key: 'well-2', value: [{ asset_id: 'well-2' }, { note: 'x' }] },
        ]);
    });

    it('should key other payloads', () => {
        expect(keyedParts({ payload: { asset_id: 'well-9', severity: 'P1' } })).toEqual([{ key: 'well-9', value: { asset_id: 'well-9', severity: 'P1' } }]);
        expect(keyedParts({ topic: 'ops/pad-1', payload: 'text' })).toEqual([{ key: 'ops/pad-1', value: 'text' }]);
        expect(keyedParts({ topic: 'ops/pad-1', payload: [1, 2] })).toEqual([{ key: 'ops/pad-1', value: [1, 2] }]);
        expect(keyedParts({ payload: 7 })).toEqual([{ key: '', value: 7 }]);
    });
});
