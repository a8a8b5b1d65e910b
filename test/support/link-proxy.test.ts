import { createRequire } from 'node:module';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startBroker, type EmbeddedBroker } from '../../runtime/broker';
import { createLogger } from '../../runtime/logging';
import { startLinkProxy, type LinkProxy } from './link-proxy';

const require = createRequire(import.meta.url);
const mqtt = require('mqtt') as typeof import('mqtt');

let broker: EmbeddedBroker;
let proxy: LinkProxy;
const clients: import('mqtt').MqttClient[] = [];

beforeAll(async () => {
    broker = await startBroker('127.0.0.1', 0, createLogger({}, { write: () => undefined }));
});

afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
    await proxy?.close();
});

afterAll(async () => {
    await broker.close();
});

/** Subscribes directly at the broker and collects the payloads of one topic. */
async function watch(topic: string): Promise<string[]> {
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: `watcher-${Date.now()}` });
    clients.push(watcher);
    const seen: string[] = [];
    watcher.on('message', (_topic, payload) => seen.push(payload.toString()));
    await watcher.subscribeAsync(topic, { qos: 1 });
    return seen;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

describe('link proxy', () => {
    it('should pass publishes to the broker and record their PUBACK', async () => {
        proxy = await startLinkProxy();
        proxy.connectTo(broker.port);
        const seen = await watch('site/readings');
        const site = await mqtt.connectAsync(`mqtt://127.0.0.1:${proxy.port}`, { clientId: 'site-1' });
        clients.push(site);

        await site.publishAsync('site/readings', 'first', { qos: 1 });
        await site.publishAsync('site/readings', 'second', { qos: 1 });
        await waitFor('two deliveries', () => seen.length === 2);

        expect(seen).toEqual(['first', 'second']);
        expect(proxy.publishes.map((publish) => publish.payload.toString())).toEqual(['first', 'second']);
        expect(proxy.publishes.every((publish) => publish.clientId === 'site-1' && publish.topic === 'site/readings')).toBe(true);
        expect(proxy.publishes.every((publish) => publish.qos === 1 && publish.packetId !== undefined)).toBe(true);
        expect(proxy.publishes.every((publish) => publish.ackedAt !== undefined && publish.ackedAt >= publish.sentAt)).toBe(true);
    });

    it('should reject connections while cut and pass them again after restore', async () => {
        proxy = await startLinkProxy();
        proxy.connectTo(broker.port);
        const seen = await watch('site/alerts');
        const site = await mqtt.connectAsync(`mqtt://127.0.0.1:${proxy.port}`, { clientId: 'site-2', clean: false, reconnectPeriod: 100 });
        clients.push(site);
        const closed = new Promise<void>((resolve) => site.once('close', () => resolve()));

        await proxy.cut();
        await closed;
        // MQTT.js keeps a QoS 1 publish made offline and sends it after the reconnect.
        const delivered = site.publishAsync('site/alerts', 'held', { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, 600));

        expect(site.connected).toBe(false);
        expect(proxy.publishes).toEqual([]);
        expect(seen).toEqual([]);

        proxy.restore();
        await delivered;
        await waitFor('the held message', () => seen.length === 1);

        expect(seen).toEqual(['held']);
        expect(proxy.publishes.map((publish) => publish.payload.toString())).toEqual(['held']);
        expect(proxy.publishes[0].ackedAt).toBeDefined();
    });

    it('should reject connections until the broker port is set', async () => {
        proxy = await startLinkProxy();
        const site = mqtt.connect(`mqtt://127.0.0.1:${proxy.port}`, { clientId: 'site-3', reconnectPeriod: 100 });
        clients.push(site);
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect(site.connected).toBe(false);

        proxy.connectTo(broker.port);
        await waitFor('the connection through the proxy', () => site.connected);
        expect(site.connected).toBe(true);
    });
});
