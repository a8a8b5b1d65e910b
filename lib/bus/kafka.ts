// Apache Kafka transport of the bus, through kafkajs. Publishes are batched and resolve once the
// brokers have stored them (acks from all in-sync replicas, idempotent producer). Each
// subscription is a consumer group (see kafka-subscription.ts) that commits an offset only after
// the flow has settled that message and all earlier ones of its partition.
import type { Admin, Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';

import { ServiceError, toError } from '../errors';
import { incrementCounter, registerGauge } from '../observability/counters';
import { createKafkaClient, RepeatLimiter, type BusLogger } from './kafka-client';
import { KafkaSubscription, type SubscriptionTuning } from './kafka-subscription';
import { PublishBatcher, type TopicBatch } from './publish-batcher';
import type { KafkaSettings } from './settings';
import type { BusHandler, BusTransport, SubscribeOptions, Unsubscribe } from './transport';

/** Topics of the cloud design, created at start-up when missing. */
export const DESIGN_TOPICS = ['telemetry.raw', 'telemetry.clean', 'events.alerts', 'billing.revenue'] as const;

export interface KafkaBusTuning extends Partial<SubscriptionTuning> {
    /** Time a publish waits for others to join its batch, in milliseconds; default 5. */
    lingerMs?: number;
    /** Maximum messages per produce request; default 5,000. */
    maxBatchMessages?: number;
    /** Topics to create at start-up besides the ones subscribers and publishers name; default DESIGN_TOPICS. */
    topics?: readonly string[];
}

const START_RETRY_MS = 1_000;
const MAX_START_RETRY_MS = 30_000;

/**
 * Headers of a record whose value is text as published, not JSON. Text such as a signed envelope
 * from MQTT travels as it came, which spares escaping it into a JSON string and parsing it back.
 */
export const TEXT_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'text/plain; charset=utf-8' });

function encodeValue(value: unknown): string {
    // JSON.stringify returns undefined for undefined and for functions, so those travel as null.
    return JSON.stringify(value) ?? 'null';
}

export class KafkaBus implements BusTransport {
    readonly durable = true;
    /** Resolves once the brokers are reachable and the start-up topics exist; rejects only if closed first. */
    readonly ready: Promise<void>;

    private readonly settings: KafkaSettings;
    private readonly logger: BusLogger;
    private readonly kafka: Kafka;
    private readonly admin: Admin;
    private producer: Producer;
    /**
     * Whether the next batch must go through a new producer, because a batch failed. kafkajs 2.2.4
     * rolls back the sequence numbers of every partition of a failed produce request, including
     * partitions whose records the broker stored. The broker then takes a later batch with the
     * same sequence range for a retry of the stored one, and acknowledges it without storing it.
     * A new producer gets a new producer id, so its sequence numbers start again at 0.
     */
    private sequencesInDoubt = false;
    /** Whether closing has disconnected the producer. A replacement that connects later is disconnected at once. */
    private producerClosed = false;
    private readonly batcher: PublishBatcher;
    private readonly tuning: SubscriptionTuning;
    private readonly closeTimeoutMs: number;
    private readonly topics = new Map<string, Promise<void>>();
    private readonly subscriptions = new Set<KafkaSubscription>();
    private readonly produceErrors = new RepeatLimiter();
    private readonly removeGauge: () => void;
    private readonly waiting: { cancel?: () => void } = {};
    private producerConnects = 0;
    private closed = false;
    private closing: Promise<void> | undefined;

    constructor(settings: KafkaSettings, logger: BusLogger, tuning: KafkaBusTuning = {}) {
        this.settings = settings;
        this.logger = logger;
        this.kafka = createKafkaClient(settings, logger);
        this.admin = this.kafka.admin();
        this.producer = this.createProducer();
        this.tuning = {
            maxInFlightPerPartition: tuning.maxInFlightPerPartition ?? 1_000,
            commitIntervalMs: tuning.commitIntervalMs ?? 1_000,
            closeTimeoutMs: tuning.closeTimeoutMs ?? 5_000,
            lagIntervalMs: tuning.lagIntervalMs ?? 10_000,
            sessionTimeoutMs: tuning.sessionTimeoutMs ?? 30_000,
            fetchMaxWaitMs: tuning.fetchMaxWaitMs ?? 500,
            partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently ?? settings.partitions,
        };
        this.closeTimeoutMs = this.tuning.closeTimeoutMs;
        this.batcher = new PublishBatcher({
            send: (batch) => this.sendBatch(batch),
            lingerMs: tuning.lingerMs,
            maxBatchMessages: tuning.maxBatchMessages,
        });
        this.removeGauge = registerGauge('ul_bus_publish_queue', 'Messages waiting to be sent to Kafka or awaiting the brokers\' acknowledgement.', { client: settings.clientId }, () => this.batcher.queued);

        this.ready = this.start(tuning.topics ?? DESIGN_TOPICS);
        this.ready.catch(() => undefined);
    }

