// KafkaBus publishing against a stand-in for kafkajs and the broker, so that the idempotent
// producer's sequence numbers can be checked without a broker. The stand-in behaves as kafkajs
// 2.2.4 and Kafka 4.1 do in the cases tested here. kafkajs rolls back the sequence numbers of
// every partition of a failed produce request. The broker takes a batch whose sequence range
// matches the last batch it stored for that producer and partition for a retry, so it
// acknowledges the batch without storing it again. test/services/kafka-outage.test.ts runs the
// same case against Kafka.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ServiceError } from '../errors';
import { KafkaBus } from './kafka';
import type { KafkaSettings } from './settings';

const TOPIC = 'telemetry.raw';

interface ProducedPartition {
    partition: number;
    firstSequence: number;
    values: string[];
}

/** One broker with one topic: its partition logs and the state it keeps per producer id and partition. */
class FakeBroker {
    readonly logs = new Map<number, string[]>();
    /** Producer ids handed out, in order. */
    readonly producerIds: number[] = [];
    /** Partitions whose next produce fails with a non-retriable error, as a too large record does. */
    readonly rejectNext = new Set<number>();
    /** Whether connecting a producer fails, as it does while the broker is down. */
    unreachable = false;
    private readonly lastBatch = new Map<string, { first: number; last: number }>();

    initProducerId(): number {
        const id = 1_000 + this.producerIds.length;
        this.producerIds.push(id);
        return id;
    }

    log(partition: number): string[] {
        return this.logs.get(partition) ?? [];
    }

