import { describe, expect, it } from 'vitest';

import { ServiceError, ValidationError } from '../errors';
import type { Reading } from '../types';
import { BatchWriter, type BatchWriterOptions } from './batch-writer';
import type { ReadingsWriteResult } from './readings';

function readings(asset: string, count: number, firstSecond = 0): Reading[] {
    return Array.from({ length: count }, (_, i) => ({
        asset_id: asset,
        metric: 'oil_rate',
        value: i,
        unit: 'bopd',
        ts: new Date(Date.UTC(2017, 2, 20, 0, 0, firstSecond + i)).toISOString(),
    }));
}

/** A fake database write that stores keys in memory and can be held open or made to fail. */
class FakeStore {
    readonly keys = new Set<string>();
    readonly batches: Reading[][] = [];
    failures: Error[] = [];
    private gate?: Promise<void>;
    private openGate?: () => void;

    hold(): void {
        this.gate = new Promise((resolve) => {
            this.openGate = resolve;
        });
    }

    release(): void {
        this.openGate?.();
        this.gate = undefined;
    }

    write = async (batch: Reading[]): Promise<ReadingsWriteResult> => {
        this.batches.push(batch);
        await this.gate;
        const failure = this.failures.shift();
        if (failure) throw failure;
        if (batch.some((r) => r.asset_id === 'poison')) throw new ValidationError('bad', 'poison reading');
        const storedFlags = batch.map((r) => {
            const key = `${r.asset_id}|${r.metric}|${r.ts}`;
            if (this.keys.has(key)) return false;
            this.keys.add(key);
            return true;
        });
        const inserted = storedFlags.filter(Boolean).length;
        return { inserted, duplicates: batch.length - inserted, storedFlags };
    };
}

function writer(store: FakeStore, options: Partial<BatchWriterOptions> = {}): BatchWriter {
    return new BatchWriter({ write: store.write, batchSize: 10, maxWaitMs: 60_000, initialDelayMs: 1, maxDelayMs: 5, ...options });
}

/** Lets pending promise callbacks run. */
function settle(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
}

describe('batching', () => {
    it('should write several messages in one batch once the batch size is reached', async () => {
        const store = new FakeStore();
        const batcher = writer(store);

        const results = Promise.all([batcher.submit(readings('a', 4)), batcher.submit(readings('b', 4)), batcher.submit(readings('c', 2))]);

        expect(await results).toEqual([
            { inserted: 4, duplicates: 0 },
            { inserted: 4, duplicates: 0 },
            { inserted: 2, duplicates: 0 },
        ]);
        expect(store.batches.map((batch) => batch.length)).toEqual([10]);
    });

    it('should end a batch before a message that would overflow it', async () => {
        const store = new FakeStore();
        const batcher = writer(store, { maxWaitMs: 20 });

        await Promise.all([batcher.submit(readings('a', 4)), batcher.submit(readings('b', 4)), batcher.submit(readings('c', 4))]);

        expect(store.batches.map((batch) => batch.length)).toEqual([8, 4]);
    });

    it('should write a message larger than the batch size alone', async () => {
        const store = new FakeStore();
        const batcher = writer(store, { maxWaitMs: 20 });

        await Promise.all([batcher.submit(readings('a', 2)), batcher.submit(readings('b', 12)), batcher.submit(readings('c', 2))]);

        expect(store.batches.map((batch) => batch.length)).toEqual([2, 12, 2]);
    });

    it('should write a partial batch after the maximum wait', async () => {
        const store = new FakeStore();
        const batcher = writer(store, { maxWaitMs: 20 });
        const started = Date.now();

        await batcher.submit(readings('a', 3));

        expect(Date.now() - started).toBeGreaterThanOrEqual(15);
        expect(store.batches.map((batch) => batch.length)).toEqual([3]);
    });

    it('should settle a message only after its batch is written', async () => {
        const store = new FakeStore();
        store.hold();
        const batcher = writer(store);
        let settled = false;

        const result = batcher.submit(readings('a', 10)).then((r) => {
            settled = true;
            return r;
        });
        await settle();

        expect(store.batches).toHaveLength(1);
        expect(settled).toBe(false);
        store.release();
        expect(await result).toEqual({ inserted: 10, duplicates: 0 });
    });

    it('should count duplicates per message', async () => {
        const store = new FakeStore();
        const batcher = writer(store);
        await batcher.submit(readings('a', 10));

        const results = await Promise.all([batcher.submit(readings('a', 6, 7)), batcher.submit(readings('a', 4, 7))]);

        // The first message repeats seconds 7-9 and adds 10-12; the second repeats 7-10 of the first.
        expect(results).toEqual([
            { inserted: 3, duplicates: 3, storedFlags: [false, false, false, true, true, true] },
            { inserted: 0, duplicates: 4, storedFlags: [false, false, false, false] },
        ]);
    });
});

