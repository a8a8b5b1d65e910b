// Collects readings from many messages into batched writes, and settles each message only
// after the write that contains it has committed. Several batches may be written at once, each in
// its own transaction, but messages settle in the order they were submitted. Used by the
// ul-store-write node.
import { ServiceError, toError } from '../errors';
import type { Reading } from '../types';
import type { ReadingsWriteResult } from './readings';
import { type BackoffOptions, backoffDelay, isRetriable } from './retry';
import type { WriteResult } from './types';

export interface BatchWriterOptions extends BackoffOptions {
    /** Stores one batch atomically, as the store's writeReadings does. */
    write: (readings: Reading[]) => Promise<ReadingsWriteResult>;
    /**
     * Readings that start a write at once, and the maximum one batch takes. Messages are never split:
     * a batch ends before the message that would take it past this, and only a single message
     * larger than this makes a larger batch. Default 5,000, one INSERT statement of the store, so
     * a batch needs no transaction around several statements. Smaller batches commit more often
     * and store fewer readings per second.
     */
    batchSize?: number;
    /** Maximum time a reading waits for more readings to fill its batch, in milliseconds. Default 200. */
    maxWaitMs?: number;
    /** Readings buffered or being written before further messages are held back. Default 50,000. */
    maxBuffered?: number;
    /**
     * Batches written at the same time, each atomically. Default 4: a batch's write
     * time includes the waits for free turns of this process's event loop, which grow under load,
     * and more batches in flight keep the database busy through them. While a write waits to be
     * retried, no further batch starts.
     */
    concurrency?: number;
    listener?: BatchWriterListener;
}

export interface BatchWriterListener {
    /** A batch committed. */
    written?(summary: WriteResult & { readings: number; messages: number; durationMs: number }): void;
    /** The buffer filled up (true) or has room again (false). */
    waiting?(waiting: boolean): void;
    /** A write failed with a retriable error and runs again after `delayMs`. */
    retrying?(error: Error, attempt: number, delayMs: number): void;
    /** A message failed for good; its submit() promise rejects with `error`. */
    failed?(error: Error, readings: number): void;
}

/** Result of one message's readings. When some were duplicates, `storedFlags` marks per reading whether it was new. */
export interface MessageWriteResult extends WriteResult {
    storedFlags?: boolean[];
}

interface Entry {
    readings: Reading[];
    enqueuedAt: number;
    resolve: (result: MessageWriteResult) => void;
    reject: (error: Error) => void;
    settled: boolean;
}

export const BATCH_DEFAULTS = { batchSize: 5_000, maxWaitMs: 200, maxBuffered: 50_000, concurrency: 4 };

export class BatchWriter {
    private readonly batchSize: number;
    private readonly maxWaitMs: number;
    private readonly maxBuffered: number;
    private readonly concurrency: number;
    /** Messages accepted and not yet taken by a write, in arrival order. */
    private readonly buffer: Entry[] = [];
    /** Readings of the messages in `buffer`. */
    private queuedReadings = 0;
    /** Messages that arrived while the buffer was full. */
    private readonly held: Entry[] = [];
    /** Readings accepted and not yet settled: queued or being written. */
    private bufferedReadings = 0;
    /** Batches being written, retried or waiting for an earlier batch to settle. */
    private readonly writing = new Set<Entry[]>();
    /** Writes waiting for their retry delay; no batch starts meanwhile. */
    private retrying = 0;
    /** Settles when every batch started so far has settled its messages. */
    private settledInOrder: Promise<void> = Promise.resolve();
    private waitTimer?: NodeJS.Timeout;
    private readonly retryTimers = new Set<NodeJS.Timeout>();
    private closing = false;
    private closed = false;
    private idleWaiters: (() => void)[] = [];

    constructor(private readonly options: BatchWriterOptions) {
        this.batchSize = options.batchSize ?? BATCH_DEFAULTS.batchSize;
        this.maxWaitMs = options.maxWaitMs ?? BATCH_DEFAULTS.maxWaitMs;
        this.maxBuffered = options.maxBuffered ?? BATCH_DEFAULTS.maxBuffered;
        this.concurrency = Math.max(1, options.concurrency ?? BATCH_DEFAULTS.concurrency);
    }

