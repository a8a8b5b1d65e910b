import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { NodeAPI, NodeMessage } from 'node-red';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { carryDelivery, deliveryOf, type Delivery } from '../../lib/bus/delivery';
import { sharedMemoryBus } from '../../lib/bus/memory';
import type { BusHandler } from '../../lib/bus/transport';
import { metricValue } from '../../lib/observability/counters';
import busNode from '../bus/bus';
import busOutNode from '../bus-out/bus-out';
import rulesNode from '../rules/rules';
import busInNode from './bus-in';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
// The helper's node API has no RED.hooks, so the tests pass in the runtime's own hooks registry.
const { hooks } = require('@node-red/util') as { hooks: NodeAPI['hooks'] };

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

interface ReceivedMessage {
    msg: NodeMessage;
    done: (err?: Error) => void;
}

/**
 * Registers two test node types. `test-sink` keeps each message until the test calls its done.
 * `test-copy` records its input and sends a new message, with the input's delivery when `carry` is set.
 */
function testNodes(received: Map<string, ReceivedMessage[]>) {
    return (RED: NodeAPI): void => {
        RED.nodes.registerType('test-sink', function (this: { id: string; on: (event: string, handler: unknown) => void }, config: never) {
            RED.nodes.createNode(this as never, config);
            const id = this.id;
            this.on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
                const list = received.get(id) ?? [];
                list.push({ msg, done });
                received.set(id, list);
            });
        } as never);
        RED.nodes.registerType('test-copy', function (this: { id: string; on: (event: string, handler: unknown) => void }, config: { carry: boolean }) {
            RED.nodes.createNode(this as never, config as never);
            const id = this.id;
            this.on('input', (msg: NodeMessage, send: (msg: NodeMessage) => void, done: () => void) => {
                received.set(id, [...(received.get(id) ?? []), { msg, done: () => undefined }]);
                const copy: NodeMessage = { topic: 'copy', payload: msg.payload };
                send(config.carry ? carryDelivery(msg, copy) : copy);
                done();
            });
        } as never);
    };
}

// The helper's RED._ returns the message key; this one fills in the English text, so tests read
// the messages users see.
const catalogue = { ...require('./locales/en-US/bus-in.json'), ...require('../bus-out/locales/en-US/bus-out.json') } as Record<string, unknown>;

function translate(key: string, substitutions: Record<string, unknown> = {}): string {
    const text = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], catalogue);
    if (typeof text !== 'string') return key;
    return text.replace(/__(\w+)__/g, (_whole, name: string) => String(substitutions[name]));
}

function withRuntime(register: (RED: NodeAPI) => void) {
    return (RED: NodeAPI): void => {
        (RED as { hooks: NodeAPI['hooks'] }).hooks = hooks;
        (RED as unknown as { _: typeof translate })._ = translate;
        register(RED);
    };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
    const started = Date.now();
    while (!check()) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
}

function hasReceived(received: Map<string, ReceivedMessage[]>, id: string, count = 1): () => boolean {
    return () => (received.get(id)?.length ?? 0) >= count;
}

function deliveryIn(received: Map<string, ReceivedMessage[]>, id: string, index = 0): Delivery {
    const delivery = deliveryOf(received.get(id)?.[index].msg);
    if (!delivery) throw new Error(`message ${index} at ${id} carries no delivery`);
    return delivery;
}

let busCount = 0;

/** Loads the flow on a fresh memory bus; `handlers` collects the subscribers the bus-in nodes register. */
async function load(
    received: Map<string, ReceivedMessage[]>,
    nodes: object[],
    busExtra: object = {},
    extraTypes: ((RED: NodeAPI) => void)[] = [],
): Promise<{ busName: string; handlers: BusHandler[] }> {
    busCount += 1;
    const busName = `bus-in-test-${busCount}`;
    const bus = sharedMemoryBus(busName);
    const subscribe = bus.subscribe.bind(bus);
    const handlers: BusHandler[] = [];
    bus.subscribe = (topic, handler, options) => {
        handlers.push(handler);
        return subscribe(topic, handler, options);
    };
    await helper.load([busNode, withRuntime(busInNode), busOutNode, testNodes(received), ...extraTypes], [
        { id: 'bus-1', type: 'ul-bus', transport: 'memory', busName, ...busExtra },
        ...nodes,
    ]);
    return { busName, handlers };
}

