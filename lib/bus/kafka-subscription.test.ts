// KafkaSubscription against a stand-in for the kafkajs consumer, so that pausing, commit points and
// rebalances are checked without a broker. test/services/kafka-bus.test.ts runs it against Kafka.
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';

import { KafkaSubscription, type SubscriptionTuning } from './kafka-subscription';
import type { BusMessage, SubscriptionMode } from './transport';

const TOPIC = 'telemetry.clean';
const EVENTS = { CONNECT: 'connect', GROUP_JOIN: 'group_join', REBALANCING: 'rebalancing', CRASH: 'crash', DISCONNECT: 'disconnect', COMMIT_OFFSETS: 'commit_offsets' };

/** Stands in for the Long values in which kafkajs 2.2.4 reports the offsets of explicit commits. */
class LongOffset {
    constructor(private readonly value: string) {}

    toString(): string {
        return this.value;
    }
}

/** Records the calls the subscription makes to kafkajs and lets the test play the broker's part. */
class FakeConsumer {
    readonly events = EVENTS;
    readonly listeners = new Map<string, (event: { payload: unknown }) => void>();
    readonly commits: { partition: number; offset: string }[][] = [];
    readonly paused: number[] = [];
    readonly resumed: (number | 'all')[] = [];
    groupId = '';
    fromBeginning: boolean | undefined;
    eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
    disconnected = false;
    /** Whether commitOffsets resolves without sending, as kafkajs does when the consumer stops while retrying a commit. */
    dropCommits = false;

    on(event: string, listener: (event: { payload: unknown }) => void): void {
        this.listeners.set(event, listener);
    }

    emit(event: string, payload: unknown): void {
        this.listeners.get(event)?.({ payload });
    }

    async connect(): Promise<void> {
        this.emit(EVENTS.CONNECT, {});
    }

    async subscribe(options: { fromBeginning: boolean }): Promise<void> {
        this.fromBeginning = options.fromBeginning;
    }

    async run(options: { eachBatch: (payload: EachBatchPayload) => Promise<void> }): Promise<void> {
        this.eachBatch = options.eachBatch;
    }

    pause(topics: { topic: string; partitions?: number[] }[]): void {
        this.paused.push(...(topics[0].partitions ?? [-1]));
    }

    resume(topics: { topic: string; partitions?: number[] }[]): void {
        this.resumed.push(...(topics[0].partitions ?? ['all' as const]));
    }

    /** Records the commit and, unless commits are dropped, reports it accepted like kafkajs. */
    async commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
        this.commits.push(offsets.map(({ partition, offset }) => ({ partition, offset })));
        if (this.dropCommits) return;
        const topics = [...new Set(offsets.map(({ topic }) => topic))].map((topic) => ({
            topic,
            partitions: offsets.filter((entry) => entry.topic === topic).map(({ partition, offset }) => ({ partition, offset: new LongOffset(offset), metadata: null })),
        }));
        this.emit(EVENTS.COMMIT_OFFSETS, { groupId: this.groupId, memberId: 'member-1', groupGenerationId: 1, topics });
    }

    async disconnect(): Promise<void> {
        this.disconnected = true;
    }
}

interface Setup {
    consumer: FakeConsumer;
    subscription: KafkaSubscription;
    /** Messages handed to the handler, with functions that settle or fail them. */
    handed: { message: BusMessage; settle: () => void; fail: () => void }[];
    resolved: string[];
    /** Debug lines the subscription logged. */
    debugLines: string[];
    /** Feeds a batch of offsets of one partition; returns the offsets the subscription resolved. */
    batch: (partition: number, offsets: number[]) => Promise<string[]>;
    /** Plays a group join that assigns `partitions` to the member `memberId`. */
    join: (partitions: number[], memberId?: string) => void;
}

