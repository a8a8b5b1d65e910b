import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Reading } from '../types';
import { BatchWindow } from './batch-window';

function readingsOf(assetId: string, count: number): Reading[] {
    return Array.from({ length: count }, (_, index) => ({ asset_id: assetId, metric: `m${index}`, value: index, unit: 'psi', ts: '2024-05-01T00:00:00.000Z' }));
}

afterEach(() => {
    vi.useRealTimers();
});

describe('BatchWindow', () => {
    it('should close a batch when the window ends and settle each message once', () => {
        vi.useFakeTimers();
        const batches: Reading[][] = [];
        const window = new BatchWindow({ windowMs: 100, maxReadings: 50, send: (readings) => batches.push(readings) });
        const settled: (Error | undefined)[] = [];
        window.add(readingsOf('a', 8), (err) => settled.push(err));
        vi.advanceTimersByTime(60);
        window.add(readingsOf('b', 8), (err) => settled.push(err));
        vi.advanceTimersByTime(39);
        expect(batches).toEqual([]);

        vi.advanceTimersByTime(1);

        expect(batches.map((batch) => batch.length)).toEqual([16]);
        expect(settled).toEqual([undefined, undefined]);
        expect(window.pending).toBe(0);
    });

    it('should close a full batch at once', () => {
        const batches: Reading[][] = [];
        const window = new BatchWindow({ windowMs: 60_000, maxReadings: 20, send: (readings) => batches.push(readings) });
        for (const asset of ['a', 'b', 'c']) window.add(readingsOf(asset, 8), () => undefined);

        expect(batches.map((batch) => [...new Set(batch.map((reading) => reading.asset_id))])).toEqual([['a', 'b']]);
        expect(window.pending).toBe(8);
        window.flush();
        expect(batches.length).toBe(2);
    });

    it('should send a message larger than the most readings alone', () => {
        const batches: Reading[][] = [];
        const window = new BatchWindow({ windowMs: 60_000, maxReadings: 10, send: (readings) => batches.push(readings) });
        window.add(readingsOf('a', 4), () => undefined);
        window.add(readingsOf('b', 30), () => undefined);

        expect(batches.map((batch) => batch.length)).toEqual([4, 30]);
    });

    it('should settle a failed batch with its error', () => {
        const window = new BatchWindow({
            windowMs: 60_000,
            maxReadings: 100,
            send: () => {
                throw new Error('sequence file is read-only');
            },
        });
        const settled: (Error | undefined)[] = [];
        window.add(readingsOf('a', 2), (err) => settled.push(err));
        window.add(readingsOf('b', 2), (err) => settled.push(err));
        window.flush();

        expect(settled.map((err) => err?.message)).toEqual(['sequence file is read-only', 'sequence file is read-only']);
        expect(window.pending).toBe(0);
    });

    it('should do nothing when flushed empty', () => {
        const send = vi.fn();
        new BatchWindow({ windowMs: 10, maxReadings: 10, send }).flush();

        expect(send).not.toHaveBeenCalled();
    });
});
