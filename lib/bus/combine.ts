// Combines the bus messages of one partition that arrive together into one flow message. A Kafka
// fetch can hand over hundreds of messages at once, and a flow message per bus message costs every
// node after the bus-in its per-message overhead that many times. Combined messages keep their
// offset order, so one asset's readings stay in order.
import type { BusMessage } from './transport';

/** Largest number of bus messages in one combined message. */
export const MAX_COMBINE = 10_000;

/**
 * Parses the "combine" setting: empty means 1 (one flow message per bus message); otherwise a
 * whole number from 1 to 10,000. Returns undefined for anything else, which the node reports.
 */
export function parseCombine(value: unknown): number | undefined {
    if (value === undefined || value === null || value === '') return 1;
    const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    return Number.isInteger(number) && number >= 1 && number <= MAX_COMBINE ? number : undefined;
}

/** Bus messages combined into one: values joined, arrays flattened one level. */
export interface CombinedMessage {
    topic: string;
    /** The key of every part when they share one, else ''. */
    key: string;
    /** Array values are concatenated and other values appended, in arrival order. */
    value: unknown[];
    partition?: number;
    epoch?: number;
    /** Offset of the first part (Kafka only). */
    offset?: string;
    /** Number of bus messages combined. */
    count: number;
}

interface Group {
    combined: CombinedMessage;
    resolve: () => void;
    reject: (error: unknown) => void;
    outcome: Promise<void>;
}

/**
 * Collects bus messages per partition and assignment epoch, and hands each group on once it has
 * `limit` messages or in a microtask after the code that added its first message, whichever comes first.
 * `emit` returns the settling of the combined message (or nothing when it is not tracked); every
 * part's `add` returns the same settling.
 */
export class MessageCombiner {
    private readonly groups = new Map<string, Group>();

    constructor(
        private readonly limit: number,
        private readonly emit: (combined: CombinedMessage) => Promise<void> | void,
    ) {}

    add(message: BusMessage): Promise<void> {
        const id = message.partition === undefined ? '' : `${message.partition}:${message.epoch ?? ''}`;
        let group = this.groups.get(id);
        if (!group) {
            group = this.open(id, message);
        } else if (group.combined.key !== message.key) {
            group.combined.key = '';
        }
        const { combined } = group;
        if (Array.isArray(message.value)) {
            for (const item of message.value) combined.value.push(item);
        } else {
            combined.value.push(message.value);
        }
        combined.count += 1;
        if (combined.count >= this.limit) this.flush(id);
        return group.outcome;
    }

    private open(id: string, message: BusMessage): Group {
        let resolve!: () => void;
        let reject!: (error: unknown) => void;
        const outcome = new Promise<void>((settle, fail) => {
            resolve = settle;
            reject = fail;
        });
        outcome.catch(() => undefined);
        const combined: CombinedMessage = { topic: message.topic, key: message.key, value: [], count: 0 };
        if (message.partition !== undefined) combined.partition = message.partition;
        if (message.epoch !== undefined) combined.epoch = message.epoch;
        if (message.offset !== undefined) combined.offset = message.offset;
        const group: Group = { combined, resolve, reject, outcome };
        this.groups.set(id, group);
        queueMicrotask(() => {
            if (this.groups.get(id) === group) this.flush(id);
        });
        return group;
    }

    private flush(id: string): void {
        const group = this.groups.get(id);
        if (!group) return;
        this.groups.delete(id);
        let settling: Promise<void> | void;
        try {
            settling = this.emit(group.combined);
        } catch (error) {
            group.reject(error);
            return;
        }
        if (settling) settling.then(group.resolve, group.reject);
        else group.resolve();
    }
}