    /** Readings accepted and not yet committed, including held messages. */
    get pendingReadings(): number {
        return this.bufferedReadings + this.held.reduce((sum, entry) => sum + entry.readings.length, 0);
    }

    /** Queues the readings of one message; resolves with that message's result once committed. */
    submit(readings: Reading[]): Promise<MessageWriteResult> {
        if (this.closing) {
            return Promise.reject(new ServiceError('The store writer is closing and accepts no more readings; resend them after the restart.', {
                retriable: true,
            }));
        }
        if (readings.length === 0) return Promise.resolve({ inserted: 0, duplicates: 0 });

        return new Promise((resolve, reject) => {
            const entry: Entry = { readings, enqueuedAt: Date.now(), resolve, reject, settled: false };
            if (this.held.length > 0 || !this.hasRoomFor(entry)) {
                this.held.push(entry);
                if (this.held.length === 1) this.options.listener?.waiting?.(true);
            } else {
                this.accept(entry);
            }
            this.schedule();
        });
    }

    /**
     * Writes everything accepted so far, waiting at most `timeoutMs`, then rejects whatever is
     * still unwritten and accepts no more readings.
     */
    async close(timeoutMs = 10_000): Promise<void> {
        this.closing = true;
        this.admitHeld();
        this.schedule();

        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), timeoutMs);
        });
        const timedOut = await Promise.race([this.whenIdle().then(() => false), deadline]);
        clearTimeout(timer);

        this.closed = true;
        clearTimeout(this.waitTimer);
        for (const retryTimer of this.retryTimers) clearTimeout(retryTimer);
        this.retryTimers.clear();
        if (timedOut) {
            const error = new ServiceError(
                `The store writer closed after ${timeoutMs} ms with ${this.pendingReadings} readings not stored; `
                    + 'the database did not accept them in time. Resend them once the database is available.',
                { retriable: true },
            );
            const unsettled = [...[...this.writing].flat(), ...this.buffer, ...this.held];
            this.buffer.length = 0;
            this.held.length = 0;
            this.queuedReadings = 0;
            for (const entry of unsettled) this.settle(entry, error);
        }
    }

    private hasRoomFor(entry: Entry): boolean {
        return this.bufferedReadings === 0 || this.bufferedReadings + entry.readings.length <= this.maxBuffered;
    }

    private accept(entry: Entry): void {
        this.buffer.push(entry);
        this.queuedReadings += entry.readings.length;
        this.bufferedReadings += entry.readings.length;
    }

    private admitHeld(): void {
        const before = this.held.length;
        // One splice at the end: shifting a long backlog entry by entry costs time squared.
        let admitted = 0;
        while (admitted < this.held.length && this.hasRoomFor(this.held[admitted])) this.accept(this.held[admitted++]);
        if (admitted > 0) this.held.splice(0, admitted);
        if (before > 0 && this.held.length === 0) this.options.listener?.waiting?.(false);
    }

    private whenIdle(): Promise<void> {
        if (this.isIdle()) return Promise.resolve();
        return new Promise((resolve) => this.idleWaiters.push(resolve));
    }

    private isIdle(): boolean {
        return this.writing.size === 0 && this.buffer.length === 0 && this.held.length === 0;
    }

    /** Starts writes while there is room for them, or sets the timer for the oldest queued reading. */
    private schedule(): void {
        while (!this.closed && this.retrying === 0 && this.writing.size < this.concurrency && this.buffer.length > 0) {
            const waited = Date.now() - this.buffer[0].enqueuedAt;
            if (!this.closing && this.queuedReadings < this.batchSize && waited < this.maxWaitMs) {
                this.waitTimer ??= setTimeout(() => {
                    this.waitTimer = undefined;
                    this.schedule();
                }, this.maxWaitMs - waited);
                return;
            }
            clearTimeout(this.waitTimer);
            this.waitTimer = undefined;
            void this.writeNext();
        }
    }

    /** Takes the next batch from the buffer, writes it and settles its messages after those of earlier batches. */
    private async writeNext(): Promise<void> {
        const batch: Entry[] = [];
        let count = 0;
        while (this.buffer.length > 0 && (count === 0 || count + this.buffer[0].readings.length <= this.batchSize)) {
            const entry = this.buffer.shift() as Entry;
            batch.push(entry);
            count += entry.readings.length;
        }
        this.queuedReadings -= count;
        this.writing.add(batch);
        const earlier = this.settledInOrder;
        let settled = (): void => undefined;
        this.settledInOrder = new Promise((resolve) => {
            settled = resolve;
        });

        try {
            const outcomes = await this.writeBatch(batch);
            await earlier;
            batch.forEach((entry, index) => this.settle(entry, outcomes[index]));
        } finally {
            settled();
            this.writing.delete(batch);
            if (!this.closed) {
                this.admitHeld();
                this.schedule();
            }
            if (this.isIdle()) {
                for (const resolve of this.idleWaiters.splice(0)) resolve();
            }
        }
    }

    /**
     * Writes `batch` and returns the outcome of each message: its result, or the error it failed
     * with for good. A retriable failure is retried after a backoff, until the writer closes. A
     * non-retriable failure of several messages writes them one by one, so that only the messages
     * at fault fail.
     */
    private async writeBatch(batch: Entry[]): Promise<(MessageWriteResult | Error)[]> {
        for (let attempt = 1; ; attempt++) {
            const started = Date.now();
            try {
                const readings = batch.length === 1 ? batch[0].readings : batch.flatMap((entry) => entry.readings);
                const result = await this.options.write(readings);
                this.options.listener?.written?.({
                    inserted: result.inserted,
                    duplicates: result.duplicates,
                    readings: readings.length,
                    messages: batch.length,
                    durationMs: Date.now() - started,
                });
                return this.perMessage(batch, result);
            } catch (thrown) {
                const error = toError(thrown);
                if (isRetriable(error)) {
                    if (!(await this.waitToRetry(error, attempt))) return batch.map(() => error);
                    continue;
                }
                if (batch.length === 1) {
                    this.options.listener?.failed?.(error, batch[0].readings.length);
                    return [error];
                }
                break;
            }
        }
        const outcomes: (MessageWriteResult | Error)[] = [];
        for (const entry of batch) outcomes.push(...(await this.writeBatch([entry])));
        return outcomes;
    }

    /** Waits the backoff delay of a retry; false when the writer closed meanwhile. */
    private async waitToRetry(error: Error, attempt: number): Promise<boolean> {
        if (this.closed) return false;
        const delayMs = backoffDelay(attempt, this.options);
        this.options.listener?.retrying?.(error, attempt, delayMs);
        this.retrying++;
        try {
            await new Promise<void>((resolve) => {
                const timer = setTimeout(() => {
                    this.retryTimers.delete(timer);
                    resolve();
                }, delayMs);
                this.retryTimers.add(timer);
                // close() clears the timers; its deadline settles the messages of this batch.
                if (this.closed) resolve();
            });
        } finally {
            this.retrying--;
        }
        return !this.closed;
    }

    /** Splits a batch's result into one result per message, by the stored flags of its readings. */
    private perMessage(batch: Entry[], result: ReadingsWriteResult): MessageWriteResult[] {
        let offset = 0;
        return batch.map((entry) => {
            const size = entry.readings.length;
            let inserted = 0;
            for (let i = offset; i < offset + size; i += 1) {
                if (result.storedFlags[i]) inserted += 1;
            }
            const start = offset;
            offset += size;
            if (inserted === size) return { inserted, duplicates: 0 };
            return { inserted, duplicates: size - inserted, storedFlags: result.storedFlags.slice(start, start + size) };
        });
    }

    private settle(entry: Entry, outcome: MessageWriteResult | Error): void {
        if (entry.settled) return;
        entry.settled = true;
        this.bufferedReadings -= entry.readings.length;
        if (outcome instanceof Error) entry.reject(outcome);
        else entry.resolve(outcome);
    }
}
