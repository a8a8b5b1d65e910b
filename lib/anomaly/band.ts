// The naive baseline: a fixed band of ± threshold standard deviations around the mean of the
// learning part, per metric. No floor on the deviation: a metric that was constant while learning
// alarms at the first change.
import { LearningClock } from './learning';
import { PerMetricDetector } from './per-metric';
import type { LearnLimit, Verdict } from './types';

export interface BandOptions {
    /** Half-width of the band in learning standard deviations. */
    threshold: number;
    learn: LearnLimit;
}

class BandSeries {
    private readonly clock: LearningClock;
    private count = 0;
    private mean = 0;
    /** Sum of squared deviations from the mean (Welford's running algorithm). */
    private m2 = 0;
    private from: number | undefined;
    private to: number | undefined;

    constructor(
        private readonly metric: string,
        private readonly options: BandOptions,
        start: number,
    ) {
        this.clock = new LearningClock(options.learn, start);
    }

    get learning(): boolean {
        return this.clock.learning || this.count < 2;
    }

    observe(ts: number, value: number): Verdict | undefined {
        if (this.clock.tick(ts) || this.count < 2) {
            this.count++;
            const delta = value - this.mean;
            this.mean += delta / this.count;
            this.m2 += delta * (value - this.mean);
            this.from ??= ts;
            this.to = ts;
            return undefined;
        }
        const std = Math.sqrt(this.m2 / this.count);
        const deviation = Math.abs(value - this.mean);
        let score = deviation / std;
        if (std === 0) score = deviation === 0 ? 0 : Infinity;
        return {
            channel: this.metric,
            metric: this.metric,
            ts,
            score,
            threshold: this.options.threshold,
            expected: this.mean,
            observed: value,
            window: { from: this.from as number, to: this.to as number },
            details: { mean: this.mean, std },
        };
    }
}

/** Fixed ±kσ band per metric of the asset. */
export class BandDetector extends PerMetricDetector<BandSeries> {
    constructor(options: BandOptions, start: number) {
        super((metric) => new BandSeries(metric, options, start));
    }
}