    async publish(topic: string, key: string, value: unknown): Promise<void> {
        if (this.closed) throw new ServiceError(`The Kafka bus is closed, so a message for topic ${topic} was not published.`, { badge: 'bus closed' });
        const text = typeof value === 'string';
        const encoded = text ? value : encodeValue(value);
        await this.ensureTopic(topic);
        return this.batcher.publish(topic, key, encoded, text ? TEXT_HEADERS : undefined);
    }

    subscribe(topic: string, handler: BusHandler, options: SubscribeOptions = {}): Unsubscribe {
        const mode = options.mode ?? 'shared';
        const group = `${this.settings.groupId}.${options.group ?? topic}`;
        const subscription = new KafkaSubscription(
            {
                kafka: this.kafka,
                logger: this.logger,
                ready: this.ready,
                ensureTopic: (name) => this.ensureTopic(name),
                fetchLag: (groupId, name) => this.fetchLag(groupId, name),
                tuning: this.tuning,
                weight: this.settings.weight,
            },
            topic,
            handler,
            { group, mode, onState: options.onState },
        );
        this.subscriptions.add(subscription);
        subscription.start();
        return async () => {
            await subscription.stop();
            this.subscriptions.delete(subscription);
        };
    }

    /** Stops every subscription, sends what is queued (bounded by the close timeout) and disconnects. */
    close(): Promise<void> {
        if (!this.closing) this.closing = this.shutDown();
        return this.closing;
    }

    private createProducer(): Producer {
        // NOTE: the idempotent producer retries without limit (kafkajs requires it), but the
        // client's connection and metadata retries are limited. After about 30 s of unreachable
        // brokers, the batch being sent fails with a retriable ServiceError, so its bus-out nodes
        // fail their messages. Batches queued behind it are sent once the brokers are back.
        // A services test (test/services/kafka-outage.test.ts) measures this during a 20 s stop.
        const producer = this.kafka.producer({
            idempotent: true,
            retry: { retries: Number.MAX_SAFE_INTEGER },
            // One produce request in flight, as KIP-98 specifies for the idempotent producer.
            maxInFlightRequests: 1,
            allowAutoTopicCreation: false,
            createPartitioner: Partitioners.DefaultPartitioner,
        });
        producer.on(producer.events.CONNECT, () => {
            this.producerConnects += 1;
            if (this.producerConnects > 1) incrementCounter('ul_bus_reconnects_total', 'Reconnections of Kafka bus clients.', { client: 'producer', group: '' });
        });
        return producer;
    }

    /**
     * Replaces the producer after a failed batch (see sequencesInDoubt). Throws the kafkajs error when
     * the new producer cannot connect, and the next batch tries again.
     */
    private async replaceProducer(): Promise<void> {
        const replacement = this.createProducer();
        try {
            await replacement.connect();
        } catch (error) {
            await replacement.disconnect().catch(() => undefined);
            throw error;
        }
        if (this.producerClosed) {
            await replacement.disconnect().catch(() => undefined);
            throw new ServiceError('The Kafka bus was closed while its producer was being replaced, so the batch was not sent.', { badge: 'bus closed' });
        }
        const previous = this.producer;
        this.producer = replacement;
        this.sequencesInDoubt = false;
        this.logger.info(`Replaced the Kafka producer of client ${this.settings.clientId} after a failed publish, so that the brokers do not take new messages for retries of the failed batch.`);
        await previous.disconnect().catch((error: unknown) => this.logger.warn(`Disconnecting the replaced Kafka producer failed: ${toError(error).message}`));
    }

    /** Creates the topic when missing; concurrent and later calls for one topic share the first call. */
    ensureTopic(topic: string): Promise<void> {
        let created = this.topics.get(topic);
        if (!created) {
            created = this.ready.then(() => this.createMissing([topic]));
            this.topics.set(topic, created);
            // A failed attempt is not cached, so the next publish or subscribe tries again.
            created.catch(() => this.topics.delete(topic));
        }
        return created;
    }

