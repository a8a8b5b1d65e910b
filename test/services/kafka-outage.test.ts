// The Kafka bus transport through a broker outage: a publisher keeps sending keyed readings while
// the broker of scripts/services.sh is stopped for 20 s and started again, and a shared
// subscriber stores them. Afterwards every acknowledged message must be in the store, each
// asset's messages must have first arrived in publish order, every rejected publish must carry
// the cause, and the consumer group must have committed up to the end of every partition.
// A second, short test sends a batch of which the broker stores one partition and rejects the
// other, and checks that the next message to the stored partition is stored too.
// Start the broker with `scripts/services.sh start` (as root) and export the
// UL_TEST_KAFKA_BROKERS line it prints. The test stops and starts that broker, so nothing else
// should use it meanwhile.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ServiceError } from '../../lib/errors';
import { canonicalUnit } from '../../lib/metrics';
import { createBusTransport, type BusLogger } from '../../lib/bus/index';
import { parseBusSettings } from '../../lib/bus/settings';
import type { BusMessage, BusTransport, SubscriptionState } from '../../lib/bus/transport';
import { metricValue } from '../../lib/observability/counters';
import type { Reading } from '../../lib/types';

const execFileAsync = promisify(execFile);
const SERVICES_SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const BROKERS_VARIABLE = 'UL_TEST_KAFKA_BROKERS';

const ASSET_COUNT = 50;
const PARTITIONS = 12;
/** Pause between two publishes. With timer overhead the rate was about 265 messages/s on a 2-core container. */
const PUBLISH_INTERVAL_MS = 3;
const LOAD_BEFORE_OUTAGE_MS = 5_000;
/** Time between the broker's exit and the start command. */
const OUTAGE_MS = 20_000;
const LOAD_AFTER_RESTART_MS = 10_000;
/** Bound on the wait for every publish to end. The producer backs off up to 30 s between retries (kafka-client.ts), so a publish can still wait that long after the restart. */
const SETTLE_TIMEOUT_MS = 120_000;
const RECEIVE_TIMEOUT_MS = 120_000;
const COMMIT_TIMEOUT_MS = 60_000;
/** The services script waits up to 60 s for Kafka to stop and 90 s for it to accept clients. */
const SCRIPT_TIMEOUT_MS = 180_000;
const TEST_TIMEOUT_MS = 600_000;
const METRIC = 'oil_rate';
const FIRST_READING_MS = Date.parse('2024-01-01T00:00:00.000Z');

const run = randomBytes(4).toString('hex');
const topic = `kafka-outage-test-${run}-readings`;
const groupPrefix = `kafka-outage-test-${run}`;
const groupId = `${groupPrefix}.store`;
const assets = Array.from({ length: ASSET_COUNT }, (_, index) => `outage-well-${String(index + 1).padStart(2, '0')}`);

/** Returns the broker list of UL_TEST_KAFKA_BROKERS, or throws an error that explains how to start the broker. */
function testBrokers(): string {
    const value = (process.env[BROKERS_VARIABLE] ?? '').trim();
    if (value === '') {
        throw new Error(`${BROKERS_VARIABLE} is not set. The Kafka outage test needs the broker that `
            + '`scripts/services.sh start` (as root) starts: export the UL_TEST_KAFKA_BROKERS line it prints, '
            + 'then run the test again.');
    }
    return value;
}

/** Runs `scripts/services.sh ACTION kafka`. The error of a failed run contains the script's output. */
async function servicesScript(action: 'stop-one' | 'start-one'): Promise<{ stdout: string; stderr: string }> {
    try {
        return await execFileAsync('bash', [SERVICES_SCRIPT, action, 'kafka'], { timeout: SCRIPT_TIMEOUT_MS });
    } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`scripts/services.sh ${action} kafka failed: ${(error as Error).message}\n${stderr ?? ''}${stdout ?? ''}`, { cause: error });
    }
}

