// The Kafka bus transport against a real broker: batched publishing, at-least-once consumption
// with commits after settling, redelivery after a consumer stops, partitions shared by two
// runtimes, and the assignment epochs of partitions that move. Start the broker with
// `scripts/services.sh start` and export the UL_TEST_KAFKA_BROKERS line it prints.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

import { Kafka, logLevel } from 'kafkajs';
import type { NodeAPI, NodeMessage } from 'node-red';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deliveryOf } from '../../lib/bus/delivery';
import type { BusLogger } from '../../lib/bus/kafka-client';
import { createKafkaBus, DESIGN_TOPICS, type KafkaBus, type KafkaBusTuning } from '../../lib/bus/kafka';
import type { KafkaSettings } from '../../lib/bus/settings';
import type { BusMessage, SubscriptionState } from '../../lib/bus/transport';
import { metricValue } from '../../lib/observability/counters';
import busNode from '../../nodes/bus/bus';
import busInNode from '../../nodes/bus-in/bus-in';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const PARTITIONS = 12;
const run = randomBytes(4).toString('hex');
const topicOf = (name: string): string => `kafka-bus-test-${run}-${name}`;
const groupPrefix = `kafka-bus-test-${run}`;

function brokers(): string[] {
    const value = process.env.UL_TEST_KAFKA_BROKERS;
    if (!value) {
        throw new Error('UL_TEST_KAFKA_BROKERS is not set. Start Kafka with `scripts/services.sh start` (as root) and export the UL_TEST_KAFKA_BROKERS=... line it prints.');
    }
    return value.split(',').map((broker) => broker.trim());
}

/** Collects the bus's log lines; warnings and errors are printed, because they explain failures. */
function testLogger(lines: string[]): BusLogger {
    const keep = (level: string) => (message: string): void => {
        lines.push(`${level} ${message}`);
    };
    return { info: keep('info'), debug: keep('debug'), warn: keep('warn'), error: keep('error') };
}

const buses: KafkaBus[] = [];
const logLines: string[] = [];

function newBus(tuning: KafkaBusTuning = {}, weight = 1): KafkaBus {
    const settings: KafkaSettings = { brokers: brokers(), clientId: `kafka-bus-test-${run}`, groupId: groupPrefix, partitions: PARTITIONS, replicationFactor: 1, weight };
    const bus = createKafkaBus(settings, testLogger(logLines), { topics: [], commitIntervalMs: 100, lagIntervalMs: 250, sessionTimeoutMs: 10_000, ...tuning });
    buses.push(bus);
    return bus;
}

let admin: ReturnType<Kafka['admin']>;
/** Design topics that a bus config node in this file creates; removed again unless they existed before. */
let designTopicsToRemove: string[] = [];

