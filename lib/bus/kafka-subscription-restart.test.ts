// KafkaSubscription while kafkajs restarts a crashed consumer. kafkajs 2.2.4 drops the consumer's
// group object when a crash disconnects the consumer, and creates a new one when the restart
// begins. In between, consumer.seek(), pause() and resume() throw KafkaJSNonRetriableError.
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { KafkaSubscription } from './kafka-subscription';
import type { BusMessage } from './transport';

const TOPIC = 'telemetry.clean';
const EVENTS = { CONNECT: 'connect', GROUP_JOIN: 'group_join', REBALANCING: 'rebalancing', CRASH: 'crash', DISCONNECT: 'disconnect', COMMIT_OFFSETS: 'commit_offsets' };

/** A kafkajs consumer as far as the subscription uses it, with the group object that a crash drops. */
class RestartingConsumer {
    readonly events = EVENTS;
    readonly seeks: { partition: number; offset: string }[] = [];
    readonly resumed: number[] = [];
    eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
    /** Whether kafkajs has a consumer group object, from run() or a restart until a crash. */
    hasGroup = false;
    private readonly listeners = new Map<string, (event: { payload: unknown }) => void>();

    on(event: string, listener: (event: { payload: unknown }) => void): void {
        this.listeners.set(event, listener);
    }

    emit(event: string, payload: unknown): void {
        this.listeners.get(event)?.({ payload });
    }

    async connect(): Promise<void> {
        this.emit(EVENTS.CONNECT, {});
    }

    async subscribe(): Promise<void> {
        return undefined;
    }

    async run(options: { eachBatch: (payload: EachBatchPayload) => Promise<void> }): Promise<void> {
        this.eachBatch = options.eachBatch;
        this.hasGroup = true;
    }

    /** Plays a crash after which kafkajs restarts the consumer: the group object is gone until the restart. */
    crash(): void {
        this.hasGroup = false;
        this.emit(EVENTS.DISCONNECT, {});
        this.emit(EVENTS.CRASH, { error: new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), restart: true });
    }

    /** Plays the restart: a new group object, then a join that assigns `partitions`. */
    rejoin(partitions: number[]): void {
        this.hasGroup = true;
        this.emit(EVENTS.GROUP_JOIN, { memberId: 'member-2', memberAssignment: { [TOPIC]: partitions } });
    }

    seek(target: { partition: number; offset: string }): void {
        this.requireGroup();
        this.seeks.push({ partition: target.partition, offset: target.offset });
    }

    pause(): void {
        this.requireGroup();
    }

    resume(topics: { topic: string; partitions?: number[] }[]): void {
        this.requireGroup();
        this.resumed.push(...(topics[0].partitions ?? [-1]));
    }

    /** Reports the commit accepted like kafkajs 2.2.4, which emits COMMIT_OFFSETS before commitOffsets resolves. */
    async commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
        const partitions = offsets.map(({ partition, offset }) => ({ partition, offset, metadata: null }));
        this.emit(EVENTS.COMMIT_OFFSETS, { groupId: 'upstream-live.store-bus-in', memberId: 'member-2', groupGenerationId: 1, topics: [{ topic: TOPIC, partitions }] });
    }

    async disconnect(): Promise<void> {
        this.hasGroup = false;
    }

    private requireGroup(): void {
        // The message of kafkajs 2.2.4 for these calls without a consumer group object.
        if (!this.hasGroup) throw new Error('Consumer group was not initialized, consumer#run must be called first');
    }
}

interface Setup {
    consumer: RestartingConsumer;
    subscription: KafkaSubscription;
    handed: { message: BusMessage; settle: () => void; fail: () => void }[];
    /** Feeds a batch of offsets of one partition, as kafkajs does after a fetch. */
    batch: (partition: number, offsets: number[]) => Promise<void>;
}

