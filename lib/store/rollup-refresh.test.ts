import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Db } from './db';

const calls: { stage: string; limit: number; at: number }[] = [];
/** Full batches the mocked refresh returns before a partial one. */
let fullBatches = 0;

vi.mock('./readings', () => ({
    refreshRollupBatch: async (_db: unknown, stage: string, _scope: unknown, limit: number) => {
        calls.push({ stage, limit, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (stage !== 'minutes') return 0;
        if (fullBatches > 0) {
            fullBatches--;
            return limit;
        }
        return 3;
    },
}));

const { RollupRefresher } = await import('./rollup-refresh');

const db = { query: async () => ({ rows: [{ marked: false }] }) } as unknown as Db;

function minuteCalls() {
    return calls.filter((call) => call.stage === 'minutes');
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > end) throw new Error('timed out waiting for the refresher');
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

describe('RollupRefresher pacing', () => {
    afterEach(() => {
        calls.length = 0;
        fullBatches = 0;
    });

    it('should rest between full batches', async () => {
        fullBatches = 2;
        const refresher = new RollupRefresher(db, { minuteDelayMs: 0, quarterDelayMs: 60_000, batchBuckets: 100, restFactor: 2 });
        refresher.kick();
        await until(() => minuteCalls().length === 3);
        await refresher.close();

        const [first, second, third] = minuteCalls();
        expect(first.limit).toBe(100);
        // Each batch takes about 50 ms, so the rest after it is about 100 ms.
        expect(second.at - first.at).toBeGreaterThanOrEqual(140);
        expect(third.at - second.at).toBeGreaterThanOrEqual(140);
    });

    it('should run batches back to back with no rest factor', async () => {
        fullBatches = 2;
        const refresher = new RollupRefresher(db, { minuteDelayMs: 0, quarterDelayMs: 60_000, batchBuckets: 100, restFactor: 0 });
        refresher.kick();
        await until(() => minuteCalls().length === 3);
        await refresher.close();

        const [first, , third] = minuteCalls();
        expect(third.at - first.at).toBeLessThan(140);
    });

    it('should close during a rest without waiting for it', async () => {
        fullBatches = 5;
        const refresher = new RollupRefresher(db, { minuteDelayMs: 0, quarterDelayMs: 60_000, batchBuckets: 100, restFactor: 100 });
        refresher.kick();
        await until(() => minuteCalls().length === 1);
        // The first batch ends after 50 ms and would rest 5 s.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const began = Date.now();
        await refresher.close();

        expect(Date.now() - began).toBeLessThan(1_000);
        expect(minuteCalls()).toHaveLength(1);
    });
});