beforeAll(async () => {
    const kafka = new Kafka({ clientId: `kafka-bus-test-admin-${run}`, brokers: brokers(), logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    designTopicsToRemove = DESIGN_TOPICS.filter((topic) => !existing.has(topic));
});

afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    const existing = await admin.listTopics();
    const topics = existing.filter((topic) => topic.startsWith(`kafka-bus-test-${run}-`) || designTopicsToRemove.includes(topic));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(groupPrefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
    const problems = logLines.filter((line) => line.startsWith('warn') || line.startsWith('error'));
    if (problems.length > 0) console.warn(`Kafka bus warnings during the test:\n${problems.join('\n')}`);
});

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
    const started = Date.now();
    while (!(await check())) {
        if (Date.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.\nBus log:\n${logLines.slice(-30).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/**
 * Committed offset and end offset per partition of a group's topic. A partition without a commit
 * counts as committed at 0, where the group starts reading it; the test topics lose no messages
 * to retention.
 */
async function groupOffsets(groupId: string, topic: string): Promise<Map<number, { committed: bigint; end: bigint }>> {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map(committed.partitions.map(({ partition, offset }) => [partition, BigInt(offset)]));
    return new Map(ends.map(({ partition, high }) => {
        const offset = byPartition.get(partition) ?? -1n;
        return [partition, { committed: offset < 0n ? 0n : offset, end: BigInt(high) }];
    }));
}

interface Payload {
    key: string;
    seq: number;
    readings: { metric: string; value: number; ts: string }[];
}

/** Publishes `count` messages over `keys` keys; seq counts up per key. Returns the time taken in ms. */
async function publishMany(bus: KafkaBus, topic: string, count: number, keys: number, firstSeq = 0): Promise<number> {
    const started = Date.now();
    const published: Promise<void>[] = [];
    for (let index = 0; index < count; index += 1) {
        const key = `well-${index % keys}`;
        const seq = firstSeq + Math.floor(index / keys);
        const value: Payload = { key, seq, readings: [{ metric: 'pressure_tpt', value: 1_000 + (index % 97), ts: new Date(1_700_000_000_000 + index * 1_000).toISOString() }] };
        published.push(bus.publish(topic, key, value));
    }
    await Promise.all(published);
    return Date.now() - started;
}

const position = (message: BusMessage): string => `${message.partition}:${message.offset}`;

describe('Kafka bus', () => {
    it('should deliver 20,000 messages in key order', async () => {
        const topic = topicOf('order');
        const producer = newBus();
        await producer.ensureTopic(topic);
        const publishMs = await publishMany(producer, topic, 20_000, 50);

        const consumer = newBus();
        const lastSeq = new Map<string, number>();
        const outOfOrder: string[] = [];
        const seen = new Set<string>();
        let received = 0;
        let firstAt = 0;
        const started = Date.now();
        consumer.subscribe(
            topic,
            (message) => {
                if (received === 0) firstAt = Date.now();
                received += 1;
                seen.add(position(message));
                const { key, seq } = message.value as Payload;
                const previous = lastSeq.get(key) ?? -1;
                if (seq <= previous || message.key !== key) outOfOrder.push(`${key} ${previous} -> ${seq}`);
                lastSeq.set(key, seq);
                // Settles later, as a flow does after its store write.
                return new Promise<void>((resolve) => setTimeout(resolve, 1 + (seq % 5)));
            },
            { group: 'order' },
        );
        await waitFor(() => received >= 20_000, '20,000 messages');
        const consumeMs = Date.now() - firstAt;

        await waitFor(async () => {
            const offsets = await groupOffsets(`${groupPrefix}.order`, topic);
            return [...offsets.values()].every(({ committed, end }) => committed === end);
        }, 'committed offsets at the end of every partition', 30_000);
        await waitFor(() => metricValue('ul_bus_consumer_lag', { topic, partition: '0', group: `${groupPrefix}.order` }) === 0, 'the lag gauge at 0', 10_000);

        console.info(`Kafka bus: published 20,000 messages in ${publishMs} ms (${Math.round(20_000_000 / publishMs)} msg/s); `
            + `consumed and settled them in ${consumeMs} ms (${Math.round(20_000_000 / Math.max(consumeMs, 1))} msg/s), ${Date.now() - started} ms after subscribing.`);
        expect(received).toBe(20_000);
        expect(seen.size).toBe(20_000);
        expect(outOfOrder).toEqual([]);
        expect([...lastSeq.values()].every((seq) => seq === 399)).toBe(true);
        expect(metricValue('ul_bus_published_total', { topic })).toBe(20_000);
    });

    it('should carry text and JSON values', async () => {
        const topic = topicOf('values');
        const bus = newBus();
        await bus.ensureTopic(topic);
        const envelopeText = '{"cert_id":"c1","device_id":"edge-01","sig":"x","v":1}';
        const values: unknown[] = [envelopeText, 'plain "quoted" text', [{ asset_id: 'well-1', value: 1.5 }], { asset_id: 'well-2' }, 42, null];
        for (const value of values) await bus.publish(topic, 'well-1', value);

        const received: unknown[] = [];
        bus.subscribe(topic, (message) => {
            received.push(message.value);
        }, { group: 'values' });
        await waitFor(() => received.length >= values.length, 'six messages');

        expect(received).toEqual(values);
        // Text is stored as it came, with a header that says so, instead of as a JSON string.
        const kafka = new Kafka({ clientId: `kafka-bus-test-raw-${run}`, brokers: brokers(), logLevel: logLevel.NOTHING });
        const raw = kafka.consumer({ groupId: `${groupPrefix}.values-raw` });
        await raw.connect();
        await raw.subscribe({ topic, fromBeginning: true });
        const stored: { value: string; type?: string }[] = [];
        await raw.run({ eachMessage: async ({ message }) => {
            stored.push({ value: message.value?.toString('utf8') ?? '', type: message.headers?.['content-type']?.toString() });
        } });
        await waitFor(() => stored.length >= values.length, 'the raw records');
        await raw.disconnect();

        expect(stored[0]).toEqual({ value: envelopeText, type: 'text/plain; charset=utf-8' });
        expect(stored[2]).toEqual({ value: '[{"asset_id":"well-1","value":1.5}]', type: undefined });
    });

    it('should redeliver unsettled messages', async () => {
        const topic = topicOf('redeliver');
        const producer = newBus();
        await publishMany(producer, topic, 2_000, 20);

        // The first consumer leaves every tenth message unsettled, then stops.
        const first = newBus({ closeTimeoutMs: 300 });
        const unsettled = new Map<string, BusMessage>();
        let firstReceived = 0;
        const stopFirst = first.subscribe(
            topic,
            (message) => {
                firstReceived += 1;
                if ((message.value as Payload).seq % 10 === 3) {
                    unsettled.set(position(message), message);
                    return new Promise<void>(() => undefined);
                }
                return Promise.resolve();
            },
            { group: 'redeliver' },
        );
        await waitFor(() => firstReceived >= 2_000, 'the first consumer to receive 2,000 messages');
        await stopFirst();

        const offsets = await groupOffsets(`${groupPrefix}.redeliver`, topic);
        for (const [partition, { committed, end }] of offsets) {
            const lowestUnsettled = [...unsettled.values()].filter((message) => message.partition === partition).map((message) => BigInt(message.offset ?? '0'));
            const expected = lowestUnsettled.length > 0 ? lowestUnsettled.reduce((low, offset) => (offset < low ? offset : low)) : end;
            expect(committed, `committed offset of partition ${partition}`).toBe(expected);
        }

        const second = newBus();
        const again = new Map<string, BusMessage>();
        second.subscribe(
            topic,
            (message) => {
                again.set(position(message), message);
                return Promise.resolve();
            },
            { group: 'redeliver' },
        );
        const expectedAgain = [...offsets.values()].reduce((sum, { committed, end }) => sum + Number(end - committed), 0);
        await waitFor(() => again.size >= expectedAgain, `${expectedAgain} redelivered messages`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));

        expect(unsettled.size).toBe(200);
        for (const key of unsettled.keys()) expect(again.has(key), `message ${key} delivered again`).toBe(true);
        for (const message of again.values()) {
            const { committed } = offsets.get(message.partition ?? -1) ?? { committed: -1n };
            expect(BigInt(message.offset ?? '-1') >= committed, `message ${position(message)} is at or after the commit`).toBe(true);
        }
        expect(again.size).toBe(expectedAgain);
    });

    it('should deliver a failed message again without a restart', async () => {
        const topic = topicOf('retry-failed');
        const producer = newBus();
        await publishMany(producer, topic, 500, 10);

        // Every message whose sequence ends in 7 fails on its first delivery, as when the next
        // topic or the database is unreachable for a moment.
        const consumer = newBus();
        const attempts = new Map<string, number>();
        const settled = new Set<string>();
        consumer.subscribe(
            topic,
            (message) => {
                const key = position(message);
                const attempt = (attempts.get(key) ?? 0) + 1;
                attempts.set(key, attempt);
                if ((message.value as Payload).seq % 10 === 7 && attempt === 1) return Promise.reject(new Error('next topic unreachable'));
                settled.add(key);
                return Promise.resolve();
            },
            { group: 'retry-failed' },
        );
        await waitFor(() => settled.size >= 500, 'all 500 messages to settle', 60_000);
        await waitFor(async () => {
            const offsets = await groupOffsets(`${groupPrefix}.retry-failed`, topic);
            return [...offsets.values()].every(({ committed, end }) => committed === end);
        }, 'every partition committed to its end', 30_000);

        const failedOnce = [...attempts.entries()].filter(([, count]) => count >= 2).map(([key]) => key);
        expect(failedOnce).toHaveLength(50);
        // Messages after a failed one were not handed out again.
        expect([...attempts.values()].filter((count) => count > 2)).toEqual([]);
        expect(attempts.size).toBe(500);
    });

    it('should share and hand over partitions', async () => {
        const topic = topicOf('share');
        const producer = newBus();
        await producer.ensureTopic(topic);

        const states: Record<'a' | 'b', string> = { a: '', b: '' };
        const received: Record<'a' | 'b', Map<string, Payload>> = { a: new Map(), b: new Map() };
        const subscribeAs = (runtime: 'a' | 'b') =>
            newBus().subscribe(
                topic,
                (message) => {
                    received[runtime].set(position(message), message.value as Payload);
                    return new Promise<void>((resolve) => setImmediate(resolve));
                },
                { group: 'share', onState: (state: SubscriptionState, detail?: string) => (states[runtime] = `${state} ${detail ?? ''}`) },
            );
        const stopA = subscribeAs('a');
        await waitFor(() => states.a === `connected ${PARTITIONS} partitions`, 'runtime a to own every partition');
        subscribeAs('b');
        const share = (runtime: 'a' | 'b'): number => Number(/connected (\d+) partitions/.exec(states[runtime])?.[1] ?? 0);
        await waitFor(() => share('a') > 0 && share('b') > 0 && share('a') + share('b') === PARTITIONS, 'the partitions to be split');

        await publishMany(producer, topic, 3_000, 60);
        const total = (): number => new Set([...received.a.keys(), ...received.b.keys()]).size;
        await waitFor(() => total() >= 3_000, 'the first 3,000 messages');
        expect(received.a.size).toBeGreaterThan(0);
        expect(received.b.size).toBeGreaterThan(0);

        await stopA();
        await waitFor(() => share('b') === PARTITIONS, 'runtime b to take over every partition');
        const before = received.b.size;
        await publishMany(producer, topic, 3_000, 60, 50);
        await waitFor(() => total() >= 6_000, 'all 6,000 messages');

        const secondRound = [...received.b.values()].filter((payload) => payload.seq >= 50);
        expect(secondRound).toHaveLength(3_000);
        expect(received.b.size - before).toBeGreaterThanOrEqual(3_000);
        expect(total()).toBe(6_000);
    });

    it('should split partitions by weight', async () => {
        const topic = topicOf('weights');
        await newBus().ensureTopic(topic);
        const states: string[] = ['', ''];
        const share = (index: number): number => Number(/connected (\d+) partitions/.exec(states[index])?.[1] ?? 0);
        [1, 2].forEach((weight, index) => {
            newBus({}, weight).subscribe(topic, () => undefined, { group: 'weights', onState: (state: SubscriptionState, detail?: string) => (states[index] = `${state} ${detail ?? ''}`) });
        });

        await waitFor(() => share(0) === PARTITIONS / 3 && share(1) === (PARTITIONS * 2) / 3, `a split of ${PARTITIONS / 3} and ${(PARTITIONS * 2) / 3} partitions`);
        expect(share(0) + share(1)).toBe(PARTITIONS);
        // Both consumers run in this process with the same labels, so the gauge reads the one registered last.
        expect(metricValue('ul_bus_assigned_partitions', { topic, group: `${groupPrefix}.weights` })).toBe((PARTITIONS * 2) / 3);
    });

    it('should give partitions that come back a new epoch', async () => {
        const topic = topicOf('epochs');
        const producer = newBus();
        await producer.ensureTopic(topic);

        const states: Record<'a' | 'b', string> = { a: '', b: '' };
        /** Assignment epoch per runtime, round (the payload's seq) and partition. */
        const epochs = new Map<string, number>();
        const subscribeAs = (runtime: 'a' | 'b') =>
            newBus().subscribe(
                topic,
                (message) => {
                    epochs.set(`${runtime} ${(message.value as Payload).seq} ${message.partition}`, message.epoch ?? -1);
                },
                { group: 'epochs', onState: (state: SubscriptionState, detail?: string) => (states[runtime] = `${state} ${detail ?? ''}`) },
            );
        const share = (runtime: 'a' | 'b'): number => Number(/connected (\d+) partitions/.exec(states[runtime])?.[1] ?? 0);
        /** Publishes one round of 60 keys and returns each partition's epoch on each runtime in that round. */
        const round = async (seq: number): Promise<Record<'a' | 'b', Map<number, number>>> => {
            await publishMany(producer, topic, 60, 60, seq);
            const inRound = (runtime: 'a' | 'b'): Map<number, number> => {
                const byPartition = new Map<number, number>();
                for (const [entry, epoch] of epochs) {
                    const [owner, round, partition] = entry.split(' ');
                    if (owner === runtime && Number(round) === seq) byPartition.set(Number(partition), epoch);
                }
                return byPartition;
            };
            await waitFor(() => new Set([...inRound('a').keys(), ...inRound('b').keys()]).size === PARTITIONS, `round ${seq} on every partition`);
            return { a: inRound('a'), b: inRound('b') };
        };

        subscribeAs('a');
        await waitFor(() => share('a') === PARTITIONS, 'runtime a to own every partition');
        const alone = await round(0);
        expect(new Set(alone.a.values()).size).toBe(PARTITIONS);

        const stopB = subscribeAs('b');
        await waitFor(() => share('a') > 0 && share('b') > 0 && share('a') + share('b') === PARTITIONS, 'the partitions to be split');
        const shared = await round(100);
        // Partitions that stayed with runtime a through the rebalance keep their epoch.
        expect(shared.a.size).toBeGreaterThan(0);
        expect(shared.b.size).toBeGreaterThan(0);
        for (const [partition, epoch] of shared.a) expect(epoch, `partition ${partition}`).toBe(alone.a.get(partition));

        await stopB();
        await waitFor(() => share('a') === PARTITIONS, 'runtime a to own every partition again');
        const back = await round(200);
        const highest = Math.max(...alone.a.values(), ...shared.a.values());
        for (const [partition, epoch] of back.a) {
            if (shared.b.has(partition)) expect(epoch, `returned partition ${partition}`).toBeGreaterThan(highest);
            else expect(epoch, `kept partition ${partition}`).toBe(alone.a.get(partition));
        }
        expect(back.a.size).toBe(PARTITIONS);
    });
});

describe('Kafka bus in a flow', () => {
    beforeAll(() => {
        helper.init(require.resolve('node-red'));
    });

    afterAll(async () => {
        await helper.unload();
    });

    it('should commit only after done', async () => {
        const topic = topicOf('flow');
        const inFlow: { msg: NodeMessage; done: (err?: Error) => void }[] = [];
        const sinkNode = (RED: NodeAPI): void => {
            RED.nodes.registerType('test-sink', function (this: { on: (event: string, handler: unknown) => void }, config: never) {
                RED.nodes.createNode(this as never, config);
                this.on('input', (msg: NodeMessage, _send: unknown, done: (err?: Error) => void) => inFlow.push({ msg, done }));
            } as never);
        };
        // The helper's node API has no RED.hooks, so the test passes in the runtime's own registry.
        const { hooks } = require('@node-red/util') as { hooks: NodeAPI['hooks'] };
        const busInWithHooks = (RED: NodeAPI): void => {
            (RED as { hooks: NodeAPI['hooks'] }).hooks = hooks;
            busInNode(RED);
        };
        await helper.load([busNode, busInWithHooks, sinkNode], [
            { id: 'bus-1', type: 'ul-bus', transport: 'kafka', brokers: brokers().join(','), clientId: `kafka-bus-test-${run}`, groupId: groupPrefix, partitions: '3' },
            { id: 'in-1', type: 'ul-bus-in', bus: 'bus-1', topic, wires: [['sink-1']] },
            { id: 'sink-1', type: 'test-sink' },
        ]);
        const producer = newBus();
        await producer.publish(topic, 'well-7', [{ asset_id: 'well-7', metric: 'oil_rate', value: 812 }]);
        await waitFor(() => inFlow.length === 1, 'the message in the flow');

        const delivery = deliveryOf(inFlow[0].msg);
        const partition = delivery?.info.partition ?? -1;
        expect(inFlow[0].msg.payload).toEqual([{ asset_id: 'well-7', metric: 'oil_rate', value: 812 }]);
        expect(delivery?.info.offset).toBe('0');
        // Well past the commit interval (1 s), nothing is committed while the sink keeps the message.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect((await groupOffsets(`${groupPrefix}.in-1`, topic)).get(partition)?.committed).toBe(0n);

        inFlow[0].done();
        await waitFor(async () => (await groupOffsets(`${groupPrefix}.in-1`, topic)).get(partition)?.committed === 1n, 'the commit after done', 10_000);
    });
});
