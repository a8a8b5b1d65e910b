// The Kafka broker of scripts/services.sh, driven with kafkajs: keyed messages written with
// acks -1 by the idempotent producer reach a consumer group exactly once, and the messages of each
// key arrive in the order they were sent.
import { randomUUID } from 'node:crypto';

import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BROKERS_VARIABLE = 'UL_TEST_KAFKA_BROKERS';
const PARTITION_COUNT = 4;
const MESSAGE_COUNT = 10_000;
const KEY_COUNT = 40;
const BATCH_SIZE = 500;
const CONSUME_TIMEOUT_MS = 60_000;
// Time the consumer keeps running after the last expected message, so duplicates would show.
const DUPLICATE_GRACE_MS = 2_000;

/** Returns the broker list of UL_TEST_KAFKA_BROKERS, or throws an error that explains how to start the broker. */
function testBrokers(): string[] {
    const value = process.env[BROKERS_VARIABLE] ?? '';
    const brokers = value.split(',').map((broker) => broker.trim()).filter((broker) => broker !== '');
    if (brokers.length === 0) {
        throw new Error(`${BROKERS_VARIABLE} is not set. The Kafka broker tests need the broker that `
            + '`scripts/services.sh start` (as root) starts: export the UL_TEST_KAFKA_BROKERS line it prints, '
            + 'then run the tests again.');
    }
    return brokers;
}

interface Received {
    /** Key of the Kafka record. */
    recordKey: string | undefined;
    /** Key written in the value, which must equal the record key. */
    key: string;
    sequence: number;
    partition: number;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

describe('Kafka broker of scripts/services.sh', () => {
    const topic = `ul-test-broker-${randomUUID()}`;
    const groupId = `ul-test-broker-group-${randomUUID()}`;
    let kafka: Kafka;
    let admin: Admin | undefined;
    let producer: Producer | undefined;
    let consumer: Consumer | undefined;

    beforeAll(async () => {
        // kafkajs logs its retries as errors while a new broker loads its group and transaction
        // coordinators, so its log stays off. The test collects consumer crashes itself.
        kafka = new Kafka({ clientId: 'ul-services-test', brokers: testBrokers(), logLevel: logLevel.NOTHING });
        admin = kafka.admin();
        await admin.connect();
    });

    afterAll(async () => {
        await consumer?.disconnect();
        await producer?.disconnect();
        if (admin) {
            await admin.deleteGroups([groupId]).catch(() => undefined);
            await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
            await admin.disconnect();
        }
    });

    it('should deliver keyed messages once, in order', async () => {
        const created = await admin!.createTopics({
            topics: [{ topic, numPartitions: PARTITION_COUNT, replicationFactor: 1 }],
            waitForLeaders: true,
        });
        expect(created).toBe(true);
        const metadata = await admin!.fetchTopicMetadata({ topics: [topic] });
        expect(metadata.topics[0].partitions).toHaveLength(PARTITION_COUNT);

        // Each key gets its own sequence 0, 1, 2, ... so the consumer can check the order per key.
        producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
        const sentPerKey = new Map<string, number>();
        for (let start = 0; start < MESSAGE_COUNT; start += BATCH_SIZE) {
            const messages = [];
            for (let index = start; index < Math.min(start + BATCH_SIZE, MESSAGE_COUNT); index += 1) {
                const key = `well-${index % KEY_COUNT}`;
                const sequence = sentPerKey.get(key) ?? 0;
                sentPerKey.set(key, sequence + 1);
                messages.push({ key, value: JSON.stringify({ key, sequence }) });
            }
            const records = await producer.send({ topic, acks: -1, messages });
            for (const record of records) expect(record.errorCode).toBe(0);
        }

        const received: Received[] = [];
        const crashes: string[] = [];
        consumer = kafka.consumer({ groupId });
        consumer.on(consumer.events.CRASH, (event) => {
            crashes.push(event.payload.error.message);
        });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        // No assertion in the handler: kafkajs would catch the failure and retry the message.
        await consumer.run({
            eachMessage: async ({ partition, message }) => {
                const body = JSON.parse(message.value!.toString()) as { key: string; sequence: number };
                received.push({ recordKey: message.key?.toString(), key: body.key, sequence: body.sequence, partition });
            },
        });
        await waitFor(() => received.length >= MESSAGE_COUNT, CONSUME_TIMEOUT_MS,
            () => `${MESSAGE_COUNT} messages (received ${received.length}, consumer crashes: ${crashes.join('; ') || 'none'})`);
        await new Promise((resolve) => setTimeout(resolve, DUPLICATE_GRACE_MS));
        await consumer.disconnect();
        consumer = undefined;

        // Exactly once: as many messages as sent, and no (key, sequence) pair twice.
        expect(received).toHaveLength(MESSAGE_COUNT);
        const distinct = new Set(received.map((message) => `${message.key}/${message.sequence}`));
        expect(distinct.size).toBe(MESSAGE_COUNT);
        expect(received.filter((message) => message.recordKey !== message.key)).toEqual([]);

        // Per-key order: each key's sequences arrive as 0, 1, 2, ... from one partition.
        const receivedPerKey = new Map<string, Received[]>();
        for (const message of received) {
            const messages = receivedPerKey.get(message.key) ?? [];
            messages.push(message);
            receivedPerKey.set(message.key, messages);
        }
        expect(receivedPerKey.size).toBe(KEY_COUNT);
        for (const [key, messages] of receivedPerKey) {
            const sequences = messages.map((message) => message.sequence);
            expect(sequences, `sequences of ${key}`).toEqual([...Array(sentPerKey.get(key)).keys()]);
            expect(new Set(messages.map((message) => message.partition)).size, `partitions of ${key}`).toBe(1);
        }
        expect(new Set(received.map((message) => message.partition)).size).toBe(PARTITION_COUNT);

        // The group committed its position at the end of every partition.
        const offsets = await admin!.fetchOffsets({ groupId, topics: [topic] });
        const committed = offsets[0].partitions.reduce((sum, partition) => sum + Number(partition.offset), 0);
        expect(committed).toBe(MESSAGE_COUNT);
    });
});