describe('failures', () => {
    it('should retry a retriable failure without settling', async () => {
        const store = new FakeStore();
        store.failures = [new ServiceError('connection lost', { retriable: true }), new ServiceError('restarting', { retriable: true })];
        const attempts: number[] = [];
        const batcher = writer(store, { listener: { retrying: (_error, attempt) => attempts.push(attempt) } });

        const result = await batcher.submit(readings('a', 10));

        expect(result).toEqual({ inserted: 10, duplicates: 0 });
        expect(attempts).toEqual([1, 2]);
        expect(store.batches).toHaveLength(3);
    });

    it('should fail only the message that the database rejects', async () => {
        const store = new FakeStore();
        const batcher = writer(store);

        const outcomes = await Promise.allSettled([
            batcher.submit(readings('a', 4)),
            batcher.submit(readings('poison', 4)),
            batcher.submit(readings('c', 2)),
        ]);

        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
        expect(store.keys.size).toBe(6);
    });
});

describe('back-pressure', () => {
    it('should hold messages while the buffer is full', async () => {
        const store = new FakeStore();
        store.hold();
        const waiting: boolean[] = [];
        const batcher = writer(store, { maxBuffered: 20, listener: { waiting: (w) => waiting.push(w) } });

        const first = batcher.submit(readings('a', 10));
        const second = batcher.submit(readings('b', 10));
        const third = batcher.submit(readings('c', 10));
        await settle();

        expect(waiting).toEqual([true]);
        expect(batcher.pendingReadings).toBe(30);
        store.release();
        await Promise.all([first, second, third]);
        expect(waiting).toEqual([true, false]);
        expect(store.keys.size).toBe(30);
    });
});

describe('close', () => {
    it('should write buffered readings before closing', async () => {
        const store = new FakeStore();
        const batcher = writer(store);

        const result = batcher.submit(readings('a', 3));
        await batcher.close(1_000);

        expect(await result).toEqual({ inserted: 3, duplicates: 0 });
    });

    it('should fail readings still unwritten when the time is up', async () => {
        const store = new FakeStore();
        store.failures = Array.from({ length: 1_000 }, () => new ServiceError('down', { retriable: true }));
        const batcher = writer(store);

        const result = batcher.submit(readings('a', 3));
        await batcher.close(30);

        await expect(result).rejects.toThrow(/closed after 30 ms with 3 readings not stored/);
    });

    it('should reject readings submitted after close', async () => {
        const batcher = writer(new FakeStore());
        await batcher.close(10);

        await expect(batcher.submit(readings('a', 1))).rejects.toThrow(/closing/);
    });
});

describe('concurrent batches', () => {
    /** A write whose batches each wait for their own release. */
    function gatedWrites(): { write: BatchWriterOptions['write']; started: Reading[][]; release: (index: number) => void } {
        const started: Reading[][] = [];
        const gates: (() => void)[] = [];
        return {
            started,
            release: (index) => gates[index](),
            write: async (batch) => {
                started.push(batch);
                await new Promise<void>((resolve) => gates.push(resolve));
                return { inserted: batch.length, duplicates: 0, storedFlags: batch.map(() => true) };
            },
        };
    }

    it('should write a second batch while the first is still being written', async () => {
        const gated = gatedWrites();
        const batcher = new BatchWriter({ write: gated.write, batchSize: 10, maxWaitMs: 60_000 });

        for (const asset of ['a', 'b', 'c', 'd', 'e']) void batcher.submit(readings(asset, 10));
        await settle();

        // Four batches at once by default; the fifth waits for a free write.
        expect(gated.started.map((batch) => batch[0].asset_id)).toEqual(['a', 'b', 'c', 'd']);
        gated.release(0);
        await settle();
        await settle();
        expect(gated.started.map((batch) => batch[0].asset_id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('should settle messages in submission order when a later batch commits first', async () => {
        const gated = gatedWrites();
        const batcher = new BatchWriter({ write: gated.write, batchSize: 10, maxWaitMs: 60_000 });
        const order: string[] = [];

        const first = batcher.submit(readings('a', 10)).then(() => order.push('a'));
        const second = batcher.submit(readings('b', 10)).then(() => order.push('b'));
        await settle();
        gated.release(1);
        await settle();
        await settle();

        expect(order).toEqual([]);
        gated.release(0);
        await Promise.all([first, second]);
        expect(order).toEqual(['a', 'b']);
    });

    it('should start no batch while a write waits to be retried', async () => {
        const store = new FakeStore();
        store.failures = [new ServiceError('connection lost', { retriable: true })];
        const batcher = writer(store, { initialDelayMs: 50, maxDelayMs: 50, concurrency: 2 });

        const first = batcher.submit(readings('a', 10));
        await settle();
        void batcher.submit(readings('b', 10));
        await settle();

        expect(store.batches.map((batch) => batch[0].asset_id)).toEqual(['a']);
        await first;
        await batcher.close();
        expect(store.batches.map((batch) => batch[0].asset_id)).toEqual(['a', 'a', 'b']);
    });

    it('should write one batch at a time with a concurrency of 1', async () => {
        const gated = gatedWrites();
        const batcher = new BatchWriter({ write: gated.write, batchSize: 10, maxWaitMs: 60_000, concurrency: 1 });

        void batcher.submit(readings('a', 10));
        void batcher.submit(readings('b', 10));
        await settle();

        expect(gated.started).toHaveLength(1);
    });
});
