// One Kafka consumer: reads one topic for one consumer group, hands each partition's messages to
// the handler in offset order, and commits per partition the offset below which every delivery
// has settled. kafkajs runs with autoCommit off and without auto-resolve, so it commits nothing by
// itself. Resolving an offset here only moves kafkajs's fetch position; the commit point is kept
// in PartitionOffsets.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

import type { Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { PartitionAssigners } from 'kafkajs';

import { toError } from '../errors';
import { incrementCounter, registerGauge } from '../observability/counters';
import type { BusLogger } from './kafka-client';
import { PartitionOffsets, type OffsetEntry } from './partition-offsets';
import type { BusHandler, BusMessage, SubscriptionMode, SubscriptionState } from './transport';
import { weightedAssigner } from './weighted-assigner';

export interface SubscriptionTuning {
    /** Unsettled deliveries per partition before the partition is paused; default 1,000. */
    maxInFlightPerPartition: number;
    /** Delay between a settle and the commit that includes it, in milliseconds; default 1,000. */
    commitIntervalMs: number;
    /** How long stopping waits for in-flight deliveries to settle, in milliseconds; default 5,000. */
    closeTimeoutMs: number;
    /** How often consumer lag is read from the brokers, in milliseconds; default 10,000. */
    lagIntervalMs: number;
    /** Consumer session timeout, in milliseconds; default 30,000. A crashed runtime's partitions move after it. */
    sessionTimeoutMs: number;
    /** Maximum time a fetch waits for new messages, in milliseconds; default 500. */
    fetchMaxWaitMs: number;
    /** Partitions handled at the same time; default the bus's partition count. */
    partitionsConsumedConcurrently: number;
}

/** Services of the bus that a subscription uses. */
export interface SubscriptionContext {
    kafka: Kafka;
    logger: BusLogger;
    /** Resolves when the bus has connected and created its topics. */
    ready: Promise<void>;
    ensureTopic(topic: string): Promise<void>;
    /** Reads, per partition, how many messages the group has not committed yet. */
    fetchLag(groupId: string, topic: string): Promise<{ partition: number; lag: number }[]>;
    tuning: SubscriptionTuning;
    /** This runtime's share of the partitions of shared groups, relative to the other members. */
    weight: number;
}

/** Offsets that may wait uncommitted behind an unsettled one before the partition pauses, per in-flight slot. */
const WINDOW_PER_IN_FLIGHT = 100;
const RESTART_DELAY_MS = 5_000;
const MAX_RESTART_DELAY_MS = 60_000;
/** Wait before a failed message is fetched again, doubled for each failure in a row on its partition. */
const REDELIVERY_DELAY_MS = 2_000;
const MAX_REDELIVERY_DELAY_MS = 60_000;

/** Last assignment epoch handed out in this process. All subscriptions share it, so epochs never repeat. */
let lastAssignmentEpoch = 0;

function nextAssignmentEpoch(): number {
    lastAssignmentEpoch += 1;
    return lastAssignmentEpoch;
}

/** Decodes a record's value: text as it is when its headers mark it as text, else JSON. */
function decodeValue(value: Buffer | null, headers: KafkaMessage['headers']): unknown {
    if (value === null) return null;
    const text = value.toString('utf8');
    const type = headers?.['content-type'];
    if (type !== undefined && String(type).startsWith('text/plain')) return text;
    try {
        return JSON.parse(text) as unknown;
    } catch {
        // Messages written by other producers need not be JSON; the flow receives the text.
        return text;
    }
}

function delay(ms: number, signal: { cancel?: () => void }): Promise<void> {
    return new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal.cancel = () => {
            clearTimeout(timer);
            resolve();
        };
    });
}

export class KafkaSubscription {
    readonly topic: string;
    readonly groupId: string;
    readonly mode: SubscriptionMode;

    private readonly context: SubscriptionContext;
    private readonly handler: BusHandler;
    private readonly onState: (state: SubscriptionState, detail?: string) => void;
    private readonly maxWindow: number;

    private consumer: Consumer | undefined;
    /** Whether the consumer is a group member, from joining until a crash or stop. Commits are sent only then. */
    private member = false;
    private everConnected = false;
    private stopping = false;
    private stopped: Promise<void> | undefined;
    private readonly waiting: { cancel?: () => void } = {};

