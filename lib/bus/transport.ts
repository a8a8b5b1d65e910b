// The contract of a bus transport: the in-process bus (memory.ts) and Apache Kafka (kafka.ts).

export interface BusMessage<T = unknown> {
    topic: string;
    /** Partition key; the asset_id for telemetry and alerts. */
    key: string;
    value: T;
    /** Kafka partition of the message; absent on the memory transport. */
    partition?: number;
    /** Kafka offset of the message as a decimal string (offsets are 64-bit); absent on the memory transport. */
    offset?: string;
    /**
     * Epoch of the partition's assignment to this runtime. It gets a new value each time the
     * partition is newly assigned here, stays while rebalances keep the partition here, and only
     * increases within the process. Absent on the memory transport.
     */
    epoch?: number;
}

/**
 * Receives one message. A returned promise resolves once the message has been durably handled
 * (the delivery is settled) and rejects when handling failed. The Kafka transport commits an
 * offset only after that message and every earlier one of its partition have settled.
 */
export type BusHandler = (message: BusMessage) => void | Promise<void>;

/**
 * `shared`: the runtimes that subscribe with the same group split the topic's partitions, and a
 * group without committed offsets starts at the oldest message (at-least-once processing).
 * `broadcast`: every subscriber receives every message published after it subscribed, and
 * nothing is committed (live views).
 */
export type SubscriptionMode = 'shared' | 'broadcast';

export type SubscriptionState = 'connecting' | 'connected' | 'disconnected' | 'failed';

export interface SubscribeOptions {
    /** Consumer group name, unique per subscribing node and the same on every runtime; Kafka only. */
    group?: string;
    /** Default `shared`. */
    mode?: SubscriptionMode;
    /** Connection state of the subscription, for status badges; `detail` is a short reason. */
    onState?: (state: SubscriptionState, detail?: string) => void;
}

/** Stops a subscription: resolves once in-flight deliveries have settled (bounded) and offsets are committed. */
export type Unsubscribe = () => Promise<void>;

export interface BusTransport {
    /**
     * Whether published messages outlive the process (Kafka). A subscriber of a bus that is not
     * durable keeps receiving until the flows stop, because anything published after it stopped
     * would be lost.
     */
    readonly durable: boolean;
    /** Resolves when the message is durable: stored by the broker, or handed to every in-process subscriber. */
    publish(topic: string, key: string, value: unknown): Promise<void>;
    subscribe(topic: string, handler: BusHandler, options?: SubscribeOptions): Unsubscribe;
    close(): Promise<void>;
}
