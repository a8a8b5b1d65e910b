// Bulk load of 100,000 readings on one engine, shared by the embedded engine's tests (npm test)
// and the PostgreSQL services tests (npm run test:services). Prints the measured write rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { closeAllStores, openStore, type StoreHandle } from '../../lib/store/index';
import type { Reading } from '../../lib/types';
import type { StoreTarget } from './store-target';

/** 100,000 one-second readings: 10 wells, 2 metrics, 5,000 seconds each, from `startIso`. */
export function loadReadings(wellPrefix: string, startIso = '2017-03-20T00:00:00.000Z'): Reading[] {
    const readings: Reading[] = [];
    const start = Date.parse(startIso);
    for (let well = 0; well < 10; well += 1) {
        for (const metric of ['pressure_wellhead', 'temp_wellhead']) {
            for (let second = 0; second < 5_000; second += 1) {
                readings.push({
                    asset_id: `${wellPrefix}-${well}`,
                    metric,
                    ts: new Date(start + second * 1_000).toISOString(),
                    value: second % 97 === 0 ? null : 1_000 + Math.sin(second / 60) * 50,
                    unit: metric === 'temp_wellhead' ? 'degC' : 'psi',
                });
            }
        }
    }
    return readings;
}

/** Runs the bulk load test against a new database of `target`. */
export function loadSuite(target: StoreTarget): void {
    let store: StoreHandle;
    let attempts = 0;
    let wellPrefix = '';

    beforeAll(async () => {
        store = await openStore(await target.createSpec());
    });

    afterAll(async () => {
        await closeAllStores();
        await target.cleanup();
    });

    async function rollupRows(table: string): Promise<number> {
        const { rows } = await store.query<{ count: unknown }>(`SELECT count(*) AS count FROM ${table} WHERE starts_with(asset_id, $1)`, [wellPrefix]);
        return Number(rows[0].count);
    }

    describe(`bulk load on ${target.engine}`, () => {
        // An engine on the main thread blocks timers on every run, which a retry cannot hide. The
        // retry covers a busy machine, where other processes occasionally delay one tick that long.
        it('should keep main-thread timers running during a 100k-reading write', { retry: 1 }, async () => {
            attempts += 1;
            wellPrefix = `load-${attempts}-well`;
            const readings = loadReadings(wellPrefix);
            let last = performance.now();
            let maxGapMs = 0;
            const ticker = setInterval(() => {
                const now = performance.now();
                maxGapMs = Math.max(maxGapMs, now - last);
                last = now;
            }, 5);

            const started = performance.now();
            const result = await store.writeReadings(readings);
            const elapsedMs = performance.now() - started;
            clearInterval(ticker);

            const rate = Math.round(readings.length / (elapsedMs / 1_000));
            console.log(`${target.engine}: 100k readings in ${Math.round(elapsedMs)} ms (${rate} readings/s, 1m/15m/1h rollups `
                + `included); largest gap between 5 ms timer ticks: ${maxGapMs.toFixed(1)} ms`);
            expect(result.inserted).toBe(100_000);
            expect(maxGapMs).toBeLessThan(200);
        });

        it('should have one rollup row per well, metric and bucket', async () => {
            await store.refreshRollups();

            // 5,000 seconds span 84 minutes (83 full ones and 20 s of the 84th), 6 quarters and 2 hours.
            expect(await rollupRows('readings_1m')).toBe(10 * 2 * 84);
            expect(await rollupRows('readings_15m')).toBe(10 * 2 * 6);
            expect(await rollupRows('readings_1h')).toBe(10 * 2 * 2);
        });
    });
}
