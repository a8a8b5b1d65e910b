// The cloud's MQTT intake node on Mosquitto's TLS listener, which requires client certificates
// signed by the test CA (scripts/services/mosquitto.sh). With a certificate of that CA the node
// receives what an edge publishes on the plain listener. With a certificate the CA did not sign,
// or none, the broker refuses it and the node receives nothing.
import { createRequire } from 'node:module';
import { join } from 'node:path';

import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import mqttIngestNode from '../../nodes/mqtt-ingest/mqtt-ingest';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const VARIABLES = ['UL_TEST_MQTT_URL', 'UL_TEST_MQTT_PASSWORD', 'UL_TEST_MQTTS_URL', 'UL_TEST_MQTT_TLS_DIR'] as const;
const missing = VARIABLES.filter((name) => !process.env[name]);
const env = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name] ?? ''])) as Record<(typeof VARIABLES)[number], string>;
const run = `tls-ingest-${Date.now()}`;
let publisher: mqtt.MqttClient | undefined;

interface TestNode {
    on(event: string, listener: (msg: never) => void): void;
    status: { lastCall?: { args: unknown[] } };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
}

function intakeFlow(id: string, files: { certFile?: string; keyFile?: string }): unknown[] {
    return [
        {
            id,
            type: 'ul-mqtt-ingest',
            broker: env.UL_TEST_MQTTS_URL,
            clientId: `${run}-${id}`,
            topics: `ops/${run}/+/readings`,
            qos: 1,
            group: '',
            caFile: join(env.UL_TEST_MQTT_TLS_DIR, 'ca.crt'),
            ...files,
            wires: [['out'], []],
        },
        { id: 'out', type: 'helper' },
    ];
}

beforeAll(async () => {
    if (missing.length > 0) {
        throw new Error(`${missing.join(', ')} not set; start the brokers with \`bash scripts/services.sh start\` and export the UL_TEST_* lines it prints.`);
    }
    helper.init(require.resolve('node-red'));
    publisher = await mqtt.connectAsync(env.UL_TEST_MQTT_URL, { clientId: `${run}-edge`, username: 'edge', password: env.UL_TEST_MQTT_PASSWORD });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await publisher?.endAsync();
});

async function publish(count: number, asset: string): Promise<void> {
    for (let index = 0; index < count; index++) {
        await publisher?.publishAsync(`ops/${run}/${asset}/readings`, JSON.stringify({ index }), { qos: 1 });
    }
}

describe('ul-mqtt-ingest over mutual TLS on Mosquitto', () => {
    it('should receive with a certificate signed by the CA', async () => {
        const dir = env.UL_TEST_MQTT_TLS_DIR;
        await helper.load([mqttIngestNode], intakeFlow('intake-valid', { certFile: join(dir, 'edge-01.crt'), keyFile: join(dir, 'edge-01.key') }));
        const out: TestNode = helper.getNode('out');
        const received: number[] = [];
        out.on('input', (msg: never) => received.push(JSON.parse(String((msg as { payload: unknown }).payload)).index as number));
        const intake: TestNode = helper.getNode('intake-valid');
        expect(await until(() => (intake.status.lastCall?.args[0] as { text?: string } | undefined)?.text === 'ul-mqtt-ingest.status.connected', 10_000)).toBe(true);

        await publish(10, 'tls-well-1');

        expect(await until(() => received.length >= 10, 10_000)).toBe(true);
        expect(received).toEqual([...Array(10).keys()]);
    });

    it.each([
        ['a certificate the CA did not sign', 'intake-rogue', { certFile: 'rogue.crt', keyFile: 'rogue.key' }],
        ['no client certificate', 'intake-anonymous', {}],
    ])('should be refused with %s', async (_case, id, files) => {
        const dir = env.UL_TEST_MQTT_TLS_DIR;
        const tlsFiles = 'certFile' in files ? { certFile: join(dir, files.certFile), keyFile: join(dir, files.keyFile) } : {};
        await helper.load([mqttIngestNode], intakeFlow(id, tlsFiles));
        const out: TestNode = helper.getNode('out');
        let received = 0;
        out.on('input', () => received++);

        await publish(5, `tls-${id}`);
        // Five seconds of reconnect attempts: the broker refuses each handshake.
        await new Promise((resolve) => setTimeout(resolve, 5_000));

        expect(received).toBe(0);
        const badge = helper.getNode(id).status.lastCall?.args[0] as { text?: string } | undefined;
        expect(badge?.text).not.toBe('ul-mqtt-ingest.status.connected');
    });
});
