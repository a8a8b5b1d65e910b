// The edge-to-cloud MQTT path on the Mosquitto broker of scripts/services.sh, with the broker
// restarted under load. The edge's forward queue node publishes QoS 1 with a persistent session
// as the `edge` account. The cloud's mqtt-ingest node receives with a persistent session as the
// `cloud` account. Every message that the forward queue released from its queue after the
// broker's PUBACK must reach the ingest node's output at least once.
// Start the broker with `scripts/services.sh start` and export the UL_TEST_MQTT_* lines it prints.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import mqtt, { type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ForwardQueue } from '../../lib/forward-queue/queue';
import { DATA_DIR } from '../../lib/paths';
import { readReplayFile } from '../../lib/replay/reader';
import forwardQueueNode from '../../nodes/forward-queue/forward-queue';
import mqttIngestNode from '../../nodes/mqtt-ingest/mqtt-ingest';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
// Node-RED's Complete and Catch nodes report each input's done() and done(err).
const completeNode = require('@node-red/nodes/core/common/24-complete.js');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const runCommand = promisify(execFile);
const SERVICES_SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const VARIABLES = ['UL_TEST_MQTT_URL', 'UL_TEST_MQTT_PASSWORD'] as const;

/** Three 3W wells in normal operation. The first ROWS_PER_WELL rows of each are sent, interleaved. */
const WELLS = [
    { assetId: '3w-well-00004', file: 'petrobras-3w/0/WELL-00004_20140807100112.csv' },
    { assetId: '3w-well-00007', file: 'petrobras-3w/0/WELL-00007_20170801180000.csv' },
    { assetId: '3w-well-00003', file: 'petrobras-3w/0/WELL-00003_20170807100000.csv' },
];
const ROWS_PER_WELL = 1_000;
const MESSAGE_COUNT = WELLS.length * ROWS_PER_WELL;
/** Messages handed to the forward queue per step, and the pause between steps, so at most about 500 messages/s. */
const MESSAGES_PER_STEP = 25;
const STEP_PAUSE_MS = 50;
/** The broker restart starts once this many messages were handed to the forward queue. */
const RESTART_AFTER = 1_000;
const DELIVERY_TIMEOUT_MS = 60_000;

type Variable = (typeof VARIABLES)[number];

interface Sent {
    topic: string;
    /** The payload as the forwarder publishes it: JSON text. */
    text: string;
}

/** Returns the broker variables, or throws an error that explains how to start the broker. */
function testBroker(): Record<Variable, string> {
    const missing = VARIABLES.filter((name) => !process.env[name]);
    if (missing.length > 0) {
        throw new Error(`${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set. The Mosquitto restart test needs the broker that `
            + '`scripts/services.sh start` (as root) starts: export the UL_TEST_MQTT_* lines it prints, '
            + 'then run the test again.');
    }
    return Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]!])) as Record<Variable, string>;
}