    private async start(topics: readonly string[]): Promise<void> {
        const brokers = this.settings.brokers.join(', ');
        let attempt = 0;
        while (!this.closed) {
            try {
                await this.admin.connect();
                await this.createMissing(topics);
                await this.producer.connect();
                this.logger.info(`Connected to Kafka brokers ${brokers} as client ${this.settings.clientId}.`);
                for (const topic of topics) this.topics.set(topic, Promise.resolve());
                return;
            } catch (error) {
                attempt += 1;
                const wait = Math.min(MAX_START_RETRY_MS, START_RETRY_MS * 2 ** Math.min(attempt - 1, 5));
                this.logger.warn(`Connecting to Kafka brokers ${brokers} failed: ${toError(error).message}; retrying in ${wait / 1_000} s.`);
                await new Promise<void>((resolve) => {
                    const timer = setTimeout(resolve, wait);
                    this.waiting.cancel = () => {
                        clearTimeout(timer);
                        resolve();
                    };
                });
            }
        }
        throw new ServiceError('The Kafka bus was closed before it connected to the brokers.');
    }

    private async createMissing(topics: readonly string[]): Promise<void> {
        const existing = new Set(await this.admin.listTopics());
        const missing = topics.filter((topic) => !existing.has(topic));
        if (missing.length === 0) return;
        // Two runtimes may create the same topic at once, and kafkajs 2.2.4 returns false instead
        // of failing when every topic already exists.
        await this.admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({ topic, numPartitions: this.settings.partitions, replicationFactor: this.settings.replicationFactor })),
        });
        this.logger.info(`Created Kafka topics ${missing.join(', ')} with ${this.settings.partitions} partitions and replication factor ${this.settings.replicationFactor}.`);
    }

    private async sendBatch(batch: TopicBatch): Promise<void> {
        await this.ready;
        try {
            if (this.sequencesInDoubt) await this.replaceProducer();
            await this.producer.sendBatch({
                acks: -1,
                topicMessages: [...batch].map(([topic, messages]) => ({ topic, messages })),
            });
        } catch (error) {
            this.sequencesInDoubt = true;
            const topics = [...batch.keys()].join(', ');
            for (const [topic, messages] of batch) {
                incrementCounter('ul_bus_produce_errors_total', 'Messages that Kafka did not acknowledge.', { topic }, messages.length);
            }
            const message = `Publishing to Kafka topics ${topics} failed: ${toError(error).message}`;
            const line = this.produceErrors.admit(message);
            if (line) this.logger.warn(line);
            throw new ServiceError(`${message}; check that the brokers are reachable and accept writes to these topics.`, { cause: error, retriable: true, badge: 'publish failed', context: { topics } });
        }
        for (const [topic, messages] of batch) {
            incrementCounter('ul_bus_published_total', 'Messages stored by Kafka.', { topic }, messages.length);
        }
    }

    private async fetchLag(groupId: string, topic: string): Promise<{ partition: number; lag: number }[]> {
        await this.ready;
        const ends = await this.admin.fetchTopicOffsets(topic);
        const [committed] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
        const committedByPartition = new Map((committed?.partitions ?? []).map(({ partition, offset }) => [partition, BigInt(offset)]));
        return ends.map(({ partition, high, low }) => {
            const done = committedByPartition.get(partition);
            // A group without a commit in this partition has all retained messages ahead of it.
            const from = done === undefined || done < 0n ? BigInt(low) : done;
            const lag = BigInt(high) - from;
            return { partition, lag: Number(lag > 0n ? lag : 0n) };
        });
    }

    private async shutDown(): Promise<void> {
        this.closed = true;
        this.waiting.cancel?.();
        await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
        this.subscriptions.clear();

        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), this.closeTimeoutMs);
        });
        const flushed = await Promise.race([this.batcher.flush().then(() => true), timeout]);
        clearTimeout(timer);
        if (!flushed) {
            this.logger.warn(`Closing the Kafka bus timed out with ${this.batcher.queued} messages not acknowledged by the brokers, so their publish calls did not complete.`);
        }

        this.producerClosed = true;
        await this.producer.disconnect().catch((error: unknown) => this.logger.warn(`Disconnecting the Kafka producer failed: ${toError(error).message}`));
        await this.admin.disconnect().catch(() => undefined);
        this.removeGauge();
    }
}

/** Creates a Kafka bus that connects in the background; throws ConfigError when a TLS file cannot be read. */
export function createKafkaBus(settings: KafkaSettings, logger: BusLogger, tuning: KafkaBusTuning = {}): KafkaBus {
    return new KafkaBus(settings, logger, tuning);
}