describe('ul-bus-in', () => {
    it('should emit topic, key and payload', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        void sharedMemoryBus(busName).publish('telemetry.clean', 'well-7', [{ asset_id: 'well-7', metric: 'oil_rate', value: 1 }]).catch(() => undefined);
        await waitFor(hasReceived(received, 'sink-1'), 'the sink');

        const { msg } = (received.get('sink-1') ?? [])[0];
        expect(msg.topic).toBe('telemetry.clean');
        expect((msg as { key?: string }).key).toBe('well-7');
        expect(msg.payload).toEqual([{ asset_id: 'well-7', metric: 'oil_rate', value: 1 }]);
        // The memory transport has no partitions, so the message has no origin.
        expect(msg).not.toHaveProperty('bus');
    });

    it('should emit the Kafka origin on every wire', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { handlers } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['sink-1', 'sink-2']] },
            { id: 'sink-1', type: 'test-sink' },
            { id: 'sink-2', type: 'test-sink' },
        ]);
        void handlers[0]({ topic: 'telemetry.clean', key: 'well-7', value: [], partition: 5, offset: '42', epoch: 3 });
        await waitFor(() => hasReceived(received, 'sink-1')() && hasReceived(received, 'sink-2')(), 'both sinks');

        const first = received.get('sink-1')?.[0].msg;
        const second = received.get('sink-2')?.[0].msg;
        expect(first).toHaveProperty('bus', { partition: 5, epoch: 3 });
        // The second wire receives a clone, with its own copy of the origin.
        expect(second).toHaveProperty('bus', { partition: 5, epoch: 3 });
        expect(second).not.toBe(first);
    });

    it('should carry the epoch to the rules node', async () => {
        // As in flows/cloud.json, where bus-in of telemetry.clean is wired straight to the rules.
        const rulesFile = join(mkdtempSync(join(tmpdir(), 'ul-bus-in-rules-')), 'rules.yaml');
        writeFileSync(rulesFile, [
            'version: 1',
            'rules:',
            '  - id: tpt-high',
            '    description: TPT pressure above the limit.',
            '    severity: P1',
            '    runbook: docs/runbooks/tpt-high.md',
            '    message: "{asset_id}: {metric} at {value} {unit}"',
            '    scope: { metrics: [pressure_tpt] }',
            '    kind: threshold',
            '    above: 100',
            '    hold: 0s',
            '    clear_hysteresis: 0',
            '',
        ].join('\n'));
        const rebuiltBefore: string[] = [];
        helper.settings({
            upstreamLive: {
                listAssets: async () => [],
                readingsBetween: async (_assetId: string, _from: string, to: string) => {
                    rebuiltBefore.push(to);
                    return [];
                },
                unresolvedEvents: async () => [],
            },
        });
        const received = new Map<string, ReceivedMessage[]>();
        const { handlers } = await load(
            received,
            [
                { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['rules-1']] },
                { id: 'rules-1', type: 'ul-rules', rulesFile, wires: [[], []] },
            ],
            {},
            [rulesNode],
        );
        const reading = (seconds: number) => ({ asset_id: 'well-7', metric: 'pressure_tpt', value: 50, unit: 'psi', ts: new Date(Date.UTC(2024, 0, 1, 0, 0, seconds)).toISOString() });
        const message = (seconds: number, epoch: number) => ({ topic: 'telemetry.clean', key: 'well-7', value: [reading(seconds)], partition: 1, offset: String(seconds), epoch });
        await handlers[0](message(0, 1));
        await handlers[0](message(1, 1));
        await handlers[0](message(2, 4));

        // The first message and the first one under the new epoch rebuild the asset from the store.
        expect(rebuiltBefore).toEqual([reading(0).ts, reading(2).ts]);
    });

    it('should settle after every wired node', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['sink-1', 'sink-2']] },
            { id: 'sink-1', type: 'test-sink' },
            { id: 'sink-2', type: 'test-sink' },
        ]);
        void sharedMemoryBus(busName).publish('telemetry.clean', 'well-7', []).catch(() => undefined);
        await waitFor(() => hasReceived(received, 'sink-1')() && hasReceived(received, 'sink-2')(), 'both sinks');

        const delivery = deliveryIn(received, 'sink-1');
        // The second wire receives a clone that reaches the same delivery.
        expect(deliveryIn(received, 'sink-2')).toBe(delivery);
        expect(received.get('sink-2')?.[0].msg).not.toBe(received.get('sink-1')?.[0].msg);

        received.get('sink-1')?.[0].done();
        expect(delivery.state).toBe('pending');
        received.get('sink-2')?.[0].done();
        expect(delivery.state).toBe('settled');
    });

    it('should follow passed-on messages', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['copy-1']] },
            { id: 'copy-1', type: 'test-copy', carry: true, wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        void sharedMemoryBus(busName).publish('telemetry.clean', 'well-7', []).catch(() => undefined);
        await waitFor(hasReceived(received, 'sink-1'), 'the sink');

        const delivery = deliveryIn(received, 'sink-1');
        expect(delivery.state).toBe('pending');
        received.get('sink-1')?.[0].done();
        expect(delivery.state).toBe('settled');
    });

    it('should settle when a copy drops it', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['copy-1']] },
            { id: 'copy-1', type: 'test-copy', carry: false, wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        void sharedMemoryBus(busName).publish('telemetry.clean', 'well-7', []).catch(() => undefined);
        await waitFor(hasReceived(received, 'sink-1'), 'the sink');

        expect(deliveryOf(received.get('sink-1')?.[0].msg)).toBeUndefined();
        expect(deliveryIn(received, 'copy-1').state).toBe('settled');
    });

    it('should fail on done with an error', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'events.alerts', wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        const failedBefore = metricValue('ul_bus_failed_deliveries_total', { topic: 'events.alerts' }) ?? 0;
        void sharedMemoryBus(busName).publish('events.alerts', 'well-7', { event_id: 'e-1' }).catch(() => undefined);
        await waitFor(hasReceived(received, 'sink-1'), 'the sink');

        const delivery = deliveryIn(received, 'sink-1');
        received.get('sink-1')?.[0].done(new Error('store unreachable'));
        expect(delivery.state).toBe('failed');

        const warnings = helper.log().args.filter((call: unknown[]) => {
            const entry = call[0] as { level: number; id?: string; msg?: unknown };
            return entry.level === 30 && entry.id === 'in-1';
        });
        expect(warnings).toHaveLength(1);
        expect(String(warnings[0][0].msg)).toContain('Handling message events.alerts (key well-7) failed: store unreachable');
        expect(metricValue('ul_bus_failed_deliveries_total', { topic: 'events.alerts' })).toBe(failedBefore + 1);
    });

    it('should settle at once when unwired', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { handlers } = await load(received, [{ id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [[]] }]);
        const outcome = handlers[0]({ topic: 'telemetry.clean', key: 'well-7', value: [] });

        expect(handlers).toHaveLength(1);
        await expect(outcome).resolves.toBeUndefined();
    });

    it('should resolve the handler once settled', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { handlers } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        let settled = false;
        const outcome = Promise.resolve(handlers[0]({ topic: 'telemetry.clean', key: 'well-7', value: [] })).then(() => {
            settled = true;
        });
        await waitFor(hasReceived(received, 'sink-1'), 'the sink');
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(settled).toBe(false);

        received.get('sink-1')?.[0].done();
        await outcome;
        expect(settled).toBe(true);
    });

    it('should reject the handler on failure', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { handlers } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        const outcome = Promise.resolve(handlers[0]({ topic: 'telemetry.clean', key: 'well-7', value: [] })).then(() => 'settled', (error: Error) => error.message);
        await waitFor(hasReceived(received, 'sink-1'), 'the sink');
        received.get('sink-1')?.[0].done(new Error('write failed'));

        expect(await outcome).toBe('write failed');
    });

    it('should report an overdue delivery once', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const overdueBefore = metricValue('ul_bus_overdue_deliveries_total', { topic: 'telemetry.raw' }) ?? 0;
        const { busName } = await load(
            received,
            [
                { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.raw', wires: [['sink-1']] },
                { id: 'sink-1', type: 'test-sink' },
            ],
            { settleTimeout: '1' },
        );
        void sharedMemoryBus(busName).publish('telemetry.raw', 'well-9', []).catch(() => undefined);
        await waitFor(() => metricValue('ul_bus_overdue_deliveries_total', { topic: 'telemetry.raw' }) === overdueBefore + 1, 'the overdue report', 3_000);
        await new Promise((resolve) => setTimeout(resolve, 600));

        const warnings = helper.log().args.filter((call: unknown[]) => {
            const entry = call[0] as { level: number; id?: string };
            return entry.level === 30 && entry.id === 'in-1';
        });
        expect(warnings).toHaveLength(1);
        expect(String(warnings[0][0].msg)).toContain('Message telemetry.raw (key well-9) is not settled after 1 s');
        expect(deliveryIn(received, 'sink-1').state).toBe('pending');
    });

    it('should track broadcast without blocking', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'events.alerts', mode: 'broadcast', wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        // The sink has not called done(), and the publish resolves all the same.
        await sharedMemoryBus(busName).publish('events.alerts', 'well-7', { event_id: 'e-2' });
        await waitFor(hasReceived(received, 'sink-1'), 'the sink');

        const delivery = deliveryIn(received, 'sink-1');
        expect(delivery.state).toBe('pending');
        received.get('sink-1')?.[0].done();
        expect(delivery.state).toBe('settled');
    });

    it('should share one message across wires', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { handlers } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', mode: 'broadcast', shareMessage: true, wires: [['sink-1', 'sink-2']] },
            { id: 'sink-1', type: 'test-sink' },
            { id: 'sink-2', type: 'test-sink' },
        ]);
        void handlers[0]({ topic: 'telemetry.clean', key: 'well-7', value: [{ asset_id: 'well-7' }], partition: 1, offset: '3', epoch: 1 });
        await waitFor(() => hasReceived(received, 'sink-1')() && hasReceived(received, 'sink-2')(), 'both sinks');

        const first = received.get('sink-1')?.[0];
        const second = received.get('sink-2')?.[0];
        expect(second?.msg).toBe(first?.msg);
        // One object, two wires: the delivery settles after both sinks are done.
        const delivery = deliveryIn(received, 'sink-1');
        first?.done();
        expect(delivery.state).toBe('pending');
        second?.done();
        expect(delivery.state).toBe('settled');
    });

    it('should settle after the bus-out publish', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.raw', wires: [['out-1', 'sink-1']] },
            { id: 'out-1', type: 'ul-bus-out', bus: 'bus-1', topic: 'telemetry.clean' },
            { id: 'in-2', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', mode: 'broadcast', wires: [['sink-2']] },
            { id: 'sink-1', type: 'test-sink' },
            { id: 'sink-2', type: 'test-sink' },
        ]);
        void sharedMemoryBus(busName).publish('telemetry.raw', 'well-7', [{ asset_id: 'well-7' }]).catch(() => undefined);
        await waitFor(() => hasReceived(received, 'sink-1')() && hasReceived(received, 'sink-2')(), 'both sinks');

        const delivery = deliveryIn(received, 'sink-1');
        expect(received.get('sink-2')?.[0].msg.payload).toEqual([{ asset_id: 'well-7' }]);
        await waitFor(() => delivery.pendingReferences === 1, 'the bus-out done');
        received.get('sink-1')?.[0].done();
        expect(delivery.state).toBe('settled');
    });

    it('should report an unknown mode', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        await load(received, [{ id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', mode: 'fanout', wires: [[]] }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String(errors[0][0].msg)).toBe('Mode "fanout" is unknown; choose shared or broadcast.');
    });

    it('should show invalid bus settings', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        await load(received, [{ id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', wires: [[]] }], { transport: 'kafak' });
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);
        const statusCalls = helper.getNode('in-1').status.args.map((call: unknown[]) => call[0]);

        expect(errors).toHaveLength(1);
        expect(String(errors[0][0].msg)).toContain("Bus transport 'kafak' is unknown");
        expect(statusCalls).toContainEqual({ fill: 'red', shape: 'ring', text: 'telemetry.clean: invalid bus settings' });
    });

    it('should not subscribe when switched off', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { busName, handlers } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', mode: 'broadcast', active: 'false', wires: [['sink-1']] },
            { id: 'in-2', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', mode: 'broadcast', active: '', wires: [['sink-2']] },
            { id: 'sink-1', type: 'test-sink' },
            { id: 'sink-2', type: 'test-sink' },
        ]);
        void sharedMemoryBus(busName).publish('telemetry.clean', 'well-7', [{ asset_id: 'well-7', metric: 'oil_rate', value: 1 }]).catch(() => undefined);
        await waitFor(hasReceived(received, 'sink-2'), 'the active node');
        await new Promise((resolve) => setTimeout(resolve, 20));

        expect(handlers).toHaveLength(1);
        expect(received.get('sink-1') ?? []).toEqual([]);
        const statusCalls = helper.getNode('in-1').status.args.map((call: unknown[]) => call[0]);
        expect(statusCalls).toContainEqual({ fill: 'grey', shape: 'ring', text: 'off: telemetry.clean' });
    });

    it('should report an unreadable active setting', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        await load(received, [{ id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', active: 'sometimes', wires: [[]] }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String(errors[0][0].msg)).toBe('Active is "sometimes"; enter true or false, or an environment variable such as ${UL_DASHBOARD_FEED} that contains one of them.');
    });

    it("should combine a partition's messages", async () => {
        const received = new Map<string, ReceivedMessage[]>();
        const { handlers } = await load(received, [
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', combine: '500', wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        let settled = 0;
        const outcomes = [
            handlers[0]({ topic: 'telemetry.clean', key: 'well-1', value: [{ asset_id: 'well-1', value: 1 }], partition: 2, offset: '40', epoch: 1 }),
            handlers[0]({ topic: 'telemetry.clean', key: 'well-2', value: [{ asset_id: 'well-2', value: 2 }], partition: 2, offset: '41', epoch: 1 }),
            handlers[0]({ topic: 'telemetry.clean', key: 'well-3', value: [{ asset_id: 'well-3', value: 3 }], partition: 4, offset: '7', epoch: 1 }),
        ];
        for (const outcome of outcomes) void outcome?.then(() => settled++);
        await waitFor(hasReceived(received, 'sink-1', 2), 'two combined messages');

        const [first, second] = received.get('sink-1') ?? [];
        expect(first.msg.payload).toEqual([{ asset_id: 'well-1', value: 1 }, { asset_id: 'well-2', value: 2 }]);
        expect(first.msg).toHaveProperty('key', '');
        expect(first.msg).toHaveProperty('bus', { partition: 2, epoch: 1 });
        expect(deliveryIn(received, 'sink-1', 0).info).toEqual({ topic: 'telemetry.clean', key: '', partition: 2, offset: '40', count: 2 });
        expect(second.msg.payload).toEqual([{ asset_id: 'well-3', value: 3 }]);
        expect(second.msg).toHaveProperty('key', 'well-3');

        first.done();
        await waitFor(() => settled === 2, 'both parts of the first message to settle');
        second.done();
        await waitFor(() => settled === 3, 'the third message to settle');
    });

    it('should combine memory bus messages', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        await load(received, [
            { id: 'out-1', type: 'ul-bus-out', bus: 'bus-1', topic: 'telemetry.clean' },
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', combine: '500', wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        helper.getNode('out-1').receive({ payload: [
            { asset_id: 'well-1', metric: 'oil_rate', value: 1 },
            { asset_id: 'well-2', metric: 'oil_rate', value: 2 },
            { asset_id: 'well-1', metric: 'gas_rate', value: 3 },
        ] });
        await waitFor(hasReceived(received, 'sink-1'), 'the combined message');
        await new Promise((resolve) => setTimeout(resolve, 20));

        const messages = received.get('sink-1') ?? [];
        expect(messages).toHaveLength(1);
        // Published per asset by the bus-out, combined again in publish order.
        expect((messages[0].msg.payload as { value: number }[]).map((r) => r.value)).toEqual([1, 3, 2]);
    });

    it('should report an invalid combine', async () => {
        const received = new Map<string, ReceivedMessage[]>();
        await load(received, [{ id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic: 'telemetry.clean', combine: '0', wires: [[]] }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String(errors[0][0].msg)).toBe('Combine is "0"; enter a whole number from 1 (one message per bus message) to 10000.');
    });
});
