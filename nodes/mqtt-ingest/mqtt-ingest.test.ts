import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { NodeAPI, NodeMessage } from 'node-red';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { drain } from '../../lib/drain';
import { ServiceError } from '../../lib/errors';
import { subscriptionRecordPath } from '../../lib/mqtt/subscription-record';
import { metricValue } from '../../lib/observability/counters';
import type { Rejection } from '../../lib/types';
import mqttIngestNode, { subscriptionTopics } from './mqtt-ingest';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
const mqtt = require('mqtt') as typeof import('mqtt');
// The helper's node API has no RED.hooks, so the tests pass in the runtime's own hooks registry.
const { hooks } = require('@node-red/util') as { hooks: NodeAPI['hooks'] };

interface BrokerClient {
    id: string;
    close(done?: () => void): void;
}

let server: Server;
let brokerUrl: string;
let closeBroker: () => Promise<void>;
let brokerClients: Record<string, BrokerClient>;
const subscribed = new Set<string>();
/** Payloads of the QoS 1 messages each client acknowledged, in the order of their PUBACKs. */
const acknowledged = new Map<string, string[]>();

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    broker.on('subscribe', (_subscriptions, client) => subscribed.add(client.id));
    broker.on('clientDisconnect', (client) => subscribed.delete(client.id));
    broker.on('ack', (packet, client) => {
        if (!client || !packet || !('payload' in packet)) return;
        acknowledged.set(client.id, [...(acknowledged.get(client.id) ?? []), String(packet.payload)]);
    });
    brokerClients = (broker as unknown as { clients: Record<string, BrokerClient> }).clients;
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    brokerUrl = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
    closeBroker = async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
    };
});

afterAll(async () => {
    await closeBroker();
});

afterEach(async () => {
    await helper.unload();
});

// The helper's RED._ returns the message key; this one fills in the English text, so tests read
// the messages users see.
const catalogue = require('./locales/en-US/mqtt-ingest.json') as Record<string, unknown>;

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

interface HeldMessage {
    msg: NodeMessage & { topic: string; payload: string };
    done: (err?: Error) => void;
}

/** Registers `test-sink`, which keeps each message and its done() in the list named by its node id. */
function sinkNode(lists: Record<string, HeldMessage[]>) {
    return (RED: NodeAPI): void => {
        RED.nodes.registerType('test-sink', function (this: { id: string; on: (event: string, handler: unknown) => void }, config: never) {
            RED.nodes.createNode(this as never, config);
            const list = lists[this.id];
            this.on('input', (msg: HeldMessage['msg'], _send: unknown, done: HeldMessage['done']) => {
                list.push({ msg, done });
            });
        } as never);
    };
}

let testCount = 0;

/** Returns a client id and topics of their own for each test, because the broker keeps every persistent session. */
function names() {
    testCount += 1;
    return { clientId: `test-ingest-${testCount}`, topicFilter: `ops/test-${testCount}/+/readings`, topic: `ops/test-${testCount}/well-1/readings` };
}

type Names = ReturnType<typeof names>;

function ingestNode(ids: Names, overrides: Record<string, unknown> = {}) {
    return { id: 'in-1', type: 'ul-mqtt-ingest', broker: brokerUrl, clientId: ids.clientId, topics: ids.topicFilter, qos: '1', group: '', ...overrides };
}

/** Loads the ingest node with a holding sink on each output; returns the first output's messages. */
async function load(ids: Names, overrides: Record<string, unknown> = {}, rejected: HeldMessage[] = []): Promise<HeldMessage[]> {
    const received: HeldMessage[] = [];
    await helper.load([withRuntime(mqttIngestNode), sinkNode({ sink: received, rejected })], [
        { ...ingestNode(ids, overrides), wires: [['sink'], ['rejected']] },
        { id: 'sink', type: 'test-sink' },
        { id: 'rejected', type: 'test-sink' },
    ]);
    await connected(ids.clientId);
    return received;
}

async function publish(topic: string, payloads: string[]): Promise<void> {
    const client = await mqtt.connectAsync(brokerUrl, { clientId: `pub-${testCount}-${Math.random().toString(16).slice(2)}` });
    for (const payload of payloads) await client.publishAsync(topic, payload, { qos: 1 });
    await client.endAsync();
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const started = Date.now();
    while (!check()) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

/** Waits until the test broker reports the node's client subscribed. */
async function connected(clientId: string): Promise<void> {
    await waitFor(() => subscribed.has(clientId), `${clientId} to subscribe`);
}

const acksOf = (clientId: string): string[] => acknowledged.get(clientId) ?? [];

/** Gives the broker time to receive a PUBACK that should not have been sent. */
async function pause(ms = 200): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
}

