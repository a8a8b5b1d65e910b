import { afterEach, describe, expect, it } from 'vitest';

import { metricValue } from './counters';
import { watchLoopHealth } from './loop-health';

function blockFor(ms: number): void {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        // Busy wait: the event loop cannot run while this loop does.
    }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchLoopHealth', () => {
    let stop: (() => void) | undefined;

    afterEach(() => {
        stop?.();
        stop = undefined;
    });

    it('should report a blocked loop as its maximum delay', async () => {
        // The first window closes at 1 s and the second at 2 s; the checks read the first.
        stop = watchLoopHealth(1000);
        await sleep(50);
        blockFor(300);
        await sleep(800);

        const max = metricValue('ul_event_loop_delay_seconds', { quantile: '1' }) as number;
        const median = metricValue('ul_event_loop_delay_seconds', { quantile: '0.5' }) as number;
        expect(max).toBeGreaterThan(0.25);
        expect(max).toBeLessThan(5);
        expect(median).toBeLessThan(max);
        // Most samples of the window saw an idle loop, which records only the sampling interval.
        expect(median).toBeLessThan(0.005);
    });

    it('should count garbage-collection pauses', async () => {
        stop = watchLoopHealth(400);
        const before = metricValue('ul_gc_pause_seconds_total', { kind: 'minor' }) ?? 0;
        let kept: number[][] = [];
        for (let round = 0; round < 200_000; round++) {
            kept.push([round, round + 1]);
            if (kept.length > 1000) kept = [];
        }
        // gc entries arrive on a later turn of the loop.
        await sleep(100);

        expect(kept.length).toBeGreaterThan(0);
        expect(metricValue('ul_gc_pause_seconds_total', { kind: 'minor' }) as number).toBeGreaterThan(before);
    });

    it('should remove the delay gauges when stopped', () => {
        const stopWatching = watchLoopHealth(400);
        expect(metricValue('ul_event_loop_delay_seconds', { quantile: '0.99' })).toBe(0);
        stopWatching();
        expect(metricValue('ul_event_loop_delay_seconds', { quantile: '0.99' })).toBeUndefined();
    });
});
