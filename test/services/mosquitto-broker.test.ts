// The Mosquitto broker of scripts/services.sh, driven with MQTT.js: QoS 1 messages queued for a
// persistent session survive a broker restart, the password listener takes only its accounts,
// and the TLS listener takes only client certificates signed by the test CA.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SERVICES_SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const VARIABLES = ['UL_TEST_MQTT_URL', 'UL_TEST_MQTT_PASSWORD', 'UL_TEST_MQTTS_URL', 'UL_TEST_MQTT_TLS_DIR'] as const;
const QUEUED_MESSAGE_COUNT = 5_000;
const RECEIVE_TIMEOUT_MS = 60_000;

type Variable = (typeof VARIABLES)[number];

/** Returns the broker variables, or throws an error that explains how to start the broker. */
function testBroker(): Record<Variable, string> {
    const missing = VARIABLES.filter((name) => !process.env[name]);
    if (missing.length > 0) {
        throw new Error(`${missing.join(', ')} not set. The Mosquitto broker tests need the broker that `
            + '`scripts/services.sh start` (as root) starts: export the UL_TEST_MQTT_* lines it prints, '
            + 'then run the tests again.');
    }
    return Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]!])) as Record<Variable, string>;
}

/**
 * Connects once, without reconnecting, and rejects with the connection's first error. The
 * message handler is attached before connecting, because a persistent session's queued messages
 * follow the CONNACK at once.
 */
function connect(url: string, options: IClientOptions, onMessage?: (topic: string, payload: Buffer) => void)
    : Promise<{ client: MqttClient; sessionPresent: boolean }> {
    return new Promise((resolve, reject) => {
        const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
        if (onMessage) client.on('message', onMessage);
        client.once('connect', (connack) => {
            client.removeAllListeners('error');
            resolve({ client, sessionPresent: connack.sessionPresent });
        });
        client.once('error', (error) => {
            client.end(true);
            reject(error);
        });
        client.once('close', () => reject(new Error(`connection to ${url} closed before CONNACK`)));
    });
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

describe('Mosquitto broker of scripts/services.sh', () => {
    let broker: Record<Variable, string>;
    const clients: MqttClient[] = [];

    /** Connects, and ends the client after the test. */
    async function open(url: string, options: IClientOptions, onMessage?: (topic: string, payload: Buffer) => void)
        : Promise<{ client: MqttClient; sessionPresent: boolean }> {
        const connection = await connect(url, options, onMessage);
        clients.push(connection.client);
        return connection;
    }

    function tlsFile(name: string): Buffer {
        return readFileSync(join(broker.UL_TEST_MQTT_TLS_DIR, name));
    }

    beforeAll(() => {
        broker = testBroker();
    });

    afterEach(async () => {
        await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
    });

    it('should keep queued messages through a restart', async () => {
        const clientId = `ul-test-persistent-${randomUUID()}`;
        const topic = `ul-test/persistent/${randomUUID()}`;
        const subscriberOptions: IClientOptions = {
            clientId,
            clean: false,
            username: 'cloud',
            password: broker.UL_TEST_MQTT_PASSWORD,
        };

        const first = await open(broker.UL_TEST_MQTT_URL, subscriberOptions);
        await first.client.subscribeAsync(topic, { qos: 1 });
        await first.client.endAsync();

        const publisher = await open(broker.UL_TEST_MQTT_URL, {
            username: 'edge',
            password: broker.UL_TEST_MQTT_PASSWORD,
        });
        const published = [];
        for (let index = 0; index < QUEUED_MESSAGE_COUNT; index += 1) {
            published.push(publisher.client.publishAsync(topic, String(index), { qos: 1 }));
        }
        await Promise.all(published);
        await publisher.client.endAsync();

        // The broker writes the queued messages to its persistence file when it stops.
        const restart = await run('bash', [SERVICES_SCRIPT, 'restart', 'mosquitto'], { timeout: 90_000 });
        expect(restart.stderr).toMatch(/stopping Mosquitto/);
        expect(restart.stderr).toMatch(/starting Mosquitto/);
        expect(restart.stdout).toContain(`UL_TEST_MQTT_URL=${broker.UL_TEST_MQTT_URL}`);

        const received: number[] = [];
        const second = await open(broker.UL_TEST_MQTT_URL, subscriberOptions, (_topic, payload) => {
            received.push(Number(payload.toString()));
        });
        expect(second.sessionPresent, 'session present after the restart').toBe(true);
        await waitFor(() => new Set(received).size >= QUEUED_MESSAGE_COUNT, RECEIVE_TIMEOUT_MS,
            () => `${QUEUED_MESSAGE_COUNT} queued messages (received ${new Set(received).size})`);
        const distinct = [...new Set(received)].sort((a, b) => a - b);
        expect(distinct).toEqual([...Array(QUEUED_MESSAGE_COUNT).keys()]);

        // Remove the persistent session, so it does not stay on the broker.
        await second.client.endAsync();
        const cleanup = await open(broker.UL_TEST_MQTT_URL, { ...subscriberOptions, clean: true });
        await cleanup.client.endAsync();
    });

    it('should accept both accounts on the password listener', async () => {
        for (const username of ['edge', 'cloud']) {
            const { client } = await open(broker.UL_TEST_MQTT_URL, { username, password: broker.UL_TEST_MQTT_PASSWORD });
            expect(client.connected).toBe(true);
        }
    });

    it('should reject a wrong password', async () => {
        const attempt = open(broker.UL_TEST_MQTT_URL, { username: 'edge', password: 'wrong-password' });
        // CONNACK return code 5 of MQTT 3.1.1: not authorized.
        await expect(attempt).rejects.toMatchObject({ code: 5 });
    });

    it('should accept the edge-01 certificate', async () => {
        const topic = `ul-test/tls/${randomUUID()}`;
        const received: string[] = [];
        const subscriber = await open(broker.UL_TEST_MQTT_URL, {
            username: 'cloud',
            password: broker.UL_TEST_MQTT_PASSWORD,
        }, (_topic, payload) => {
            received.push(payload.toString());
        });
        await subscriber.client.subscribeAsync(topic, { qos: 1 });

        const edge = await open(broker.UL_TEST_MQTTS_URL, {
            ca: tlsFile('ca.crt'),
            cert: tlsFile('edge-01.crt'),
            key: tlsFile('edge-01.key'),
        });
        await edge.client.publishAsync(topic, 'reading over TLS', { qos: 1 });

        await waitFor(() => received.length > 0, 10_000, () => 'the message published over TLS');
        expect(received).toEqual(['reading over TLS']);
    });

    it('should reject the rogue certificate', async () => {
        const attempt = open(broker.UL_TEST_MQTTS_URL, {
            ca: tlsFile('ca.crt'),
            cert: tlsFile('rogue.crt'),
            key: tlsFile('rogue.key'),
        });
        // TLS alert 48: the broker does not know the certificate's issuer.
        await expect(attempt).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' });
    });

    it('should reject a missing client certificate', async () => {
        const attempt = open(broker.UL_TEST_MQTTS_URL, { ca: tlsFile('ca.crt') });
        // TLS 1.3 alert 116: the broker requires a client certificate.
        await expect(attempt).rejects.toMatchObject({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    });
});
