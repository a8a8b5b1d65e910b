import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { drain } from '../../lib/drain';
import mqttIngestNode, { subscriptionTopics } from './mqtt-ingest';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
const mqtt = require('mqtt') as typeof import('mqtt');

let server: Server;
let brokerUrl: string;
let closeBroker: () => Promise<void>;
const subscribed = new Set<string>();

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    broker.on('subscribe', (_subscriptions, client) => subscribed.add(client.id));
    broker.on('clientDisconnect', (client) => subscribed.delete(client.id));
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

function flow(overrides: Record<string, unknown> = {}) {
    return [
        { id: 'in-1', type: 'ul-mqtt-ingest', broker: brokerUrl, clientId: 'test-ingest', topics: 'ops/+/+/readings', qos: '1', group: '', wires: [['sink']], ...overrides },
        { id: 'sink', type: 'helper' },
    ];
}

async function publish(count: number, prefix: string): Promise<void> {
    const client = await mqtt.connectAsync(brokerUrl, { clientId: `pub-${prefix}` });
    for (let index = 0; index < count; index++) await client.publishAsync(`ops/acme/well-1/readings`, `${prefix}-${index}`, { qos: 1 });
    await client.endAsync();
}

function collect(count: number): Promise<{ topic: string; payload: string }[]> {
    const received: { topic: string; payload: string }[] = [];
    return new Promise((resolve) => {
        helper.getNode('sink').on('input', (msg: { topic: string; payload: string }) => {
            received.push(msg);
            if (received.length === count) resolve(received);
        });
    });
}

/** Waits until the test broker reports the node's client subscribed. */
async function connected(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
        if (subscribed.has('test-ingest')) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the ingest node did not subscribe within 2 s');
}

describe('ul-mqtt-ingest', () => {
    it('should emit payload text and topic', async () => {
        await helper.load(mqttIngestNode, flow());
        await connected();
        const received = collect(3);
        await publish(3, 'live');

        expect((await received).map((msg) => msg.payload)).toEqual(['live-0', 'live-1', 'live-2']);
        expect((await received)[0].topic).toBe('ops/acme/well-1/readings');
    });

    it('should receive what was published while stopped', async () => {
        await helper.load(mqttIngestNode, flow());
        await connected();
        const drained = await drain({ timeoutMs: 2_000, quietMs: 50 });
        await helper.unload();
        await publish(50, 'queued');

        await helper.load(mqttIngestNode, flow());
        const received = await collect(50);

        expect(drained.drained).toBe(true);
        expect(received.map((msg) => msg.payload)).toEqual(Array.from({ length: 50 }, (_, index) => `queued-${index}`));
    });

    it('should report a bad broker URL at deploy', async () => {
        await helper.load(mqttIngestNode, flow({ broker: '127.0.0.1:1883' }));
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toContain('bad-broker');
    });
});

describe('subscriptionTopics', () => {
    it('should split topics and add a shared group', () => {
        expect(subscriptionTopics(' a/+ , b/# ,', '')).toEqual(['a/+', 'b/#']);
        expect(subscriptionTopics('a/+', 'cloud')).toEqual(['$share/cloud/a/+']);
    });
});