async function setUp(tuning: Partial<SubscriptionTuning> = {}, mode: SubscriptionMode = 'shared'): Promise<Setup> {
    const consumer = new FakeConsumer();
    const kafka = {
        consumer: (options: { groupId: string }) => {
            consumer.groupId = options.groupId;
            return consumer;
        },
    } as unknown as Kafka;
    const handed: Setup['handed'] = [];
    const silent = (): void => undefined;
    const debugLines: string[] = [];
    const subscription = new KafkaSubscription(
        {
            kafka,
            logger: { info: silent, warn: silent, error: silent, debug: (line) => debugLines.push(line) },
            ready: Promise.resolve(),
            ensureTopic: async () => undefined,
            fetchLag: async () => [],
            tuning: {
                maxInFlightPerPartition: 4,
                commitIntervalMs: 5,
                closeTimeoutMs: 50,
                lagIntervalMs: 60_000,
                sessionTimeoutMs: 30_000,
                fetchMaxWaitMs: 500,
                partitionsConsumedConcurrently: 2,
                ...tuning,
            },
        },
        TOPIC,
        (message) =>
            new Promise<void>((resolve, reject) => {
                handed.push({ message, settle: resolve, fail: () => reject(new Error('write failed')) });
            }),
        { group: 'upstream-live.alerts-bus-in', mode },
    );
    subscription.start();
    await new Promise((resolve) => setImmediate(resolve));

    const resolved: string[] = [];
    return {
        consumer,
        subscription,
        handed,
        resolved,
        debugLines,
        join: (partitions, memberId = 'member-1') => consumer.emit(EVENTS.GROUP_JOIN, { memberId, memberAssignment: { [TOPIC]: partitions } }),
        batch: async (partition, offsets) => {
            const before = resolved.length;
            if (!consumer.eachBatch) throw new Error('consumer.run was not called');
            await consumer.eachBatch({
                batch: {
                    topic: TOPIC,
                    partition,
                    highWatermark: String(offsets[offsets.length - 1] + 1),
                    messages: offsets.map((offset) => ({ offset: String(offset), key: Buffer.from(`well-${offset % 3}`), value: Buffer.from(JSON.stringify({ offset })) })),
                },
                resolveOffset: (offset: string) => resolved.push(`${partition}:${offset}`),
                pause: () => {
                    consumer.paused.push(partition);
                    return () => undefined;
                },
                isRunning: () => true,
                isStale: () => false,
                heartbeat: async () => undefined,
                commitOffsetsIfNecessary: async () => undefined,
                uncommittedOffsets: () => ({ topics: [] }),
            } as unknown as EachBatchPayload);
            return resolved.slice(before);
        },
    };
}

