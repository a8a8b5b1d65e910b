// Delivery settling: a message taken from the bus counts as handled only once every message that
// the flow derived from it has been durably handled. Each delivery keeps a reference count, and
// the Node-RED message carries it as a function property. Node-RED clones messages with lodash
// cloneDeep, which copies plain objects and class instances but keeps functions by reference, so
// every clone of the message reaches the same delivery.

/** Message property that contains the delivery handle. */
export const DELIVERY_PROPERTY = '_busDelivery';

/** Default time after which an unsettled delivery is reported, in milliseconds. */
export const DEFAULT_SETTLE_TIMEOUT_MS = 60_000;

export interface DeliveryInfo {
    topic: string;
    key: string;
    /** Kafka partition; absent on the memory transport. */
    partition?: number;
    /** Kafka offset as a decimal string; absent on the memory transport. */
    offset?: string;
    /** Bus messages combined into this delivery, from `offset` on; absent or 1 for one message. */
    count?: number;
}

export type DeliveryState = 'pending' | 'settled' | 'failed';

/** Describes a delivery for log lines: topic, then partition and offset when known, then key. */
export function describeDelivery(info: DeliveryInfo): string {
    const position = info.partition === undefined ? '' : ` partition ${info.partition} offset ${info.offset ?? '?'}`;
    const count = info.count ?? 1;
    const more = count > 1 ? ` and ${count - 1} more` : '';
    let key = info.key;
    if (key === '') key = count > 1 ? 'several' : 'none';
    return `${info.topic}${position}${more} (key ${key})`;
}

/**
 * One message taken from the bus. It starts with one reference, which belongs to its creator.
 * `retain` adds references for messages handed on, `release` returns one after success, and the
 * delivery settles when none is left. `fail` ends it at once, and the message stays uncommitted.
 */
export class Delivery {
    readonly info: DeliveryInfo;
    /** Creation time in milliseconds since the epoch (or on the tracker's clock). */
    readonly startedAt: number;
    /** Resolves when the delivery settles; rejects with the first failure. */
    readonly outcome: Promise<void>;

    private references = 1;
    private current: DeliveryState = 'pending';
    private resolveOutcome!: () => void;
    private rejectOutcome!: (error: Error) => void;
    private readonly onEnd?: (delivery: Delivery, error?: Error) => void;

    constructor(info: DeliveryInfo, startedAt = Date.now(), onEnd?: (delivery: Delivery, error?: Error) => void) {
        this.info = info;
        this.startedAt = startedAt;
        this.onEnd = onEnd;
        this.outcome = new Promise<void>((resolve, reject) => {
            this.resolveOutcome = resolve;
            this.rejectOutcome = reject;
        });
        // Callers that await the outcome see the failure, and an outcome without a handler raises no unhandled rejection.
        this.outcome.catch(() => undefined);
    }

    get state(): DeliveryState {
        return this.current;
    }

    /** References not yet released: messages in the flow that still carry this delivery. */
    get pendingReferences(): number {
        return this.current === 'pending' ? this.references : 0;
    }

    /** Adds `count` references. Ignored once the delivery has ended. */
    retain(count = 1): void {
        if (this.current !== 'pending') return;
        this.references += count;
    }

    /** Returns one reference after success; settles the delivery when it was the last one. */
    release(): void {
        if (this.current !== 'pending') return;
        this.references -= 1;
        if (this.references > 0) return;
        this.current = 'settled';
        this.resolveOutcome();
        this.onEnd?.(this);
    }

    /** Ends the delivery as failed; later releases and failures are ignored. */
    fail(error: Error): void {
        if (this.current !== 'pending') return;
        this.current = 'failed';
        this.rejectOutcome(error);
        this.onEnd?.(this, error);
    }
}

type DeliveryHandle = () => Delivery;

/** Puts the delivery on a message, so the message and all its clones settle it. */
export function attachDelivery<T extends object>(msg: T, delivery: Delivery): T {
    // Enumerable, because cloneDeep copies only enumerable properties.
    (msg as Record<string, unknown>)[DELIVERY_PROPERTY] = (() => delivery) satisfies DeliveryHandle;
    return msg;
}

/** Returns the delivery a message carries, or undefined for a message that did not come from the bus. */
export function deliveryOf(msg: unknown): Delivery | undefined {
    if (typeof msg !== 'object' || msg === null) return undefined;
    const handle = (msg as Record<string, unknown>)[DELIVERY_PROPERTY];
    if (typeof handle !== 'function') return undefined;
    const delivery: unknown = (handle as DeliveryHandle)();
    return delivery instanceof Delivery ? delivery : undefined;
}

/**
 * Copies the delivery of `from` onto a new message `to` and returns `to`. Nodes that build new
 * messages from an input (instead of passing the input on) call it, so the input's delivery
 * settles only after the new messages have been handled too.
 */
