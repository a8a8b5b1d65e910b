// The edge's forward queue node on Mosquitto's TLS listener, which requires client certificates
// signed by the test CA (scripts/services/mosquitto.sh). With the device's certificate the node
// publishes and its messages reach a subscriber on the plain listener. With a certificate the CA
// did not sign, or none, the broker refuses it, and its messages stay queued on disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { metricValue } from '../../lib/observability/counters';
import forwardQueueNode from '../../nodes/forward-queue/forward-queue';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const VARIABLES = ['UL_TEST_MQTT_URL', 'UL_TEST_MQTT_PASSWORD', 'UL_TEST_MQTTS_URL', 'UL_TEST_MQTT_TLS_DIR'] as const;
const missing = VARIABLES.filter((name) => !process.env[name]);
const env = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name] ?? ''])) as Record<(typeof VARIABLES)[number], string>;
const folder = mkdtempSync(join(tmpdir(), 'ul-fq-tls-'));
const topic = `ops/tls-test-${Date.now()}/3w-well-00004/readings`;
const received: string[] = [];
let subscriber: mqtt.MqttClient | undefined;

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
}

function queueFlow(id: string, tlsFiles: { certFile?: string; keyFile?: string }) {
    return [{
        id,
        type: 'ul-forward-queue',
        broker: env.UL_TEST_MQTTS_URL,
        clientId: `${id}-${Date.now()}`,
        folder: join(folder, id),
        maxMb: 10,
        whenFull: 'block',
        fsyncInterval: 0,
        caFile: join(env.UL_TEST_MQTT_TLS_DIR, 'ca.crt'),
        ...tlsFiles,
        wires: [[]],
    }];
}

beforeAll(async () => {
    if (missing.length > 0) {
        throw new Error(`${missing.join(', ')} not set; start the brokers with \`bash scripts/services.sh start\` and export the UL_TEST_* lines it prints.`);
    }
    helper.init(require.resolve('node-red'));
    subscriber = await mqtt.connectAsync(env.UL_TEST_MQTT_URL, { clientId: `tls-test-sub-${Date.now()}`, username: 'cloud', password: env.UL_TEST_MQTT_PASSWORD });
    subscriber.on('message', (_topic, payload) => received.push(payload.toString()));
    await subscriber.subscribeAsync(topic, { qos: 1 });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await subscriber?.endAsync();
    rmSync(folder, { recursive: true, force: true });
});

describe('ul-forward-queue over mutual TLS on Mosquitto', () => {
    it('should publish with the certificate signed by the CA', async () => {
        const dir = env.UL_TEST_MQTT_TLS_DIR;
        await helper.load([forwardQueueNode], queueFlow('queue-valid', { certFile: join(dir, 'edge-01.crt'), keyFile: join(dir, 'edge-01.key') }));
        const node = helper.getNode('queue-valid');
        for (let index = 0; index < 20; index++) node.receive({ topic, payload: { index, via: 'tls' } });

        const delivered = await until(() => received.length >= 20, 15_000);

        expect(delivered).toBe(true);
        expect(received.map((text) => (JSON.parse(text) as { index: number }).index)).toEqual([...Array(20).keys()]);
        expect(metricValue('ul_forward_queue_depth', { node: 'queue-valid' })).toBe(0);
    });

    it.each([
        ['a certificate the CA did not sign', 'queue-rogue', { certFile: 'rogue.crt', keyFile: 'rogue.key' }],
        ['no client certificate', 'queue-anonymous', {}],
    ])('should be refused with %s and keep its messages queued', async (_case, id, files) => {
        const dir = env.UL_TEST_MQTT_TLS_DIR;
        const tlsFiles = 'certFile' in files ? { certFile: join(dir, files.certFile), keyFile: join(dir, files.keyFile) } : {};
        await helper.load([forwardQueueNode], queueFlow(id, tlsFiles));
        const node = helper.getNode(id);
        const before = received.length;
        for (let index = 0; index < 5; index++) node.receive({ topic, payload: { index, via: id } });

        // Five seconds of reconnect attempts: the broker refuses each handshake.
        await new Promise((resolve) => setTimeout(resolve, 5_000));

        expect(received.length).toBe(before);
        expect(metricValue('ul_forward_queue_depth', { node: id })).toBe(5);
        const badge = node.status.lastCall?.args[0] as { text?: string } | undefined;
        expect(badge?.text ?? '').not.toMatch(/^ul-forward-queue\.status\.depth/);
    });
});