/** Resolves with the error of a TCP connection to host:port, or with undefined when the connection opens. */
function tcpConnectError(address: string): Promise<Error | undefined> {
    const colon = address.lastIndexOf(':');
    return new Promise((resolve) => {
        const socket = connectTcp({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), timeout: 2_000 });
        socket.once('connect', () => {
            socket.destroy();
            resolve(undefined);
        });
        socket.once('timeout', () => {
            socket.destroy();
            resolve(new Error(`connecting to ${address} timed out`));
        });
        socket.once('error', (error) => resolve(error));
    });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what()}`);
        await sleep(100);
    }
}

/** Keeps every log line of both transports. Warnings and errors are printed at the end, because they explain failures. */
function collectingLogger(lines: string[], client: string): BusLogger {
    const keep = (level: string) => (message: string): void => {
        lines.push(`${new Date().toISOString()} ${client} ${level} ${message}`);
    };
    return { info: keep('info'), debug: keep('debug'), warn: keep('warn'), error: keep('error') };
}

/** Identifies a message by its asset and reading time, which the publisher never repeats. */
function messageId(reading: Reading): string {
    return `${reading.asset_id}@${reading.ts}`;
}

/** Per-asset sequence number of a reading: seconds after the first reading. */
function sequenceOf(reading: Reading): number {
    return (Date.parse(reading.ts) - FIRST_READING_MS) / 1_000;
}

interface Published {
    id: string;
    asset: string;
    sequence: number;
    publishedAt: number;
}

interface Rejected extends Published {
    error: unknown;
    rejectedAt: number;
}

/** Times of the outage steps in milliseconds since the epoch, or 0 until the step has happened. */
interface Timeline {
    stopStarted: number;
    stopReturned: number;
    startStarted: number;
    startReturned: number;
}

describe('Kafka bus through a broker outage', () => {
    let brokers: string;
    let admin: Admin | undefined;
    const transports: BusTransport[] = [];
    const logLines: string[] = [];
    const timeline: Timeline = { stopStarted: 0, stopReturned: 0, startStarted: 0, startReturned: 0 };
    let publishing = false;

    async function connectAdmin(): Promise<Admin> {
        const client = new Kafka({ clientId: `kafka-outage-test-admin-${run}`, brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
        await client.connect();
        return client;
    }

    beforeAll(() => {
        brokers = testBrokers();
    });

    afterAll(async () => {
        publishing = false;
        // A broker stopped by a failed test is started again, because other services tests use it.
        if (timeline.stopStarted > 0 && timeline.startReturned === 0) await servicesScript('start-one');
        await Promise.all(transports.map((transport) => transport.close()));
        if (transports.length > 0 && !admin) admin = await connectAdmin();
        if (admin) {
            await admin.deleteGroups([groupId]).catch(() => undefined);
            await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
            await admin.disconnect();
        }
        const problems = logLines.filter((line) => / (warn|error) /.test(line));
        if (problems.length > 0) {
            console.info(`Kafka bus warnings and errors during the outage test (${problems.length}, the first 40):\n${problems.slice(0, 40).join('\n')}`);
        }
    }, SCRIPT_TIMEOUT_MS + 30_000);

    it('should deliver acknowledged messages after a 20 s outage', async () => {
        const settings = parseBusSettings({ transport: 'kafka', brokers, clientId: `kafka-outage-test-${run}`, groupId: groupPrefix, partitions: String(PARTITIONS) });
        expect(settings.transport).toBe('kafka');
        // No start-up topics: the test creates only its own topic, through its first publish or subscribe.
        const publisher = createBusTransport(settings, collectingLogger(logLines, 'publisher'), { topics: [] });
        const subscriber = createBusTransport(settings, collectingLogger(logLines, 'subscriber'), { topics: [], commitIntervalMs: 200 });
        transports.push(publisher, subscriber);

        // Subscriber: the store step is asynchronous, and the delivery settles after it.
        const store = new Map<string, number>();
        const seen = new Set<string>();
        const firstReceipts = new Map<string, number[]>();
        const receivedPositions = new Set<string>();
        const unexpected: string[] = [];
        let receipts = 0;
        const states: string[] = [];
        let state = '';
        subscriber.subscribe(
            topic,
            async (message: BusMessage) => {
                receipts += 1;
                receivedPositions.add(`${message.partition}:${message.offset}`);
                const readings = message.value as Reading[];
                const reading = readings[0];
                if (readings.length !== 1 || reading.asset_id !== message.key) {
                    unexpected.push(`${message.partition}:${message.offset} key ${message.key}: ${JSON.stringify(message.value)}`);
                    return;
                }
                const id = messageId(reading);
                if (!seen.has(id)) {
                    seen.add(id);
                    const sequences = firstReceipts.get(reading.asset_id) ?? [];
                    sequences.push(sequenceOf(reading));
                    firstReceipts.set(reading.asset_id, sequences);
                }
                await sleep(receipts % 3);
                store.set(id, (store.get(id) ?? 0) + 1);
            },
            {
                group: 'store',
                mode: 'shared',
                onState: (next: SubscriptionState, detail?: string) => {
                    state = `${next} ${detail ?? ''}`.trim();
                    states.push(`${new Date().toISOString()} ${state}`);
                },
            },
        );
        await waitFor(() => state === `connected ${PARTITIONS} partitions`, 60_000, () => `the subscriber to own all ${PARTITIONS} partitions (state '${state}')`);

        // Publisher: one reading every few ms, the assets in turn, each asset's readings one second apart.
        const published: Published[] = [];
        const acknowledged = new Map<string, number>();
        const rejected: Rejected[] = [];
        const outcomes: Promise<void>[] = [];
        publishing = true;
        const loadStarted = Date.now();
        const publishLoop = (async (): Promise<void> => {
            for (let index = 0; publishing; index += 1) {
                const asset = assets[index % ASSET_COUNT];
                const sequence = Math.floor(index / ASSET_COUNT);
                const reading: Reading = {
                    asset_id: asset,
                    metric: METRIC,
                    value: 500 + (index % 97),
                    unit: canonicalUnit(METRIC) ?? '',
                    ts: new Date(FIRST_READING_MS + sequence * 1_000).toISOString(),
                };
                const entry: Published = { id: messageId(reading), asset, sequence, publishedAt: Date.now() };
                published.push(entry);
                outcomes.push(publisher.publish(topic, asset, [reading]).then(
                    () => {
                        acknowledged.set(entry.id, Date.now());
                    },
                    (error: unknown) => {
                        rejected.push({ ...entry, error, rejectedAt: Date.now() });
                    },
                ));
                await sleep(PUBLISH_INTERVAL_MS);
            }
        })();

        // The outage: stop the broker under load, keep it down for OUTAGE_MS, start it again.
        await sleep(LOAD_BEFORE_OUTAGE_MS);
        const acknowledgedBeforeOutage = acknowledged.size;
        const receivedBeforeOutage = store.size;
        timeline.stopStarted = Date.now();
        const stop = await servicesScript('stop-one');
        timeline.stopReturned = Date.now();
        expect(stop.stderr, 'the services script stopped a running broker').toMatch(/stopping Kafka \(pid \d+\)/);
        const connectError = await tcpConnectError(brokers.split(',')[0].trim());
        expect(connectError, 'a connection to the stopped broker fails').toBeInstanceOf(Error);
        await sleep(OUTAGE_MS);
        timeline.startStarted = Date.now();
        const start = await servicesScript('start-one');
        timeline.startReturned = Date.now();
        expect(start.stdout).toContain(`${BROKERS_VARIABLE}=`);

        await sleep(LOAD_AFTER_RESTART_MS);
        publishing = false;
        await publishLoop;
        const loadEnded = Date.now();

        // Every publish ends, acknowledged or rejected, within the bounded wait.
        await waitFor(() => acknowledged.size + rejected.length === published.length, SETTLE_TIMEOUT_MS,
            () => `every publish to be acknowledged or rejected (${acknowledged.size} acknowledged, ${rejected.length} rejected, ${published.length} published)`);
        await Promise.all(outcomes);
        const settled = Date.now();

        // Every acknowledged message reaches the store.
        const missing = (): Published[] => published.filter((entry) => acknowledged.has(entry.id) && !store.has(entry.id));
        await waitFor(() => missing().length === 0, RECEIVE_TIMEOUT_MS,
            () => `every acknowledged message in the store (${missing().length} missing, for example ${missing().slice(0, 5).map((entry) => entry.id).join(', ')}; subscriber state '${state}')`);
        const received = Date.now();

        // The group commits up to the end of every partition once every delivery has settled.
        admin = await connectAdmin();
        let offsetReport = '';
        await waitFor(async () => {
            const ends = await admin!.fetchTopicOffsets(topic);
            const [committed] = await admin!.fetchOffsets({ groupId, topics: [topic] });
            const committedByPartition = new Map(committed.partitions.map(({ partition, offset }) => [partition, BigInt(offset)]));
            const behind = ends.filter(({ partition, high }) => (committedByPartition.get(partition) ?? -1n) < BigInt(high) && BigInt(high) > 0n);
            offsetReport = behind.map(({ partition, high }) => `partition ${partition} committed ${committedByPartition.get(partition) ?? 'none'} of ${high}`).join(', ');
            return behind.length === 0;
        }, COMMIT_TIMEOUT_MS, () => `committed offsets at the end of every partition of group ${groupId} (${offsetReport})`);
        const ends = await admin.fetchTopicOffsets(topic);
        const logSize = ends.reduce((sum, { high, low }) => sum + Number(BigInt(high) - BigInt(low)), 0);

        const duplicates = [...store.values()].reduce((sum, count) => sum + count - 1, 0);
        const storedNotAcknowledged = [...store.keys()].filter((id) => !acknowledged.has(id)).length;
        const acknowledgedAfterRestart = published.filter((entry) => entry.publishedAt >= timeline.startReturned && acknowledged.has(entry.id)).length;
        const seconds = (ms: number): string => (ms / 1_000).toFixed(1);
        const rejections = new Map<string, number>();
        for (const { error } of rejected) {
            const cause = (error as Error).cause;
            const text = `${cause instanceof Error ? cause.name : 'no cause'} in '${(error as Error).message}'`;
            rejections.set(text, (rejections.get(text) ?? 0) + 1);
        }
        console.info([
            `Kafka outage: stop took ${seconds(timeline.stopReturned - timeline.stopStarted)} s, the broker was down ${seconds(timeline.startStarted - timeline.stopReturned)} s `
                + `before the start command, which took ${seconds(timeline.startReturned - timeline.startStarted)} s; `
                + `unreachable for ${seconds(timeline.startReturned - timeline.stopStarted)} s from the stop command until the broker accepted clients.`,
            `Published ${published.length} messages in ${seconds(loadEnded - loadStarted)} s: ${acknowledged.size} acknowledged `
                + `(${acknowledgedBeforeOutage} before the outage, ${acknowledgedAfterRestart} of those published after the restart), ${rejected.length} rejected.`,
            `Stored ${store.size} distinct messages (${receivedBeforeOutage} before the outage, ${storedNotAcknowledged} never acknowledged), `
                + `${receipts} receipts, ${duplicates} redelivered duplicates, ${logSize} records in the topic.`,
            `Every publish ended ${seconds(settled - loadEnded)} s after the load, every acknowledged message was stored after ${seconds(received - loadEnded)} s, `
                + `offsets committed after ${seconds(Date.now() - loadEnded)} s.`,
            `Rejected publishes by error: ${[...rejections].map(([text, count]) => `${count} with ${text}`).join('; ') || 'none'}.`,
            `Subscriber states: ${states.map((line) => line.slice(11, 23) + line.slice(24)).join('; ')}`,
        ].join('\n'));

        // The outage was real and the bus recovered from it.
        expect(acknowledgedBeforeOutage).toBeGreaterThan(0);
        expect(receivedBeforeOutage).toBeGreaterThan(0);
        expect(acknowledgedAfterRestart, 'publishes after the restart acknowledged').toBeGreaterThan(0);
        expect(state).toBe(`connected ${PARTITIONS} partitions`);
        expect(unexpected).toEqual([]);

        // Every acknowledged message was received, and nothing arrived that was never published.
        expect(missing().map((entry) => entry.id)).toEqual([]);
        const publishedIds = new Set(published.map((entry) => entry.id));
        expect([...store.keys()].filter((id) => !publishedIds.has(id))).toEqual([]);

        // Each asset's messages arrived first in the order they were published.
        const outOfOrder: string[] = [];
        for (const [asset, sequences] of firstReceipts) {
            for (let index = 1; index < sequences.length; index += 1) {
                if (sequences[index] <= sequences[index - 1]) outOfOrder.push(`${asset}: ${sequences[index - 1]} then ${sequences[index]}`);
            }
        }
        expect(outOfOrder).toEqual([]);

        // The idempotent producer wrote no message twice: every record of the topic is a distinct
        // message, and the subscriber read every record.
        expect(receivedPositions.size, 'records read').toBe(logSize);
        expect(store.size, 'distinct messages among the records').toBe(logSize);

        // Rejected publishes: each carries the bus's error with the Kafka client's cause, and none
        // happened before the outage began.
        // The publishes of one failed batch share one error.
        for (const thrown of new Set(rejected.map((entry) => entry.error))) {
            const error = thrown as ServiceError;
            expect(error, 'error of a rejected publish').toBeInstanceOf(ServiceError);
            expect(error.message).toContain(`Publishing to Kafka topics ${topic} failed: `);
            expect(error.cause, `cause of '${error.message}'`).toBeInstanceOf(Error);
            expect(error.message).toContain((error.cause as Error).message);
            expect(error.retriable).toBe(true);
        }
        expect(rejected.filter((entry) => entry.rejectedAt < timeline.stopStarted).map((entry) => entry.id)).toEqual([]);
        expect(metricValue('ul_bus_produce_errors_total', { topic }) ?? 0, 'produce errors counted by the bus').toBe(rejected.length);
        expect(metricValue('ul_bus_published_total', { topic }), 'messages counted as stored by the bus').toBe(acknowledged.size);
    }, TEST_TIMEOUT_MS);
});

describe('Kafka bus after a partly stored batch', () => {
    /** Largest record batch the test topic accepts, in bytes. The too large message exceeds it. */
    const MAX_MESSAGE_BYTES = 1_024;
    const partlyTopic = `kafka-outage-test-${run}-partly-stored`;
    let admin: Admin | undefined;
    let transport: BusTransport | undefined;
    const logLines: string[] = [];

    afterAll(async () => {
        await transport?.close();
        if (admin) {
            await admin.deleteTopics({ topics: [partlyTopic] }).catch(() => undefined);
            await admin.disconnect();
        }
    });

    it('should store publishes after a partly stored batch', async () => {
        const brokers = testBrokers();
        admin = new Kafka({ clientId: `kafka-outage-test-admin-${run}-partly`, brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        await admin.createTopics({
            waitForLeaders: true,
            topics: [{ topic: partlyTopic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) }] }],
        });
        // The keys of the two partitions, as the default partitioner of the bus assigns them.
        const partitioner = Partitioners.DefaultPartitioner();
        const partitionMetadata = [0, 1].map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
        const keys = assets.slice(0, 10);
        const partitionOf = (key: string): number => partitioner({ topic: partlyTopic, partitionMetadata, message: { key, value: null } });
        const storedKey = keys.find((key) => partitionOf(key) === 0);
        const rejectedKey = keys.find((key) => partitionOf(key) === 1);
        if (!storedKey || !rejectedKey) throw new Error(`None of the keys ${keys.join(', ')} maps to both partitions of ${partlyTopic}.`);

        const settings = parseBusSettings({ transport: 'kafka', brokers, clientId: `kafka-outage-test-${run}-partly`, groupId: groupPrefix });
        transport = createBusTransport(settings, collectingLogger(logLines, 'publisher'), { topics: [] });
        await transport.publish(partlyTopic, storedKey, 'first');

        // One batch: the broker stores the message of partition 0 and rejects the one of partition 1
        // as too large, so the whole batch fails.
        const outcomes = await Promise.allSettled([
            transport.publish(partlyTopic, storedKey, 'stored but rejected'),
            transport.publish(partlyTopic, rejectedKey, 'x'.repeat(MAX_MESSAGE_BYTES * 4)),
        ]);
        expect(outcomes.map(({ status }) => status)).toEqual(['rejected', 'rejected']);

        // The next message of partition 0 has as many records as the stored batch.
        await transport.publish(partlyTopic, storedKey, 'after the failure');

        const offsets = await admin.fetchTopicOffsets(partlyTopic);
        const highOf = (partition: number): string | undefined => offsets.find((entry) => entry.partition === partition)?.high;
        expect(highOf(0), 'records in partition 0: first, stored but rejected, after the failure').toBe('3');
        expect(highOf(1), 'records in partition 1').toBe('0');
    });
});