    private readonly partitions = new Map<number, PartitionOffsets>();
    private assigned = new Set<number>();
    /** Assignment epoch of each assigned partition (see BusMessage.epoch). */
    private readonly epochs = new Map<number, number>();
    /** Member id of the last group join. A new id means that the group had dropped this consumer. */
    private memberId: string | undefined;
    private readonly paused = new Set<number>();
    private commitTimer: NodeJS.Timeout | undefined;
    private committing: Promise<void> = Promise.resolve();

    private lagTimer: NodeJS.Timeout | undefined;
    private readonly lag = new Map<number, number>();
    private readonly removeGauges: (() => void)[] = [];
    /** Pending fetches of failed messages, per partition, from the lowest failed offset. */
    private readonly redeliveries = new Map<number, { offset: bigint; timer: NodeJS.Timeout }>();
    /** Failures in a row per partition, for the redelivery backoff. */
    private readonly failureStreaks = new Map<number, number>();

    constructor(context: SubscriptionContext, topic: string, handler: BusHandler, options: { group: string; mode: SubscriptionMode; onState?: (state: SubscriptionState, detail?: string) => void }) {
        this.context = context;
        this.topic = topic;
        this.handler = handler;
        this.mode = options.mode;
        this.onState = options.onState ?? (() => undefined);
        this.maxWindow = context.tuning.maxInFlightPerPartition * WINDOW_PER_IN_FLIGHT;
        // A broadcast group belongs to one process: it starts at the newest message and commits
        // nothing, so Kafka drops it soon after its member leaves.
        this.groupId = this.mode === 'shared' ? options.group : `${options.group}.${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;

        this.removeGauges.push(
            registerGauge('ul_bus_unsettled_deliveries', 'Bus messages handed to the flow and not yet settled.', { topic, group: this.groupId }, () => this.unsettled()),
            registerGauge('ul_bus_assigned_partitions', 'Partitions of the topic that the consumer group gives this runtime now.', { topic, group: this.groupId }, () =>
                this.member ? this.assigned.size : 0,
            ),
        );
    }

    start(): void {
        void this.run();
    }

    /** Stops consuming, waits (bounded) for in-flight deliveries, commits what settled and leaves the group. Idempotent. */
    stop(): Promise<void> {
        if (!this.stopped) this.stopped = this.shutDown();
        return this.stopped;
    }

    private unsettled(): number {
        let total = 0;
        for (const partition of this.assigned) total += this.partitions.get(partition)?.unsettled ?? 0;
        return total;
    }

    private describe(): string {
        return `topic ${this.topic} (group ${this.groupId})`;
    }

    private async run(): Promise<void> {
        const { logger } = this.context;
        let attempt = 0;
        this.onState('connecting');
        while (!this.stopping) {
            let consumer: Consumer | undefined;
            try {
                await this.context.ready;
                await this.context.ensureTopic(this.topic);
                consumer = this.createConsumer();
                this.consumer = consumer;
                await consumer.connect();
                await consumer.subscribe({ topics: [this.topic], fromBeginning: this.mode === 'shared' });
                if (this.stopping) {
                    await consumer.disconnect();
                    return;
                }
                await consumer.run({
                    autoCommit: false,
                    eachBatchAutoResolve: false,
                    partitionsConsumedConcurrently: this.context.tuning.partitionsConsumedConcurrently,
                    eachBatch: (payload) => this.eachBatch(payload),
                });
                return;
            } catch (error) {
                if (this.stopping) return;
                attempt += 1;
                const wait = Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** Math.min(attempt - 1, 4));
                logger.warn(`Kafka consumer of ${this.describe()} could not start: ${toError(error).message}; retrying in ${wait / 1_000} s.`);
                this.onState('disconnected', 'retrying');
                this.consumer = undefined;
                await consumer?.disconnect().catch(() => undefined);
                await delay(wait, this.waiting);
            }
        }
    }

    private createConsumer(): Consumer {
        const { tuning, logger } = this.context;
        const consumer = this.context.kafka.consumer({
            groupId: this.groupId,
            sessionTimeout: tuning.sessionTimeoutMs,
            heartbeatInterval: Math.max(100, Math.floor(tuning.sessionTimeoutMs / 10)),
            maxWaitTimeInMs: tuning.fetchMaxWaitMs,
            allowAutoTopicCreation: false,
            // Shared groups split partitions by the weight each member announces. A broadcast
            // group has one member, which gets every partition either way.
            partitionAssigners: [weightedAssigner(this.context.weight), PartitionAssigners.roundRobin],
        });

        consumer.on(consumer.events.CONNECT, () => {
            if (this.everConnected) {
                incrementCounter('ul_bus_reconnects_total', 'Reconnections of Kafka bus clients.', { client: 'consumer', group: this.groupId });
                logger.info(`Kafka consumer of ${this.describe()} reconnected.`);
            } else {
                logger.info(`Kafka consumer of ${this.describe()} connected.`);
            }
            this.everConnected = true;
        });
        consumer.on(consumer.events.GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment, event.payload.memberId));
        consumer.on(consumer.events.COMMIT_OFFSETS, (event) => this.onCommitted(event.payload.topics));
        consumer.on(consumer.events.REBALANCING, () => {
            logger.info(`Consumer group ${this.groupId} is rebalancing; committing settled offsets of topic ${this.topic} first.`);
            // NOTE: kafkajs 2 offers no callback before partitions are revoked, so this commit
            // races the rejoin. The broker accepts it while the rebalance is still preparing. A
            // commit that arrives later fails, and the new owner gets those messages again.
            void this.commitSettled();
        });
        consumer.on(consumer.events.CRASH, (event) => {
            this.member = false;
            incrementCounter('ul_bus_consumer_crashes_total', 'Crashes of Kafka bus consumers.', { group: this.groupId });
            const { error, restart } = event.payload;
            if (restart) {
                logger.error(`Kafka consumer of ${this.describe()} crashed: ${error.message}; kafkajs restarts it.`);
                this.onState('disconnected', 'restarting');
            } else if (!this.stopping) {
                logger.error(`Kafka consumer of ${this.describe()} crashed: ${error.message}; starting a new consumer in ${RESTART_DELAY_MS / 1_000} s.`);
                this.onState('failed', error.message);
                void this.restart(consumer);
            }
        });
        consumer.on(consumer.events.DISCONNECT, () => {
            this.member = false;
            if (!this.stopping) this.onState('disconnected');
        });
        return consumer;
    }

    /** Replaces a consumer that kafkajs gave up on. */
    private async restart(consumer: Consumer): Promise<void> {
        await consumer.disconnect().catch(() => undefined);
        if (this.consumer === consumer) this.consumer = undefined;
        await delay(RESTART_DELAY_MS, this.waiting);
        if (!this.stopping) await this.run();
    }

    private onAssignment(assignment: Record<string, number[]>, memberId?: string): void {
        const partitions = [...(assignment[this.topic] ?? [])].sort((a, b) => a - b);
        const next = new Set(partitions);
        this.renewEpochs(partitions, memberId);
        // Revoked partitions lose their bookkeeping, and their unsettled messages go to the new owner.
        for (const partition of this.partitions.keys()) {
            if (!next.has(partition)) {
                this.partitions.delete(partition);
                this.lag.delete(partition);
                clearTimeout(this.redeliveries.get(partition)?.timer);
                this.redeliveries.delete(partition);
                this.failureStreaks.delete(partition);
            }
        }
        this.assigned = next;
        this.member = true;
        // kafkajs 2.2.4 keeps pauses across rebalances (SubscriptionState.assign leaves them), so
        // they are lifted here and each batch pauses its partition again when it has to.
        if (this.paused.size > 0 && this.consumer) this.consumer.resume([{ topic: this.topic }]);
        this.paused.clear();

        const list = partitions.length > 0 ? partitions.join(', ') : 'none';
        this.context.logger.info(`Consumer group ${this.groupId} assigned partitions ${list} of topic ${this.topic} to this runtime.`);
        this.onState('connected', partitions.length > 0 ? `${partitions.length} partitions` : 'no partitions');
        if (this.mode === 'shared') {
            this.scheduleLag();
            // Deliveries that settled while the consumer was out of the group are committed now.
            this.scheduleCommit();
        }
    }

    /**
     * Gives each newly assigned partition a new epoch and keeps the epoch of partitions that stay.
     * A partition is newly assigned when the previous assignment did not include it. It also is
     * when this consumer joins as another member than the one that held it, which happens after a
     * crash, a restart, or a session timeout (kafkajs 2.2.4 then joins under a new member id).
     * In those cases another runtime may have owned the partition in between.
     */
    private renewEpochs(partitions: number[], memberId: string | undefined): void {
        const sameMember = this.member && memberId === this.memberId;
        this.memberId = memberId;
        const next = new Set(partitions);
        for (const partition of this.epochs.keys()) {
            if (!next.has(partition) || !sameMember) this.epochs.delete(partition);
        }
        for (const partition of partitions) {
            if (!this.epochs.has(partition)) this.epochs.set(partition, nextAssignmentEpoch());
        }
    }

    /** Returns the partition's assignment epoch, giving it one if a batch arrives before its assignment. */
    private epochOf(partition: number): number {
        let epoch = this.epochs.get(partition);
        if (epoch === undefined) {
            epoch = nextAssignmentEpoch();
            this.epochs.set(partition, epoch);
        }
        return epoch;
    }

    private offsetsOf(partition: number): PartitionOffsets {
        let offsets = this.partitions.get(partition);
        if (!offsets) {
            offsets = new PartitionOffsets();
            this.partitions.set(partition, offsets);
        }
        return offsets;
    }

    private async eachBatch(payload: EachBatchPayload): Promise<void> {
        const { batch, resolveOffset, isRunning, isStale, pause } = payload;
        const offsets = this.offsetsOf(batch.partition);
        let handed = 0;
        for (const message of batch.messages) {
            if (this.stopping || !isRunning() || isStale()) break;
            if (offsets.isNew(message.offset) && (offsets.unsettled >= this.context.tuning.maxInFlightPerPartition || offsets.window >= this.maxWindow)) {
                // The rest of the batch is fetched again after resume(), from the first offset not resolved.
                this.pausePartition(batch, offsets, pause);
                break;
            }
            const entry = offsets.track(message.offset);
            resolveOffset(message.offset);
            if (entry) {
                this.dispatch(batch.partition, message, offsets, entry);
                handed += 1;
            }
        }
        if (handed > 0) incrementCounter('ul_bus_consumed_total', 'Messages received from the bus and handed to the flow.', { topic: this.topic, group: this.groupId }, handed);
    }

    private pausePartition(batch: Batch, offsets: PartitionOffsets, pause: () => () => void): void {
        if (this.paused.has(batch.partition)) return;
        pause();
        this.paused.add(batch.partition);
        if (offsets.window >= this.maxWindow) {
            this.context.logger.warn(`Partition ${batch.partition} of topic ${this.topic} is paused: offset ${offsets.commitOffset()} is not settled, `
                + `so ${offsets.window} later offsets wait uncommitted behind it until it settles.`);
        }
    }

    private dispatch(partition: number, message: KafkaMessage, offsets: PartitionOffsets, entry: OffsetEntry): void {
        const busMessage: BusMessage = {
            topic: this.topic,
            key: message.key ? message.key.toString('utf8') : '',
            value: decodeValue(message.value, message.headers),
            partition,
            offset: message.offset,
            epoch: this.epochOf(partition),
        };
        let result: void | Promise<void>;
        try {
            result = this.handler(busMessage);
        } catch (error) {
            result = Promise.reject(toError(error));
        }
        if (!result || typeof result.then !== 'function') {
            offsets.settle(entry);
            this.afterChange(partition, offsets);
            return;
        }
        if (this.mode === 'broadcast') {
            // A live view commits nothing and gets no second delivery, but waiting for it still
            // pauses the partition when the view falls behind, so its backlog stays in Kafka
            // instead of in this process's memory.
            const settle = (): void => {
                offsets.settle(entry);
                this.afterChange(partition, offsets);
            };
            result.then(settle, settle);
            return;
        }
        result.then(
            () => {
                offsets.settle(entry);
                this.failureStreaks.delete(partition);
                this.afterChange(partition, offsets);
            },
            () => {
                // The handler reports its own failures; the offset keeps the commit point back
                // until the message, fetched again, settles.
                offsets.fail(entry);
                this.scheduleRedelivery(partition, entry.offset);
                this.afterChange(partition, offsets);
            },
        );
    }

    /**
     * Fetches a partition again from a failed offset after a backoff, so that a message whose
     * handling failed (the database or the next topic was unreachable) is handled again without a
     * restart. Later messages that are pending or settled are not handed out twice (see
     * PartitionOffsets.track).
     */
    private scheduleRedelivery(partition: number, offset: bigint): void {
        if (this.stopping) return;
        const pending = this.redeliveries.get(partition);
        if (pending) {
            if (offset < pending.offset) pending.offset = offset;
            return;
        }
        const streak = (this.failureStreaks.get(partition) ?? 0) + 1;
        this.failureStreaks.set(partition, streak);
        const wait = Math.min(MAX_REDELIVERY_DELAY_MS, REDELIVERY_DELAY_MS * 2 ** Math.min(streak - 1, 5));
        if (streak === 1) {
            this.context.logger.warn(`A message at offset ${offset} of partition ${partition} of topic ${this.topic} failed; it is delivered again in ${wait / 1_000} s.`);
        }
        const redelivery = {
            offset,
            timer: setTimeout(() => {
                this.redeliveries.delete(partition);
                if (this.stopping || !this.assigned.has(partition) || !this.consumer) return;
                try {
                    this.consumer.seek({ topic: this.topic, partition, offset: redelivery.offset.toString() });
                } catch (error) {
                    // kafkajs 2.2.4 throws while it restarts a crashed consumer. The restarted
                    // consumer fetches from the committed offset, which is at or below the failed one.
                    this.context.logger.debug(`Fetching offset ${redelivery.offset} of partition ${partition} of topic ${this.topic} again failed: ${toError(error).message}; the restarted consumer fetches it from the committed offset.`);
                    return;
                }
                incrementCounter('ul_bus_redeliveries_total', 'Failed bus messages fetched again for another attempt.', { topic: this.topic, group: this.groupId });
                if (this.paused.delete(partition)) this.resumeFetching(partition);
            }, wait),
        };
        redelivery.timer.unref();
        this.redeliveries.set(partition, redelivery);
    }

    private afterChange(partition: number, offsets: PartitionOffsets): void {
        if (offsets.uncommittedOffset() !== undefined) this.scheduleCommit();
        const resumeBelow = Math.max(1, Math.floor(this.context.tuning.maxInFlightPerPartition / 2));
        if (this.paused.has(partition) && !this.stopping && offsets.unsettled <= resumeBelow && offsets.window < this.maxWindow) {
            this.paused.delete(partition);
            this.resumeFetching(partition);
        }
    }

    /** Resumes fetching a paused partition. A consumer that kafkajs restarts starts with no paused partitions. */
    private resumeFetching(partition: number): void {
        try {
            this.consumer?.resume([{ topic: this.topic, partitions: [partition] }]);
        } catch (error) {
            this.context.logger.debug(`Resuming partition ${partition} of ${this.describe()} failed: ${toError(error).message}`);
        }
    }

    /** Commits settled offsets after the commit interval, unless a commit is already scheduled. */
    private scheduleCommit(): void {
        if (this.mode !== 'shared' || this.commitTimer || this.stopping) return;
        this.commitTimer = setTimeout(() => {
            this.commitTimer = undefined;
            void this.commitSettled();
        }, this.context.tuning.commitIntervalMs);
    }

    /** Commits, for each assigned partition, the offset below which everything has settled. */
    commitSettled(): Promise<void> {
        if (this.mode !== 'shared') return Promise.resolve();
        this.committing = this.committing.then(() => this.commitNow());
        return this.committing;
    }

    private async commitNow(): Promise<void> {
        const consumer = this.consumer;
        // kafkajs 2.2.4 (Runner.commitOffsets) resolves without sending when the consumer is not
        // running, also when it stops while retrying a commit. So commits are sent only while a
        // member, and only onCommitted marks offsets committed, which leaves dropped ones pending.
        if (!consumer || !this.member) return;
        const offsets: { topic: string; partition: number; offset: string }[] = [];
        for (const partition of this.assigned) {
            const offset = this.partitions.get(partition)?.uncommittedOffset();
            if (offset !== undefined) offsets.push({ topic: this.topic, partition, offset });
        }
        if (offsets.length === 0) return;
        try {
            await consumer.commitOffsets(offsets);
        } catch (error) {
            this.context.logger.warn(`Committing offsets of ${this.describe()} failed: ${toError(error).message}; retrying after the commit interval.`);
            this.scheduleCommit();
            return;
        }
        const dropped = offsets.filter(({ partition, offset }) => {
            const tracked = this.partitions.get(partition);
            return tracked !== undefined && tracked.committedOffset !== offset;
        });
        if (dropped.length > 0) {
            const list = dropped.map(({ partition, offset }) => `partition ${partition} at offset ${offset}`).join(', ');
            this.context.logger.debug(`Kafka did not confirm the commit of ${this.describe()} for ${list}, because the consumer stopped. The next commit pass sends it again.`);
        }
    }

    /**
     * Records the offsets that the broker accepted. kafkajs 2.2.4 (OffsetManager.commitOffsets)
     * emits COMMIT_OFFSETS after each successful OffsetCommit request, before commitOffsets()
     * resolves. Offsets of explicit commits arrive there as Long values, not strings.
     */
    private onCommitted(topics: { topic: string; partitions: { partition: number; offset: unknown }[] }[]): void {
        for (const { topic, partitions } of topics) {
            if (topic !== this.topic) continue;
            for (const { partition, offset } of partitions) this.partitions.get(partition)?.markCommitted(String(offset));
        }
    }

    private readingLag = false;

    private scheduleLag(): void {
        if (this.lagTimer || this.stopping) return;
        this.lagTimer = setInterval(() => void this.refreshLag(), this.context.tuning.lagIntervalMs);
        this.lagTimer.unref();
        void this.refreshLag();
    }

    private async refreshLag(): Promise<void> {
        // During an outage a read can take longer than the interval: skip rather than pile up.
        if (this.readingLag) return;
        this.readingLag = true;
        let lags: { partition: number; lag: number }[];
        try {
            lags = await this.context.fetchLag(this.groupId, this.topic);
        } catch (error) {
            this.context.logger.debug(`Reading the lag of ${this.describe()} failed: ${toError(error).message}`);
            return;
        } finally {
            this.readingLag = false;
        }
        for (const { partition, lag } of lags) {
            if (!this.lag.has(partition) && !this.stopping) {
                this.removeGauges.push(
                    registerGauge('ul_bus_consumer_lag', 'Messages in a partition that the consumer group has not committed yet.', { topic: this.topic, partition: String(partition), group: this.groupId }, () => this.lag.get(partition) ?? 0),
                );
            }
            this.lag.set(partition, lag);
        }
    }

    private async shutDown(): Promise<void> {
        this.stopping = true;
        this.waiting.cancel?.();
        if (this.lagTimer) clearInterval(this.lagTimer);
        if (this.commitTimer) clearTimeout(this.commitTimer);
        for (const { timer } of this.redeliveries.values()) clearTimeout(timer);
        this.redeliveries.clear();

        const consumer = this.consumer;
        if (consumer && this.member) {
            // Paused partitions are not fetched again while the flow finishes the messages it already has.
            try {
                consumer.pause([{ topic: this.topic }]);
            } catch (error) {
                this.context.logger.debug(`Pausing ${this.describe()} before stopping failed: ${toError(error).message}`);
            }
            const deadline = Date.now() + this.context.tuning.closeTimeoutMs;
            while (this.unsettled() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
            await this.commitSettled();
        }
        const left = this.unsettled();
        await consumer?.disconnect().catch((error: unknown) => this.context.logger.warn(`Disconnecting the Kafka consumer of ${this.describe()} failed: ${toError(error).message}`));
        for (const remove of this.removeGauges) remove();
        this.context.logger.info(left > 0
            ? `Kafka consumer of ${this.describe()} stopped with ${left} deliveries unsettled; they are delivered again to the next consumer of the group.`
            : `Kafka consumer of ${this.describe()} stopped.`);
        this.onState('disconnected', 'stopped');
    }
}
