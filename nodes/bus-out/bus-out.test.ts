import { createRequire } from 'node:module';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import busNode from '../bus/bus';
import busInNode from '../bus-in/bus-in';
import busOutNode from './bus-out';

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
