import { createRequire } from 'node:module';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBroker, type EmbeddedBroker } from './broker';
import { createLogger } from './logging';
import type { MqttAccount } from './secrets';

const require = createRequire(import.meta.url);
const mqtt = require('mqtt') as typeof import('mqtt');

const accounts: MqttAccount[] = [
    { username: 'ul-edge', password: 'edge-secret', role: 'edge' },
    { username: 'ul-cloud', password: 'cloud-secret', role: 'cloud' },
];
let broker: EmbeddedBroker;
let url: string;

beforeAll(async () => {
    broker = await startBroker('127.0.0.1', 0, createLogger({}, { write: () => undefined }), accounts);
    url = `mqtt://127.0.0.1:${broker.port}`;
});

afterAll(async () => {
    await broker.close();
});

describe('embedded broker accounts', () => {
    it('should reject a wrong password', async () => {
        await expect(mqtt.connectAsync(url, { username: 'ul-edge', password: 'guess', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/i);
        await expect(mqtt.connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/i);
    });

    it('should let the cloud read what the edge publishes', async () => {
        const cloud = await mqtt.connectAsync(url, { username: 'ul-cloud', password: 'cloud-secret' });
        const edge = await mqtt.connectAsync(url, { username: 'ul-edge', password: 'edge-secret' });
        const granted = await cloud.subscribeAsync('ops/+/+/readings', { qos: 1 });
        const received = new Promise<string>((resolve) => cloud.on('message', (_topic, payload) => resolve(payload.toString())));
        await edge.publishAsync('ops/acme/well-1/readings', 'signed', { qos: 1 });

        expect(granted[0].qos).toBe(1);
        expect(await received).toBe('signed');
        await Promise.all([cloud.endAsync(), edge.endAsync()]);
    });

    it('should refuse edge subscriptions and cloud publishes', async () => {
        const cloud = await mqtt.connectAsync(url, { username: 'ul-cloud', password: 'cloud-secret' });
        const edge = await mqtt.connectAsync(url, { username: 'ul-edge', password: 'edge-secret' });
        const watcher = await mqtt.connectAsync(url, { username: 'ul-cloud', password: 'cloud-secret', clientId: 'watcher' });
        try {
            const seen: string[] = [];
            await watcher.subscribeAsync('ops/#', { qos: 1 });
            watcher.on('message', (_topic, payload) => seen.push(payload.toString()));

            await expect(edge.subscribeAsync('ops/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
            await expect(cloud.subscribeAsync('$SYS/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
            // aedes drops an unauthorised publish and closes the connection.
            void cloud.publishAsync('ops/acme/well-1/readings', 'forged', { qos: 1 }).catch(() => undefined);
            await new Promise((resolve) => setTimeout(resolve, 500));

            expect(seen).toEqual([]);
        } finally {
            await Promise.all([cloud.endAsync(true), edge.endAsync(true), watcher.endAsync(true)]);
        }
    });
});