const tick = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('KafkaSubscription', () => {
    it('should join its group from the oldest message', async () => {
        const { consumer } = await setUp();

        expect(consumer.groupId).toBe('upstream-live.alerts-bus-in');
        expect(consumer.fromBeginning).toBe(true);
    });

    it('should hand over messages in offset order', async () => {
        const { handed, batch, join } = await setUp();
        join([0]);
        const resolved = await batch(0, [0, 1, 2]);

        expect(handed.map(({ message }) => message.offset)).toEqual(['0', '1', '2']);
        expect(handed[1].message).toEqual({ topic: TOPIC, key: 'well-1', value: { offset: 1 }, partition: 0, offset: '1', epoch: handed[0].message.epoch });
        expect(handed[0].message.epoch).toBeTypeOf('number');
        expect(resolved).toEqual(['0:0', '0:1', '0:2']);
    });

    it('should commit below the first unsettled offset', async () => {
        const { consumer, handed, batch, join } = await setUp();
        join([0]);
        await batch(0, [0, 1, 2]);
        handed[0].settle();
        handed[2].settle();
        await tick();

        expect(consumer.commits).toEqual([[{ partition: 0, offset: '1' }]]);
        handed[1].settle();
        await tick();
        expect(consumer.commits.at(-1)).toEqual([{ partition: 0, offset: '3' }]);
    });

    it('should hold the commit at a failed offset', async () => {
        const { consumer, handed, batch, join } = await setUp();
        join([0]);
        await batch(0, [0, 1]);
        handed[0].fail();
        handed[1].settle();
        await tick();

        // Offset 0 is the next one to read, so the group's position stays before the failed message.
        expect(consumer.commits.flat()).toEqual([{ partition: 0, offset: '0' }]);
    });

    it('should pause a full partition and resume at half', async () => {
        const { consumer, handed, batch, join } = await setUp({ maxInFlightPerPartition: 4 });
        join([0]);
        const resolved = await batch(0, [0, 1, 2, 3, 4, 5]);

        expect(resolved).toEqual(['0:0', '0:1', '0:2', '0:3']);
        expect(consumer.paused).toEqual([0]);
        handed[0].settle();
        await tick(1);
        expect(consumer.resumed).toEqual([]);

        handed[1].settle();
        await tick(1);
        expect(consumer.resumed).toEqual([0]);
    });

    it('should skip offsets fetched again after a rebalance', async () => {
        const { handed, batch, join } = await setUp();
        join([0]);
        await batch(0, [0, 1, 2]);
        handed[0].settle();
        handed[1].fail();
        await tick();

        join([0]);
        const resolved = await batch(0, [1, 2, 3]);
        expect(resolved).toEqual(['0:1', '0:2', '0:3']);
        // The failed offset 1 and the new offset 3 are handed over; 2 is still in the flow.
        expect(handed.map(({ message }) => message.offset)).toEqual(['0', '1', '2', '1', '3']);
    });

    it('should forget and not commit revoked partitions', async () => {
        const { consumer, handed, batch, join } = await setUp();
        join([0, 1]);
        await batch(0, [0]);
        await batch(1, [0]);
        join([1]);
        handed[0].settle();
        handed[1].settle();
        await tick();

        expect(consumer.commits.flat()).toEqual([{ partition: 1, offset: '1' }]);
    });

    it('should resend a commit that kafkajs dropped', async () => {
        const { consumer, handed, batch, join, subscription, debugLines } = await setUp();
        join([0]);
        await batch(0, [0, 1]);
        consumer.dropCommits = true;
        handed[0].settle();
        handed[1].settle();
        await tick();
        expect(consumer.commits).toEqual([[{ partition: 0, offset: '2' }]]);
        expect(debugLines.filter((line) => line.includes('for partition 0 at offset 2'))).toHaveLength(1);

        // No message arrives after the restart, so only the commit pass of the new join sends offset 2 again.
        consumer.dropCommits = false;
        consumer.emit(EVENTS.CRASH, { error: new Error('connection lost'), restart: true });
        join([0], 'member-2');
        await tick();
        expect(consumer.commits).toEqual([[{ partition: 0, offset: '2' }], [{ partition: 0, offset: '2' }]]);

        // The broker accepted it this time, so the partition counts as committed.
        await subscription.commitSettled();
        expect(consumer.commits).toHaveLength(2);
    });

    it('should ignore commits of other topics', async () => {
        const { consumer, handed, batch, join } = await setUp();
        join([0]);
        await batch(0, [0]);
        consumer.emit(EVENTS.COMMIT_OFFSETS, { groupId: consumer.groupId, memberId: 'member-1', groupGenerationId: 1, topics: [{ topic: 'telemetry.raw', partitions: [{ partition: 0, offset: new LongOffset('1') }] }] });
        handed[0].settle();
        await tick();

        expect(consumer.commits).toEqual([[{ partition: 0, offset: '1' }]]);
    });

    it('should commit what settled when stopping', async () => {
        const { consumer, handed, batch, join, subscription } = await setUp({ commitIntervalMs: 60_000, closeTimeoutMs: 200 });
        join([0]);
        await batch(0, [0, 1, 2]);
        handed[0].settle();
        const stopped = subscription.stop();
        await tick(10);
        handed[1].settle();
        await stopped;

        expect(consumer.paused).toContain(-1);
        expect(consumer.commits).toEqual([[{ partition: 0, offset: '2' }]]);
        expect(consumer.disconnected).toBe(true);
    });

    describe('assignment epochs', () => {
        /** Returns the epoch of the last message handed over from `partition`. */
        async function epochAfterBatch(setup: Setup, partition: number, offset: number): Promise<number | undefined> {
            await setup.batch(partition, [offset]);
            return setup.handed.at(-1)?.message.epoch;
        }

        it('should give each partition its own epoch', async () => {
            const setup = await setUp();
            setup.join([0, 1]);
            const first = await epochAfterBatch(setup, 0, 0);
            const second = await epochAfterBatch(setup, 1, 0);

            expect(first).toBeTypeOf('number');
            expect(second).toBeTypeOf('number');
            expect(second).not.toBe(first);
            // Later messages of the same assignment keep the epoch.
            expect(await epochAfterBatch(setup, 0, 1)).toBe(first);
        });

        it('should keep the epoch across a rebalance', async () => {
            const setup = await setUp();
            setup.join([0, 1]);
            const keptEpoch = await epochAfterBatch(setup, 0, 0);
            setup.consumer.emit(EVENTS.REBALANCING, {});
            setup.join([0, 2]);

            expect(await epochAfterBatch(setup, 0, 1)).toBe(keptEpoch);
        });

        it('should raise the epoch of a returning partition', async () => {
            const setup = await setUp();
            setup.join([0, 1]);
            const before = await epochAfterBatch(setup, 1, 0);
            setup.join([0]);
            setup.join([0, 1]);
            const after = await epochAfterBatch(setup, 1, 1);

            expect(before).toBeTypeOf('number');
            expect(after).toBeGreaterThan(before ?? Infinity);
        });

        it('should give an added partition a higher epoch', async () => {
            const setup = await setUp();
            setup.join([0]);
            const existing = await epochAfterBatch(setup, 0, 0);
            setup.join([0, 1]);
            const added = await epochAfterBatch(setup, 1, 0);

            expect(added).toBeGreaterThan(existing ?? Infinity);
            expect(await epochAfterBatch(setup, 0, 1)).toBe(existing);
        });

        it('should raise every epoch under a new member id', async () => {
            // kafkajs joins again under a new member id after the group dropped this consumer, for
            // example after a session timeout. Its partitions may have had another owner meanwhile.
            const setup = await setUp();
            setup.join([0], 'member-1');
            const before = await epochAfterBatch(setup, 0, 0);
            setup.join([0], 'member-2');

            expect(await epochAfterBatch(setup, 0, 1)).toBeGreaterThan(before ?? Infinity);
        });

        it('should raise every epoch after a crash', async () => {
            const setup = await setUp();
            setup.join([0]);
            const before = await epochAfterBatch(setup, 0, 0);
            setup.consumer.emit(EVENTS.CRASH, { error: new Error('connection lost'), restart: true });
            setup.join([0]);

            expect(await epochAfterBatch(setup, 0, 1)).toBeGreaterThan(before ?? Infinity);
        });

        it('should not repeat epochs across subscriptions', async () => {
            const first = await setUp();
            const second = await setUp();
            first.join([0]);
            second.join([0]);
            const epochs = [await epochAfterBatch(first, 0, 0), await epochAfterBatch(second, 0, 0)];

            expect(new Set(epochs).size).toBe(2);
        });
    });

    it('should pause a slow live view', async () => {
        const { consumer, handed, batch, join } = await setUp({ maxInFlightPerPartition: 4 }, 'broadcast');
        join([0]);
        const resolved = await batch(0, [0, 1, 2, 3, 4, 5]);

        expect(resolved).toEqual(['0:0', '0:1', '0:2', '0:3']);
        expect(consumer.paused).toEqual([0]);
        // A failure settles the message too: a live view gets no second delivery.
        handed[0].fail();
        handed[1].settle();
        await tick(1);
        expect(consumer.resumed).toEqual([0]);
        expect(consumer.commits).toEqual([]);
    });

    it('should not commit in broadcast mode', async () => {
        const { consumer, handed, batch, join } = await setUp({}, 'broadcast');
        join([0]);
        await batch(0, [0, 1]);
        await tick();

        expect(consumer.fromBeginning).toBe(false);
        expect(consumer.groupId).toMatch(/^upstream-live\.alerts-bus-in\..+\.\d+\.[0-9a-f]{6}$/);
        expect(handed).toHaveLength(2);
        expect(consumer.commits).toEqual([]);
    });
});