async function setUp(maxInFlightPerPartition = 10): Promise<Setup> {
    const consumer = new RestartingConsumer();
    const kafka = { consumer: () => consumer } as unknown as Kafka;
    const handed: Setup['handed'] = [];
    const silent = (): void => undefined;
    const subscription = new KafkaSubscription(
        {
            kafka,
            logger: { info: silent, warn: silent, error: silent, debug: silent },
            ready: Promise.resolve(),
            ensureTopic: async () => undefined,
            fetchLag: async () => [],
            tuning: {
                maxInFlightPerPartition,
                commitIntervalMs: 5,
                closeTimeoutMs: 50,
                lagIntervalMs: 60_000,
                sessionTimeoutMs: 30_000,
                fetchMaxWaitMs: 500,
                partitionsConsumedConcurrently: 1,
            },
        },
        TOPIC,
        (message) =>
            new Promise<void>((resolve, reject) => {
                handed.push({ message, settle: resolve, fail: () => reject(new Error('write failed')) });
            }),
        { group: 'upstream-live.store-bus-in', mode: 'shared' },
    );
    subscription.start();
    await vi.advanceTimersByTimeAsync(0);

    return {
        consumer,
        subscription,
        handed,
        batch: async (partition, offsets) => {
            if (!consumer.eachBatch) throw new Error('consumer.run was not called');
            let paused = false;
            await consumer.eachBatch({
                batch: { topic: TOPIC, partition, messages: offsets.map((offset) => ({ offset: String(offset), key: Buffer.from('well-1'), value: Buffer.from('{}') })) },
                resolveOffset: () => undefined,
                isRunning: () => !paused,
                isStale: () => false,
                pause: () => {
                    consumer.pause();
                    paused = true;
                    return () => undefined;
                },
            } as unknown as EachBatchPayload);
        },
    };
}

describe('KafkaSubscription during a consumer restart', () => {
    let setup: Setup | undefined;

    beforeEach(() => {
        // setImmediate stays real, so a test can wait until Node has reported unhandled rejections.
        vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    });

    afterEach(async () => {
        const stopping = setup?.subscription.stop();
        await vi.runAllTimersAsync();
        await stopping;
        setup = undefined;
        vi.useRealTimers();
    });

    it('should skip a redelivery seek while restarting', async () => {
        setup = await setUp();
        const { consumer, handed, batch } = setup;
        consumer.rejoin([0]);
        await batch(0, [0]);
        handed[0].fail();
        await vi.advanceTimersByTimeAsync(0);
        consumer.crash();

        // The redelivery is due while kafkajs has no consumer group object.
        await expect(vi.advanceTimersByTimeAsync(60_000)).resolves.not.toThrow();
        expect(consumer.seeks).toEqual([]);

        // After the restart kafkajs fetches from the committed offset, which is the failed one.
        consumer.rejoin([0]);
        await batch(0, [0]);
        expect(handed.map(({ message }) => message.offset)).toEqual(['0', '0']);
    });

    it('should seek to a failed offset while a member', async () => {
        setup = await setUp();
        const { consumer, handed, batch } = setup;
        consumer.rejoin([0]);
        await batch(0, [0, 1]);
        handed[1].settle();
        handed[0].fail();

        await vi.advanceTimersByTimeAsync(60_000);

        expect(consumer.seeks).toEqual([{ partition: 0, offset: '0' }]);
    });

    it('should skip resuming a partition while restarting', async () => {
        setup = await setUp(2);
        const { consumer, handed, batch } = setup;
        consumer.rejoin([0]);
        // The third message finds two unsettled ones, so the partition pauses.
        await batch(0, [0, 1, 2]);
        expect(handed).toHaveLength(2);
        consumer.crash();

        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown): void => {
            unhandled.push(reason);
        };
        process.on('unhandledRejection', onUnhandled);
        try {
            for (const { settle } of handed) settle();
            await vi.advanceTimersByTimeAsync(0);
            // Unhandled rejections are reported after the microtask queue drains.
            await new Promise<void>((resolve) => setImmediate(resolve));
        } finally {
            process.off('unhandledRejection', onUnhandled);
        }

        expect(unhandled).toEqual([]);
        expect(consumer.resumed).toEqual([]);
    });
});
