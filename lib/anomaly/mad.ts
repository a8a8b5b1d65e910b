// Robust rolling statistics: median and median absolute deviation (MAD) of a trailing window,
// and the robust z-score z = 0.6745·(x − median) / MAD of each new reading. 0.6745 is the
// standard normal quantile at 0.75, so z is in standard deviations for normal noise.
import { scaleFloor, type ScaleFloor } from './floors';
import { LearningClock } from './learning';
import { RollingWindow } from './rolling';
import { PerMetricDetector } from './per-metric';
import type { LearnLimit, Verdict } from './types';

/** Quantile of the standard normal distribution at 0.75; MAD = 0.6745·σ for normal noise. */
export const MAD_TO_SIGMA = 0.6745;

export interface MadOptions {
    /** Length of the trailing window, in milliseconds. */
    windowMs: number;
    /** Limit of |z|. */
    threshold: number;
    learn: LearnLimit;
    /** Maximum readings kept per metric, whatever the window length. Default 20,000. */
    maxReadings?: number;
    /** Readings kept when the window is renewed after a long anomaly. Default 30. */
    minReadings?: number;
    floor?: ScaleFloor;
    /**
     * When true (default), readings whose |z| is above the threshold stay out of the window, so a
     * lasting anomaly does not become the new normal while it is alarmed.
     */
    excludeAnomalies?: boolean;
}

/** Returns the robust z-score; the MAD is raised to the floor first. */
export function robustZ(value: number, median: number, mad: number, madFloor: number): number {
    return (MAD_TO_SIGMA * (value - median)) / Math.max(mad, madFloor);
}

class MadSeries {
    private readonly window: RollingWindow;
    private readonly clock: LearningClock;

    constructor(
        private readonly metric: string,
        private readonly options: MadOptions,
        start: number,
    ) {
        this.window = new RollingWindow(options.maxReadings ?? 20_000);
        this.clock = new LearningClock(options.learn, start);
    }

    get learning(): boolean {
        return this.clock.learning;
    }

    observe(ts: number, value: number): Verdict | undefined {
        // A metric that starts reporting after the learning part is scored once its window has
        // the minimum number of readings.
        if (this.clock.tick(ts) || this.window.size < (this.options.minReadings ?? 30)) {
            this.add(ts, value);
            return undefined;
        }
        const median = this.window.median();
        const mad = this.window.mad();
        const madFloor = MAD_TO_SIGMA * scaleFloor(this.metric, median, this.options.floor);
        const z = robustZ(value, median, mad, madFloor);
        const verdict: Verdict = {
            channel: this.metric,
            metric: this.metric,
            ts,
            score: Math.abs(z),
            threshold: this.options.threshold,
            expected: median,
            observed: value,
            window: { from: this.window.oldestTime as number, to: this.window.newestTime as number },
            details: { z, median, mad, mad_floor: madFloor, window_readings: this.window.size },
        };
        const excluded = (this.options.excludeAnomalies ?? true) && Math.abs(z) > this.options.threshold;
        if (!excluded) this.add(ts, value);
        return verdict;
    }

    private add(ts: number, value: number): void {
        this.window.push(value, ts);
        const keep = this.options.minReadings ?? 30;
        while (this.window.size > keep && (this.window.oldestTime as number) <= ts - this.options.windowMs) this.window.evictOldest();
    }
}

/** Robust z-score detector, one trailing window per metric of the asset. */
export class MadDetector extends PerMetricDetector<MadSeries> {
    constructor(options: MadOptions, start: number) {
        super((metric) => new MadSeries(metric, options, start));
    }
}