async function sleep(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition` is true and returns true, or returns false after `timeoutMs`, so the checks that follow name what is missing. */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) return false;
        await sleep(50);
    }
    return true;
}

/** Connects once without reconnecting, runs `work` on the client, and disconnects. */
async function withClient(url: string, options: IClientOptions, work: (client: mqtt.MqttClient) => Promise<unknown>): Promise<void> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    try {
        await work(client);
    } finally {
        await client.endAsync();
    }
}

/** Reads the numbered messages: one per row, the wells interleaved, each on its asset's readings topic. */
async function readMessages(operator: string): Promise<{ topic: string; payload: Record<string, unknown> }[]> {
    const perWell: { topic: string; payload: Record<string, unknown> }[][] = [];
    for (const well of WELLS) {
        const messages: { topic: string; payload: Record<string, unknown> }[] = [];
        for await (const line of readReplayFile(join(DATA_DIR, well.file), { endRow: ROWS_PER_WELL })) {
            if (!line.ok) throw new Error(`Row ${line.error.row} of ${well.file} is invalid: ${line.error.message}`);
            messages.push({
                topic: `ops/${operator}/${well.assetId}/readings`,
                payload: { asset_id: well.assetId, ts: line.row.source_ts, values: line.row.values },
            });
        }
        if (messages.length !== ROWS_PER_WELL) throw new Error(`${well.file} has ${messages.length} data rows, but the test needs ${ROWS_PER_WELL}`);
        perWell.push(messages);
    }
    const interleaved: { topic: string; payload: Record<string, unknown> }[] = [];
    for (let row = 0; row < ROWS_PER_WELL; row++) {
        for (const messages of perWell) interleaved.push(messages[row]);
    }
    return interleaved.map((message, n) => ({ topic: message.topic, payload: { n, ...message.payload } }));
}

/** Node-RED's log level number of info lines. */
const INFO = 40;

/** Returns the messages that the test runtime logged at `level`. */
function logMessages(level: number): string[] {
    return helper
        .log()
        .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
        .filter((entry: { level: number }) => entry.level === level)
        .map((entry: { msg: unknown }) => String(entry.msg));
}

/** Starts Mosquitto again when a failed run left it stopped. */
async function ensureBrokerRunning(): Promise<void> {
    const status = await runCommand('bash', [SERVICES_SCRIPT, 'status'], { timeout: 30_000 });
    if (/^mosquitto: running/m.test(status.stdout)) return;
    await runCommand('bash', [SERVICES_SCRIPT, 'restart', 'mosquitto'], { timeout: 90_000 });
}

describe('forward queue to mqtt-ingest through a Mosquitto restart', () => {
    let broker: Record<Variable, string>;
    let folder: string | undefined;
    /** The restart command of the test, awaited before the clean-up checks the broker. */
    let pendingRestart: Promise<unknown> | undefined;
    const run = randomBytes(4).toString('hex');
    const operator = `restart-test-${run}`;
    const edgeClientId = `ul-test-edge-forward-${run}`;
    const cloudClientId = `ul-test-cloud-ingest-${run}`;

    beforeAll(() => {
        broker = testBroker();
        helper.init(require.resolve('node-red'));
    });

    afterAll(async () => {
        await helper.unload();
        if (folder) rmSync(folder, { recursive: true, force: true });
        if (!broker) return;
        await pendingRestart?.catch(() => undefined);
        await ensureBrokerRunning();
        // Remove both persistent sessions, so they do not stay on the broker for two days.
        for (const [clientId, username] of [[edgeClientId, 'edge'], [cloudClientId, 'cloud']]) {
            await withClient(broker.UL_TEST_MQTT_URL, { clientId, clean: true, username, password: broker.UL_TEST_MQTT_PASSWORD }, async () => undefined);
        }
    });

    it('should deliver every acknowledged message', async () => {
        folder = mkdtempSync(join(tmpdir(), 'ul-mosquitto-restart-'));
        const queueFolder = join(folder, 'queue');
        const topicFilter = `ops/${operator}/+/readings`;
        const messages = await readMessages(operator);
        const sent = new Map<number, Sent>(messages.map((message) => [message.payload.n as number, { topic: message.topic, text: JSON.stringify(message.payload) }]));

        // The cloud's session exists before the edge publishes, as in a running deployment, so
        // the broker queues for it from the first message on.
        await withClient(broker.UL_TEST_MQTT_URL, { clientId: cloudClientId, clean: false, username: 'cloud', password: broker.UL_TEST_MQTT_PASSWORD },
            (client) => client.subscribeAsync(topicFilter, { qos: 1 }));

        await helper.load([forwardQueueNode, mqttIngestNode, completeNode, catchNode], [
            {
                id: 'edge-queue',
                type: 'ul-forward-queue',
                broker: broker.UL_TEST_MQTT_URL,
                clientId: edgeClientId,
                username: 'edge',
                password: broker.UL_TEST_MQTT_PASSWORD,
                folder: queueFolder,
                maxMb: 100,
                whenFull: 'block',
                fsyncInterval: 0,
                wires: [['released']],
            },
            { id: 'released', type: 'helper' },
            { id: 'edge-complete', type: 'complete', scope: ['edge-queue'], uncaught: false, wires: [['completed']] },
            { id: 'edge-catch', type: 'catch', scope: ['edge-queue'], uncaught: false, wires: [['caught']] },
            { id: 'completed', type: 'helper' },
            { id: 'caught', type: 'helper' },
            {
                id: 'cloud-ingest',
                type: 'ul-mqtt-ingest',
                broker: broker.UL_TEST_MQTT_URL,
                clientId: cloudClientId,
                username: 'cloud',
                password: broker.UL_TEST_MQTT_PASSWORD,
                topics: topicFilter,
                qos: '1',
                group: '',
                wires: [['ingested']],
            },
            { id: 'ingested', type: 'helper' },
        ]);

        // Outputs of the forward queue (one per PUBACK) with their time, and of the ingest node.
        const released: { n: number; seq: number; at: number }[] = [];
        helper.getNode('released').on('input', (msg: { payload: { n: number }; seq: number }) => {
            released.push({ n: msg.payload.n, seq: msg.seq, at: Date.now() });
        });
        const ingested: { n: number; topic: string; text: string }[] = [];
        helper.getNode('ingested').on('input', (msg: { topic: string; payload: string }) => {
            ingested.push({ n: (JSON.parse(msg.payload) as { n: number }).n, topic: msg.topic, text: msg.payload });
        });
        let completed = 0;
        const caught: { error?: { message?: string } }[] = [];
        helper.getNode('completed').on('input', () => completed++);
        helper.getNode('caught').on('input', (msg: { error?: { message?: string } }) => caught.push(msg));

        // Hand the messages to the forward queue at a steady pace and restart the broker a third
        // of the way through, so that messages are queued, in flight and arriving during the outage.
        const queueNode = helper.getNode('edge-queue');
        let restart: Promise<{ stdout: string; stderr: string; ms: number; releasedBefore: number }> | undefined;
        for (const [index, message] of messages.entries()) {
            if (index === RESTART_AFTER) {
                const started = Date.now();
                const releasedBefore = released.length;
                restart = runCommand('bash', [SERVICES_SCRIPT, 'restart', 'mosquitto'], { timeout: 90_000 })
                    .then((output) => ({ ...output, ms: Date.now() - started, releasedBefore }));
                pendingRestart = restart;
            }
            queueNode.receive({ topic: message.topic, payload: message.payload });
            if (index % MESSAGES_PER_STEP === MESSAGES_PER_STEP - 1) await sleep(STEP_PAUSE_MS);
        }
        const restarted = await restart!;
        expect(restarted.stderr).toMatch(/stopping Mosquitto/);
        expect(restarted.stderr).toMatch(/starting Mosquitto/);
        expect(restarted.stdout).toContain(`UL_TEST_MQTT_URL=${broker.UL_TEST_MQTT_URL}`);

        const waitStarted = Date.now();
        await waitUntil(() => completed + caught.length === MESSAGE_COUNT
            && released.length >= MESSAGE_COUNT
            && new Set(ingested.map((entry) => entry.n)).size >= MESSAGE_COUNT, DELIVERY_TIMEOUT_MS);
        const drainMs = Date.now() - waitStarted;

        // The maximum gap between two PUBACKs is the outage as the edge saw it.
        let maxGapMs = 0;
        let gapAfter = 0;
        for (let index = 1; index < released.length; index++) {
            const gap = released[index].at - released[index - 1].at;
            if (gap > maxGapMs) [maxGapMs, gapAfter] = [gap, released[index - 1].n];
        }
        const ingestedNumbers = new Set(ingested.map((entry) => entry.n));
        console.info(`Mosquitto restart: ${MESSAGE_COUNT} messages; the restart command took ${restarted.ms} ms and started after `
            + `${restarted.releasedBefore} were released; maximum gap between PUBACKs ${maxGapMs} ms, after message ${gapAfter}; `
            + `${released.length} released, ${ingestedNumbers.size} distinct and ${ingested.length - ingestedNumbers.size} duplicate `
            + `messages ingested; waited ${drainMs} ms after the last input and the restart.`);

        // Every input was accepted into the queue.
        expect(caught.map((msg) => msg.error?.message), 'inputs that the forward queue failed').toEqual([]);
        expect(completed, 'inputs that the forward queue finished').toBe(MESSAGE_COUNT);

        // Every released message reached the ingest output with its topic and payload unchanged.
        const lost = released.filter((entry) => !ingestedNumbers.has(entry.n)).map((entry) => entry.n);
        expect(lost, 'released by the forward queue but never ingested').toEqual([]);
        const altered = ingested.filter((entry) => entry.topic !== sent.get(entry.n)?.topic || entry.text !== sent.get(entry.n)?.text);
        expect(altered.map((entry) => entry.n), 'ingested with another topic or payload than sent').toEqual([]);

        // The forward queue released each record once, in queue order.
        expect(released.length, 'records released by the forward queue').toBe(MESSAGE_COUNT);
        expect(released.map((entry) => entry.seq)).toEqual(Array.from({ length: MESSAGE_COUNT }, (_, index) => index + 1));
        expect(released.map((entry) => entry.n)).toEqual([...Array(MESSAGE_COUNT).keys()]);

        // The ingest node received each message first in the order the edge sent them.
        const firstReceipts = [...ingestedNumbers];
        expect(firstReceipts).toEqual([...Array(MESSAGE_COUNT).keys()]);

        // The restart interrupted both clients. The edge logged its disconnect and received no
        // PUBACK for more than 500 ms, and the ingest node showed its disconnected badge.
        expect(maxGapMs, 'maximum gap between two PUBACKs').toBeGreaterThan(500);
        expect(logMessages(INFO)).toContain('ul-forward-queue.log.disconnected');
        const ingestBadges = helper.getNode('cloud-ingest').status.args.map((call: { text?: string }[]) => call[0].text);
        expect(ingestBadges).toContain('ul-mqtt-ingest.status.disconnected');

        // After the node closed its queue, the queue folder contains no unacknowledged record.
        await helper.unload();
        const reopened = ForwardQueue.open({ folder: queueFolder, maxBytes: 100 * 1024 * 1024, whenFull: 'block' });
        try {
            expect(reopened.stats().depth).toBe(0);
            expect(reopened.peek()).toBeUndefined();
        } finally {
            await reopened.close();
        }
    });
});
