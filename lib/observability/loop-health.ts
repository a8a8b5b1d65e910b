// Event-loop delay and garbage-collection pauses of the runtime process, as Prometheus metrics. A
// reading waits behind every task on the event loop, so a long delay here adds to the latency from
// publish to stored row.
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

import { incrementCounter, registerGauge } from './counters';

/** Length of the window the delay quantiles cover, in milliseconds. */
export const LOOP_WINDOW_MS = 10_000;

/** Sampling interval of the delay histogram, in milliseconds. An idle loop records about this much. */
const RESOLUTION_MS = 10;

const DELAY_METRIC = 'ul_event_loop_delay_seconds';
const DELAY_HELP = `Event-loop delay of the runtime over the last ${LOOP_WINDOW_MS / 1000} s window, by quantile (1 is the maximum).`;
const GC_METRIC = 'ul_gc_pause_seconds_total';
const GC_HELP = 'Time the runtime spent paused in garbage collection, by kind of collection.';

const GC_KINDS = new Map<number, string>([
    [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
    [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
    [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** Returns the kind label of a gc performance entry. */
export function gcKind(entry: PerformanceEntry): string {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    return (kind !== undefined && GC_KINDS.get(kind)) || 'other';
}

/**
 * Starts measuring the event-loop delay and garbage-collection pauses, and registers their
 * metrics. Returns a function that stops the measuring and removes the delay gauges.
 */
export function watchLoopHealth(windowMs = LOOP_WINDOW_MS): () => void {
    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    histogram.enable();
    // Quantiles of the last full window, in seconds, beyond the sampling interval itself. A window
    // without samples keeps the values before it.
    const last = { median: 0, p99: 0, max: 0 };
    const beyondInterval = (nanoseconds: number) => Math.max(0, nanoseconds / 1e9 - RESOLUTION_MS / 1000);
    const timer = setInterval(() => {
        if (histogram.count > 0) {
            last.median = beyondInterval(histogram.percentile(50));
            last.p99 = beyondInterval(histogram.percentile(99));
            last.max = beyondInterval(histogram.max);
        }
        histogram.reset();
    }, windowMs);
    timer.unref();

    const removers = [
        registerGauge(DELAY_METRIC, DELAY_HELP, { quantile: '0.5' }, () => last.median),
        registerGauge(DELAY_METRIC, DELAY_HELP, { quantile: '0.99' }, () => last.p99),
        registerGauge(DELAY_METRIC, DELAY_HELP, { quantile: '1' }, () => last.max),
    ];
    const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) incrementCounter(GC_METRIC, GC_HELP, { kind: gcKind(entry) }, entry.duration / 1000);
    });
    observer.observe({ entryTypes: ['gc'] });

    return () => {
        clearInterval(timer);
        histogram.disable();
        observer.disconnect();
        for (const remove of removers) remove();
    };
}