export function carryDelivery<T extends object>(from: unknown, to: T): T {
    const delivery = deliveryOf(from);
    return delivery ? attachDelivery(to, delivery) : to;
}

/**
 * Records that a node with one reference for `msg` hands on `count` messages for it outside of
 * Node-RED's wires. The count grows by `count - 1`, and a count of 0 settles the node's part.
 */
export function forwardDelivery(msg: unknown, count: number): void {
    const delivery = deliveryOf(msg);
    if (!delivery) return;
    if (count > 1) delivery.retain(count - 1);
    else if (count === 0) delivery.release();
}

/** Returns one reference of the message's delivery after success; no-op without a delivery. */
export function settleDelivery(msg: unknown): void {
    deliveryOf(msg)?.release();
}

/** Fails the message's delivery, so it stays uncommitted; no-op without a delivery. */
export function failDelivery(msg: unknown, error: Error): void {
    deliveryOf(msg)?.fail(error);
}

/** Message property with the origin of a message taken from Kafka, `msg.bus`. */
export const ORIGIN_PROPERTY = 'bus';

/**
 * The Kafka partition a message came from and the epoch of that partition's current assignment
 * to this runtime (see BusMessage.epoch). The memory transport has no partitions, so its messages
 * carry no origin.
 */
export interface BusOrigin {
    partition: number;
    epoch: number;
}

/** Sets `msg.bus` from a bus message's partition and epoch when it has both; returns `msg`. */
export function attachOrigin<T extends object>(msg: T, partition: number | undefined, epoch: number | undefined): T {
    if (partition === undefined || epoch === undefined) return msg;
    const origin: BusOrigin = { partition, epoch };
    (msg as Record<string, unknown>)[ORIGIN_PROPERTY] = origin;
    return msg;
}

/** Returns `msg.bus` when it is a valid origin, or undefined for messages without one. */
export function originOf(msg: unknown): BusOrigin | undefined {
    if (typeof msg !== 'object' || msg === null) return undefined;
    const origin = (msg as Record<string, unknown>)[ORIGIN_PROPERTY];
    if (typeof origin !== 'object' || origin === null) return undefined;
    const { partition, epoch } = origin as Record<string, unknown>;
    if (!Number.isInteger(partition) || !Number.isInteger(epoch)) return undefined;
    return { partition: partition as number, epoch: epoch as number };
}

export interface DeliveryTrackerOptions {
    /** Time after which an unsettled delivery is reported once, in milliseconds; default 60,000. */
    timeoutMs?: number;
    /** Called once for each delivery still pending after `timeoutMs`. */
    onOverdue?: (delivery: Delivery, ageMs: number) => void;
    /** Called once for each failed delivery. */
    onFailed?: (delivery: Delivery, error: Error) => void;
    /** Clock in milliseconds; tests replace it. */
    now?: () => number;
    /** Whether to sweep for overdue deliveries on a timer; default true. Tests call sweep() themselves. */
    autoSweep?: boolean;
}

/** Creates deliveries and reports the ones that fail or stay unsettled too long. */
export class DeliveryTracker {
    readonly timeoutMs: number;
    private readonly options: DeliveryTrackerOptions;
    private readonly now: () => number;
    // Sets iterate in insertion order, so the oldest pending delivery comes first.
    private readonly young = new Set<Delivery>();
    private readonly overdue = new Set<Delivery>();
    private readonly timer: NodeJS.Timeout | undefined;

    constructor(options: DeliveryTrackerOptions = {}) {
        this.options = options;
        this.timeoutMs = options.timeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
        this.now = options.now ?? Date.now;
        if (options.autoSweep !== false) {
            this.timer = setInterval(() => this.sweep(), Math.max(10, Math.min(this.timeoutMs / 2, 1_000)));
            this.timer.unref();
        }
    }

    /** Deliveries that have neither settled nor failed. */
    get pending(): number {
        return this.young.size + this.overdue.size;
    }

    /** Deliveries reported as overdue that are still pending. */
    get overdueCount(): number {
        return this.overdue.size;
    }

    start(info: DeliveryInfo): Delivery {
        const delivery = new Delivery(info, this.now(), (ended, error) => {
            this.young.delete(ended);
            this.overdue.delete(ended);
            if (error) this.options.onFailed?.(ended, error);
        });
        this.young.add(delivery);
        return delivery;
    }

    /** Reports each delivery pending for longer than the timeout, once; returns how many it reported. */
    sweep(): number {
        const now = this.now();
        let reported = 0;
        for (const delivery of this.young) {
            const age = now - delivery.startedAt;
            if (age < this.timeoutMs) break;
            this.young.delete(delivery);
            this.overdue.add(delivery);
            reported += 1;
            this.options.onOverdue?.(delivery, age);
        }
        return reported;
    }

    close(): void {
        if (this.timer) clearInterval(this.timer);
    }
}