function warnings(): string[] {
    return helper.log().args
        .map((call: unknown[]) => call[0] as { level: number; msg: unknown })
        .filter((entry: { level: number }) => entry.level === 30)
        .map((entry: { msg: unknown }) => String(entry.msg));
}

describe('ul-mqtt-ingest', () => {
    it('should emit payload text and topic', async () => {
        const ids = names();
        const received = await load(ids);
        await publish(ids.topic, ['live-0', 'live-1', 'live-2']);
        await waitFor(() => received.length === 3, 'three messages');
        for (const message of received) message.done();

        expect(received.map((message) => message.msg.payload)).toEqual(['live-0', 'live-1', 'live-2']);
        expect(received[0].msg.topic).toBe(ids.topic);
        expect(received[0].msg.qos).toBe(1);
    });

    it('should receive what was published while stopped', async () => {
        const ids = names();
        const first = await load(ids);
        expect(first).toEqual([]);
        const drained = await drain({ timeoutMs: 2_000, quietMs: 50 });
        await helper.unload();
        await publish(ids.topic, Array.from({ length: 50 }, (_, index) => `queued-${index}`));

        const received = await load(ids);
        await waitFor(() => received.length === 50, '50 queued messages');
        for (const message of received) message.done();
        await waitFor(() => acksOf(ids.clientId).length === 50, '50 PUBACKs');

        expect(drained.drained).toBe(true);
        expect(received.map((message) => message.msg.payload)).toEqual(Array.from({ length: 50 }, (_, index) => `queued-${index}`));
    });

    it('should report a bad broker URL at deploy', async () => {
        await helper.load(mqttIngestNode, [{ ...ingestNode(names(), { broker: '127.0.0.1:1883' }), wires: [[]] }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toContain('bad-broker');
    });

    it('should report a bad max unacked at deploy', async () => {
        await helper.load(withRuntime(mqttIngestNode), [{ ...ingestNode(names(), { maxUnacked: '70000' }), wires: [[]] }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toContain('Max unacknowledged messages "70000" is invalid');
        expect(helper.getNode('in-1').status.lastCall.args[0]).toEqual({ fill: 'red', shape: 'ring', text: 'not configured' });
    });
});

describe('ul-mqtt-ingest acknowledgements', () => {
    it('should acknowledge only after the flow settles', async () => {
        const ids = names();
        const received = await load(ids);
        await publish(ids.topic, ['held']);
        await waitFor(() => received.length === 1, 'the message');
        await pause();
        expect(acksOf(ids.clientId)).toEqual([]);

        received[0].done();
        await waitFor(() => acksOf(ids.clientId).length === 1, 'the PUBACK');
        expect(acksOf(ids.clientId)).toEqual(['held']);
    });

    it('should acknowledge at once without wired nodes', async () => {
        const ids = names();
        await helper.load(withRuntime(mqttIngestNode), [{ ...ingestNode(ids), wires: [[]] }]);
        await connected(ids.clientId);
        await publish(ids.topic, ['unwired-0', 'unwired-1']);

        await waitFor(() => acksOf(ids.clientId).length === 2, 'two PUBACKs');
        expect(acksOf(ids.clientId)).toEqual(['unwired-0', 'unwired-1']);
    });

    it('should acknowledge in arrival order', async () => {
        const ids = names();
        const received = await load(ids);
        await publish(ids.topic, ['order-0', 'order-1', 'order-2']);
        await waitFor(() => received.length === 3, 'three messages');

        received[2].done();
        received[1].done();
        await pause();
        expect(acksOf(ids.clientId)).toEqual([]);

        received[0].done();
        await waitFor(() => acksOf(ids.clientId).length === 3, 'three PUBACKs');
        expect(acksOf(ids.clientId)).toEqual(['order-0', 'order-1', 'order-2']);
    });

    it('should redeliver unsettled messages after reconnect', async () => {
        const ids = names();
        const received = await load(ids);
        await publish(ids.topic, ['unsettled']);
        await waitFor(() => received.length === 1, 'the first delivery');

        subscribed.delete(ids.clientId);
        brokerClients[ids.clientId].close();
        await waitFor(() => received.length === 2, 'the delivery after the reconnect');
        expect(acksOf(ids.clientId)).toEqual([]);

        // The first copy settles late, on a connection that no longer exists: nothing is sent.
        received[0].done();
        await pause();
        expect(acksOf(ids.clientId)).toEqual([]);

        received[1].done();
        await waitFor(() => acksOf(ids.clientId).length === 1, 'the PUBACK');
        expect(received.map((message) => message.msg.payload)).toEqual(['unsettled', 'unsettled']);
        expect(acksOf(ids.clientId)).toEqual(['unsettled']);
    });

    it('should drop stale session subscriptions', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'ul-mqtt-ingest-'));
        const ids = names();
        const extraFilter = `ops/test-${testCount}/+/quarantine`;
        const extraTopic = `ops/test-${testCount}/well-1/quarantine`;
        /** Loads the node with `topics`, publishes one message on each topic, and returns what it emits. */
        const run = async (topics: string, recordIn?: string): Promise<string[]> => {
            helper.settings(recordIn ? { upstreamLive: { dataDir: recordIn } } : {});
            const received = await load(ids, { topics });
            await publish(ids.topic, ['readings']);
            await publish(extraTopic, ['quarantine']);
            await pause(300);
            for (const message of received) message.done();
            await drain({ timeoutMs: 2_000, quietMs: 50 });
            await helper.unload();
            subscribed.delete(ids.clientId);
            return received.map((message) => message.msg.payload);
        };
        try {
            expect(await run(`${ids.topicFilter},${extraFilter}`, dataDir)).toEqual(['readings', 'quarantine']);
            expect(JSON.parse(readFileSync(subscriptionRecordPath(dataDir, ids.clientId), 'utf8'))).toEqual({ topics: [ids.topicFilter, extraFilter] });

            // Without a record the broker's session keeps the dropped filter: the control.
            expect(await run(ids.topicFilter)).toEqual(['readings', 'quarantine']);
            // With it, the node unsubscribes the session from the dropped filter.
            expect(await run(ids.topicFilter, dataDir)).toEqual(['readings']);
            expect(await run(ids.topicFilter, dataDir)).toEqual(['readings']);
            expect(JSON.parse(readFileSync(subscriptionRecordPath(dataDir, ids.clientId), 'utf8'))).toEqual({ topics: [ids.topicFilter] });
        } finally {
            helper.settings({});
            rmSync(dataDir, { recursive: true, force: true });
        }
    });

    it('should keep the record across a reconnect', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'ul-mqtt-ingest-'));
        const ids = names();
        const recordPath = subscriptionRecordPath(dataDir, ids.clientId);
        helper.settings({ upstreamLive: { dataDir } });
        try {
            const received = await load(ids);
            await waitFor(() => existsSync(recordPath), 'the subscription record');
            const before = statSync(recordPath);

            const connects = (): string[] => helper.log().args
                .map((call: unknown[]) => String((call[0] as { msg: unknown }).msg))
                .filter((text: string) => text.startsWith('Connected to'));
            brokerClients[ids.clientId].close();
            await waitFor(() => connects().length === 2, 'the reconnect');
            // The subscribe callback, which updates the record, runs before this message arrives.
            await publish(ids.topic, ['after-reconnect']);
            await waitFor(() => received.some((message) => message.msg.payload === 'after-reconnect'), 'the message after the reconnect');
            for (const message of received) message.done();

            expect(connects()[1]).toContain('(resumed session)');
            const after = statSync(recordPath);
            expect(after.ino).toBe(before.ino);
            expect(after.mtimeMs).toBe(before.mtimeMs);
            expect(JSON.parse(readFileSync(recordPath, 'utf8'))).toEqual({ topics: [ids.topicFilter] });
        } finally {
            helper.settings({});
            rmSync(dataDir, { recursive: true, force: true });
        }
    });

    it('should redeliver after a service error', async () => {
        const ids = names();
        const received = await load(ids);
        await publish(ids.topic, ['bus-down']);
        await waitFor(() => received.length === 1, 'the first delivery');
        const failuresBefore = metricValue('ul_mqtt_failed_messages_total', { client_id: ids.clientId, outcome: 'redelivered' }) ?? 0;

        received[0].done(new ServiceError('Publishing to Kafka topics telemetry.raw failed: timeout', { retriable: true }));
        await waitFor(() => received.length === 2, 'the delivery after the reconnect');
        expect(acksOf(ids.clientId)).toEqual([]);
        received[1].done();
        await waitFor(() => acksOf(ids.clientId).length === 1, 'the PUBACK');

        expect(acksOf(ids.clientId)).toEqual(['bus-down']);
        expect(metricValue('ul_mqtt_failed_messages_total', { client_id: ids.clientId, outcome: 'redelivered' })).toBe(failuresBefore + 1);
        const logged = warnings().filter((text) => text.startsWith('Handling a message'));
        expect(logged).toEqual([`Handling a message on topic ${ids.topic} failed: Publishing to Kafka topics telemetry.raw failed: timeout. `
            + 'The node reconnects without acknowledging it, so the broker delivers it again.']);
        const badges = helper.getNode('in-1').status.args.map((call: { text?: string }[]) => call[0].text);
        expect(badges).toContain('handling failed; reconnecting');
        expect(badges[badges.length - 1]).toBe('connected');
    });

    it('should reject a permanent failure, then acknowledge', async () => {
        const ids = names();
        const rejected: HeldMessage[] = [];
        const received = await load(ids, {}, rejected);
        await publish(ids.topic, ['{not json', 'after']);
        await waitFor(() => received.length === 2, 'two messages');

        received[0].done(new Error('Unexpected token n in JSON at position 1'));
        received[1].done();
        await waitFor(() => rejected.length === 1, 'the rejection');
        await pause();
        expect(acksOf(ids.clientId)).toEqual([]);

        rejected[0].done();
        await waitFor(() => acksOf(ids.clientId).length === 2, 'two PUBACKs');
        const msg = rejected[0].msg as unknown as { topic: string; payload: Rejection[] };
        expect(msg.topic).toBe(ids.topic);
        expect(msg.payload).toHaveLength(1);
        expect(msg.payload[0].code).toBe('handling_failed');
        expect(msg.payload[0].source).toBe(`mqtt:${ids.topic}`);
        expect(msg.payload[0].payload).toBe('{not json');
        expect(msg.payload[0].reason).toContain('Unexpected token n in JSON at position 1');
        expect(acksOf(ids.clientId)).toEqual(['{not json', 'after']);
        expect(received).toHaveLength(2);
    });

    it('should reject an oversized message, then acknowledge', async () => {
        const ids = names();
        const rejected: HeldMessage[] = [];
        const received = await load(ids, { maxBytes: '100' }, rejected);
        const big = 'x'.repeat(2_000);
        await publish(ids.topic, [big, 'small']);
        await waitFor(() => received.length === 1 && rejected.length === 1, 'one message and one rejection');
        received[0].done();
        await pause();
        expect(acksOf(ids.clientId)).toEqual([]);

        rejected[0].done();
        await waitFor(() => acksOf(ids.clientId).length === 2, 'two PUBACKs');
        const rejection = (rejected[0].msg as unknown as { payload: Rejection[] }).payload[0];
        const summary = rejection.payload as { bytes: number; sha256: string; head: string };
        expect(rejection.code).toBe('message_too_large');
        expect(rejection.reason).toContain('2000 bytes, more than the limit of 100 bytes');
        expect(summary.bytes).toBe(2_000);
        expect(summary.sha256).toBe(createHash('sha256').update(big).digest('hex'));
        expect(summary.head).toBe('x'.repeat(1_024));
        expect(received[0].msg.payload).toBe('small');
        expect(warnings().some((text) => text.includes('2000 bytes'))).toBe(true);
    });

    it('should report a bad max bytes at deploy', async () => {
        await helper.load(withRuntime(mqttIngestNode), [{ ...ingestNode(names(), { maxBytes: '0' }), wires: [[]] }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toContain('Max message size "0" is invalid');
    });

    it('should stop reading at the unacknowledged limit', async () => {
        const ids = names();
        const received = await load(ids, { maxUnacked: '2' });
        await publish(ids.topic, ['limit-0', 'limit-1', 'limit-2', 'limit-3']);
        await waitFor(() => received.length === 2, 'two messages');
        await pause();
        expect(received).toHaveLength(2);

        received[0].done();
        await waitFor(() => received.length === 3, 'the third message');
        await pause();
        expect(received).toHaveLength(3);

        for (const message of received.slice(1)) message.done();
        await waitFor(() => received.length === 4, 'the fourth message');
        received[3].done();
        await waitFor(() => acksOf(ids.clientId).length === 4, 'four PUBACKs');
        expect(acksOf(ids.clientId)).toEqual(['limit-0', 'limit-1', 'limit-2', 'limit-3']);
    });

    it('should leave messages arriving during a stop', async () => {
        const ids = names();
        const received = await load(ids);
        await publish(ids.topic, ['before-stop']);
        await waitFor(() => received.length === 1, 'the message');

        const drained = drain({ timeoutMs: 3_000, quietMs: 50 });
        await publish(ids.topic, ['during-stop']);
        received[0].done();
        await drained;
        await helper.unload();
        expect(acksOf(ids.clientId)).toEqual(['before-stop']);

        const again = await load(ids);
        await waitFor(() => again.length === 1, 'the message published during the stop');
        again[0].done();
        await waitFor(() => acksOf(ids.clientId).length === 2, 'its PUBACK');
        expect(again.map((message) => message.msg.payload)).toEqual(['during-stop']);
    });
});

describe('subscriptionTopics', () => {
    it('should split topics and add a shared group', () => {
        expect(subscriptionTopics(' a/+ , b/# ,', '')).toEqual(['a/+', 'b/#']);
        expect(subscriptionTopics('a/+', 'cloud')).toEqual(['$share/cloud/a/+']);
    });
});
