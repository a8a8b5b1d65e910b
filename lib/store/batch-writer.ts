// Collects readings from many messages into batched writes, and settles each message only
// after the write that contains it has committed. Used by the ul-store-write node.
import { ServiceError, toError } from '../errors';
import type { Reading } from '../types';
import type { ReadingsWriteResult } from './readings';
import { type BackoffOptions, backoffDelay, isRetriable } from './retry';
import type { WriteResult } from './types';

export interface BatchWriterOptions extends BackoffOptions {
    /** Stores one batch in one transaction; the store's writeReadings. */
    write: (readings: Reading[]) => Promise<ReadingsWriteResult>;
    /**
     * Readings that start a write at once. Messages are never split, so a batch can exceed this
     * by up to one message. Default 5,000, one INSERT statement of the store; smaller batches
     * commit more often and store fewer readings per second.
     */
    batchSize?: number;
    /** Maximum time a reading waits for more readings to fill its batch, in milliseconds. Default 200. */
    maxWaitMs?: number;
    /** Readings buffered or being written before further messages are held back. Default 50,000. */
    maxBuffered?: number;
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

interface Entry {
    readings: Reading[];
    enqueuedAt: number;
    resolve: (result: WriteResult) => void;
    reject: (error: Error) => void;
    settled: boolean;
}

export const BATCH_DEFAULTS = { batchSize: 5_000, maxWaitMs: 200, maxBuffered: 50_000 };

export class BatchWriter {
    private readonly batchSize: number;
    private readonly maxWaitMs: number;
    private readonly maxBuffered: number;
    /** Messages accepted and not yet committed, in arrival order; the first ones may be in flight. */
    private readonly buffer: Entry[] = [];
    /** Messages that arrived while the buffer was full. */
    private readonly held: Entry[] = [];
    private bufferedReadings = 0;
    private writing = false;
    private attempt = 0;
    private waitTimer?: NodeJS.Timeout;
    private retryTimer?: NodeJS.Timeout;
    private closing = false;
    private closed = false;
    private idleWaiters: (() => void)[] = [];

    constructor(private readonly options: BatchWriterOptions) {
        this.batchSize = options.batchSize ?? BATCH_DEFAULTS.batchSize;
        this.maxWaitMs = options.maxWaitMs ?? BATCH_DEFAULTS.maxWaitMs;
        this.maxBuffered = options.maxBuffered ?? BATCH_DEFAULTS.maxBuffered;
    }

    /** Readings accepted and not yet committed, including held messages. */
    get pendingReadings(): number {
        return this.bufferedReadings + this.held.reduce((sum, entry) => sum + entry.readings.length, 0);
    }

    /** Queues the readings of one message; resolves with that message's result once committed. */
    submit(readings: Reading[]): Promise<WriteResult> {
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
        clearTimeout(this.retryTimer);
        if (timedOut) {
            const error = new ServiceError(
                `The store writer closed after ${timeoutMs} ms with ${this.pendingReadings} readings not stored; `
                    + 'the database did not accept them in time. Resend them once the database is available.',
                { retriable: true },
            );
            for (const entry of [...this.buffer, ...this.held]) this.settle(entry, error);
            this.buffer.length = 0;
            this.held.length = 0;
            this.bufferedReadings = 0;
        }
    }

    private hasRoomFor(entry: Entry): boolean {
        // An empty buffer takes any message, even one larger than the cap.
        return this.bufferedReadings === 0 || this.bufferedReadings + entry.readings.length <= this.maxBuffered;
    }

    private accept(entry: Entry): void {
        this.buffer.push(entry);
        this.bufferedReadings += entry.readings.length;
    }

    private admitHeld(): void {
        const before = this.held.length;
        while (this.held.length > 0 && this.hasRoomFor(this.held[0])) this.accept(this.held.shift() as Entry);
        if (before > 0 && this.held.length === 0) this.options.listener?.waiting?.(false);
    }

    private whenIdle(): Promise<void> {
        if (this.isIdle()) return Promise.resolve();
        return new Promise((resolve) => this.idleWaiters.push(resolve));
    }

    private isIdle(): boolean {
        return !this.writing && this.buffer.length === 0 && this.held.length === 0;
    }

    /** Starts a write now, or sets the timer for the oldest buffered reading. */
    private schedule(): void {
        if (this.closed || this.writing || this.retryTimer || this.buffer.length === 0) return;
        const waited = Date.now() - this.buffer[0].enqueuedAt;
        if (this.closing || this.bufferedReadings >= this.batchSize || waited >= this.maxWaitMs) {
            clearTimeout(this.waitTimer);
            this.waitTimer = undefined;
            void this.writeNext();
            return;
        }
        this.waitTimer ??= setTimeout(() => {
            this.waitTimer = undefined;
            this.schedule();
        }, this.maxWaitMs - waited);
    }

    private async writeNext(): Promise<void> {
        this.writing = true;
        const batch: Entry[] = [];
        let count = 0;
        while (batch.length < this.buffer.length && count < this.batchSize) {
            const entry = this.buffer[batch.length];
            batch.push(entry);
            count += entry.readings.length;
        }

        try {
            const committed = await this.writeBatch(batch);
            this.buffer.splice(0, committed);
        } finally {
            this.writing = false;
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
     * Writes `batch`, the first entries of the buffer, and returns how many of them are settled
     * (committed or failed for good). A non-retriable failure of several messages writes them
     * one by one, so that only the messages at fault fail.
     */
    private async writeBatch(batch: Entry[]): Promise<number> {
        const started = Date.now();
        try {
            const readings = batch.length === 1 ? batch[0].readings : batch.flatMap((entry) => entry.readings);
            const result = await this.options.write(readings);
            this.attempt = 0;
            this.resolveAll(batch, result);
            this.options.listener?.written?.({
                inserted: result.inserted,
                duplicates: result.duplicates,
                readings: readings.length,
                messages: batch.length,
                durationMs: Date.now() - started,
            });
            return batch.length;
        } catch (thrown) {
            const error = toError(thrown);
            if (isRetriable(error)) {
                this.scheduleRetry(error);
                return 0;
            }
            if (batch.length === 1) {
                this.fail(batch[0], error);
                return 1;
            }
        }

        for (const [index, entry] of batch.entries()) {
            const settled = await this.writeBatch([entry]);
            if (settled === 0) return index;
        }
        return batch.length;
    }

    private scheduleRetry(error: Error): void {
        this.attempt += 1;
        const delayMs = backoffDelay(this.attempt, this.options);
        this.options.listener?.retrying?.(error, this.attempt, delayMs);
        this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.schedule();
        }, delayMs);
    }

    private resolveAll(batch: Entry[], result: ReadingsWriteResult): void {
        let offset = 0;
        for (const entry of batch) {
            const size = entry.readings.length;
            let inserted = 0;
            for (let i = offset; i < offset + size; i += 1) {
                if (result.storedFlags[i]) inserted += 1;
            }
            offset += size;
            this.bufferedReadings -= size;
            this.settle(entry, { inserted, duplicates: size - inserted });
        }
    }

    private fail(entry: Entry, error: Error): void {
        this.bufferedReadings -= entry.readings.length;
        this.options.listener?.failed?.(error, entry.readings.length);
        this.settle(entry, error);
    }

    private settle(entry: Entry, outcome: WriteResult | Error): void {
        if (entry.settled) return;
        entry.settled = true;
        if (outcome instanceof Error) entry.reject(outcome);
        else entry.resolve(outcome);
    }
}