    /** Appends each partition's records unless the partition is rejected or the batch is a duplicate, and returns the failed partitions. */
    produce(producerId: number, partitions: ProducedPartition[]): { partition: number; error: string }[] {
        const errors: { partition: number; error: string }[] = [];
        for (const { partition, firstSequence, values } of partitions) {
            const key = `${producerId}/${partition}`;
            const last = firstSequence + values.length - 1;
            const previous = this.lastBatch.get(key);
            if (this.rejectNext.delete(partition)) {
                errors.push({ partition, error: 'MESSAGE_TOO_LARGE' });
            } else if (previous && previous.first === firstSequence && previous.last === last) {
                // A retry of the stored batch: acknowledged, not stored again.
            } else if (firstSequence !== (previous ? previous.last + 1 : 0)) {
                errors.push({ partition, error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
            } else {
                this.logs.set(partition, [...this.log(partition), ...values]);
                this.lastBatch.set(key, { first: firstSequence, last });
            }
        }
        return errors;
    }
}

/** The idempotent producer of kafkajs 2.2.4 as far as sequence numbers go. A message's key is its partition number. */
class FakeProducer {
    readonly events = { CONNECT: 'producer.connect' };
    connected = false;
    disconnected = false;
    private producerId: number | undefined;
    private readonly sequences = new Map<number, number>();
    private readonly listeners: (() => void)[] = [];
    private readonly broker: FakeBroker;

    constructor(broker: FakeBroker) {
        this.broker = broker;
    }

    on(_event: string, listener: () => void): void {
        this.listeners.push(listener);
    }

    async connect(): Promise<void> {
        if (this.broker.unreachable) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
        this.connected = true;
        this.producerId ??= this.broker.initProducerId();
        for (const listener of this.listeners) listener();
    }

    async disconnect(): Promise<void> {
        this.disconnected = true;
    }

    async sendBatch(request: { topicMessages: { topic: string; messages: { key: string; value: string }[] }[] }): Promise<void> {
        if (!this.connected || this.disconnected || this.producerId === undefined) throw new Error('The producer is not connected');
        const byPartition = new Map<number, string[]>();
        for (const { messages } of request.topicMessages) {
            for (const { key, value } of messages) byPartition.set(Number(key), [...(byPartition.get(Number(key)) ?? []), value]);
        }
        // kafkajs advances each partition's sequence before the request and rolls every one back when the request fails.
        const partitions: ProducedPartition[] = [];
        for (const [partition, values] of byPartition) {
            const firstSequence = this.sequences.get(partition) ?? 0;
            this.sequences.set(partition, firstSequence + values.length);
            partitions.push({ partition, firstSequence, values });
        }
        const errors = this.broker.produce(this.producerId, partitions);
        if (errors.length > 0) {
            for (const { partition, values } of partitions) this.sequences.set(partition, (this.sequences.get(partition) ?? 0) - values.length);
            throw new Error(`Produce failed with ${errors[0].error} on partition ${errors[0].partition}`);
        }
    }
}

const broker = { current: new FakeBroker() };
const producers: FakeProducer[] = [];

vi.mock('./kafka-client', async (importOriginal) => {
    const original = await importOriginal<typeof import('./kafka-client')>();
    return {
        ...original,
        createKafkaClient: () => ({
            admin: () => ({
                connect: async () => undefined,
                disconnect: async () => undefined,
                listTopics: async () => [TOPIC],
                createTopics: async () => true,
            }),
            producer: () => {
                const producer = new FakeProducer(broker.current);
                producers.push(producer);
                return producer;
            },
        }),
    };
});

const settings: KafkaSettings = { brokers: ['127.0.0.1:9092'], clientId: 'kafka-test', groupId: 'kafka-test', partitions: 2, replicationFactor: 1, weight: 1 };
const silent = (): void => undefined;

/** Publishes each [partition, value] pair in one batch and returns the outcome of each. */
async function publishTogether(bus: KafkaBus, messages: [number, string][]): Promise<PromiseSettledResult<void>[]> {
    return Promise.allSettled(messages.map(([partition, value]) => bus.publish(TOPIC, String(partition), value)));
}

describe('KafkaBus publishing', () => {
    let bus: KafkaBus;

    beforeEach(async () => {
        broker.current = new FakeBroker();
        producers.length = 0;
        bus = new KafkaBus(settings, { info: silent, warn: silent, error: silent, debug: silent }, { topics: [TOPIC], lingerMs: 1 });
        await bus.ready;
    });

    afterEach(async () => {
        await bus.close();
    });

    it('should store publishes after a partly stored batch', async () => {
        await bus.publish(TOPIC, '0', 'before');
        // Partition 0 of the next batch is stored and partition 1 is rejected, so the whole batch fails.
        broker.current.rejectNext.add(1);
        const failed = await publishTogether(bus, [[0, 'stored'], [1, 'too large']]);
        expect(failed.map(({ status }) => status)).toEqual(['rejected', 'rejected']);

        await bus.publish(TOPIC, '0', 'after');

        expect(broker.current.log(0)).toEqual(['before', 'stored', 'after']);
        expect(broker.current.log(1)).toEqual([]);
    });

    it('should replace the producer after a failed batch', async () => {
        broker.current.rejectNext.add(0);
        const [failed] = await publishTogether(bus, [[0, 'rejected']]);
        expect(failed.status).toBe('rejected');
        expect(producers).toHaveLength(1);

        await bus.publish(TOPIC, '0', 'next');

        expect(producers).toHaveLength(2);
        expect(producers[0].disconnected).toBe(true);
        expect(producers[1].connected).toBe(true);
        expect(broker.current.producerIds).toHaveLength(2);
        expect(broker.current.log(0)).toEqual(['next']);
    });

    it('should keep the producer while batches succeed', async () => {
        for (let index = 0; index < 5; index += 1) await publishTogether(bus, [[0, `a${index}`], [1, `b${index}`]]);

        expect(producers).toHaveLength(1);
        expect(broker.current.producerIds).toHaveLength(1);
        expect(broker.current.log(0)).toHaveLength(5);
        expect(broker.current.log(1)).toHaveLength(5);
    });

    it('should retry a failed producer replacement', async () => {
        broker.current.rejectNext.add(0);
        await publishTogether(bus, [[0, 'rejected']]);
        broker.current.unreachable = true;

        const unreachable = await bus.publish(TOPIC, '0', 'while down').catch((error: unknown) => error);
        expect(unreachable).toBeInstanceOf(ServiceError);
        expect((unreachable as ServiceError).retriable).toBe(true);
        expect((unreachable as ServiceError).message).toContain('ECONNREFUSED');
        expect(producers[1].disconnected).toBe(true);

        broker.current.unreachable = false;
        await bus.publish(TOPIC, '0', 'back');

        expect(producers).toHaveLength(3);
        expect(producers[0].disconnected).toBe(true);
        expect(broker.current.log(0)).toEqual(['back']);
    });
});
