// The bookkeeping shared by detectors that judge each metric of an asset on its own.
import type { AssetDetector, Verdict } from './types';

/** State of one metric inside a per-metric detector. */
export interface MetricSeries {
    readonly learning: boolean;
    observe(ts: number, value: number): Verdict | undefined;
}

/** Keeps one series per metric, created on the metric's first reading. */
export class PerMetricDetector<S extends MetricSeries> implements AssetDetector {
    protected readonly series = new Map<string, S>();

    constructor(private readonly createSeries: (metric: string) => S) {}

    get learning(): boolean {
        if (this.series.size === 0) return true;
        return [...this.series.values()].some((series) => series.learning);
    }

    observe(ts: number, metric: string, value: number): Verdict[] {
        let series = this.series.get(metric);
        if (!series) {
            series = this.createSeries(metric);
            this.series.set(metric, series);
        }
        const verdict = series.observe(ts, value);
        return verdict ? [verdict] : [];
    }
}
