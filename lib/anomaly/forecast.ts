// Forecast versus actual: each metric is averaged over fixed intervals, Holt smoothing fitted on
// the learning part forecasts every interval `horizon` intervals ahead, and an interval whose mean
// misses its forecast by more than `threshold` residual scales is anomalous. The same model gives
// the forecast points shown on the asset panel.
import { scaleFloor, type ScaleFloor } from './floors';
import { fitHolt, holtForecast, holtInitial, holtUpdate, type HoltParameters, type HoltState } from './holt';
import { LearningClock } from './learning';
import { PerMetricDetector } from './per-metric';
import type { LearnLimit, Verdict } from './types';

/** Maximum run of intervals without readings that the model steps through on its own forecast. */
export const MAX_STEPPED_INTERVALS = 1_000;

/** 1.4826 = 1 / 0.6745 turns a MAD into a standard deviation for normal noise. */
const MAD_SCALE = 1.4826;

export interface ForecastOptions {
    /** Averaging interval of the modelled series, in milliseconds. */
    intervalMs: number;
    /** Limit of |actual − forecast| in residual scales. */
    threshold: number;
    learn: LearnLimit;
    /** Intervals between a forecast and the interval it is compared with. Default 10. */
    horizon?: number;
    /** Interval means kept for the fit; older ones are dropped. Default 5,000. */
    maxLearnIntervals?: number;
    /** Interval means needed for a fit; learning goes on until there are this many. Default 6. */
    minLearnIntervals?: number;
    floor?: ScaleFloor;
}

/** One forecast point: the interval start, the forecast mean and a band of ± `width` residual scales. */
export interface ForecastPoint {
    ts: number;
    value: number;
    lower: number;
    upper: number;
}

/** A fitted model and its current state, which is the state after the interval that starts at `lastTs`. */
export interface ForecastModel {
    parameters: HoltParameters;
    state: HoltState;
    /** Robust standard deviation of the learning residuals, raised to the metric's floor. */
    sigma: number;
    intervalMs: number;
    horizon: number;
    lastTs: number;
}

/**
 * Returns `count` forecast points every `stride` intervals after the model's last interval,
 * with a band of ± width·σ.
 */
export function forecastPoints(model: ForecastModel, count: number, stride = 1, width = 3): ForecastPoint[] {
    const points: ForecastPoint[] = [];
    for (let index = 1; index <= count; index++) {
        const steps = index * stride;
        const value = holtForecast(model.parameters, model.state, steps);
        points.push({ ts: model.lastTs + steps * model.intervalMs, value, lower: value - width * model.sigma, upper: value + width * model.sigma });
    }
    return points;
}

function robustSigma(residuals: number[]): number {
    const sorted = [...residuals].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    const deviations = sorted.map((value) => Math.abs(value - median)).sort((a, b) => a - b);
    return MAD_SCALE * deviations[deviations.length >> 1];
}

class ForecastSeries {
    private readonly clock: LearningClock;
    private readonly learned: number[] = [];
    /** The interval being averaged; `afterLearning` marks one that has readings past the learning part. */
    private interval: { index: number; sum: number; count: number; afterLearning: boolean } | undefined;
    private lastLearnedTs = 0;
    private model: ForecastModel | undefined;
    /** Forecasts of the next `horizon` intervals, made `horizon` intervals before each. */
    private pending: number[] = [];
    private learningDone = false;

    constructor(
        private readonly metric: string,
        private readonly options: ForecastOptions,
        start: number,
    ) {
        this.clock = new LearningClock(options.learn, start);
    }

    get learning(): boolean {
        return this.model === undefined;
    }

    get fitted(): ForecastModel | undefined {
        return this.model;
    }

    observe(ts: number, value: number): Verdict | undefined {
        // Readings count one by one towards the learning limit, but the model uses interval means.
        const learningReading = this.clock.tick(ts);
        if (!learningReading) this.learningDone = true;
        const index = Math.floor(ts / this.options.intervalMs);
        let verdict: Verdict | undefined;
        if (this.interval && index !== this.interval.index) {
            const { sum, count, afterLearning } = this.interval;
            verdict = this.close(this.interval.index, sum / count, ts, afterLearning);
            this.interval = undefined;
        }
        if (!this.interval) this.interval = { index, sum: 0, count: 0, afterLearning: false };
        this.interval.sum += value;
        this.interval.count++;
        if (!learningReading) this.interval.afterLearning = true;
        return verdict;
    }

    /**
     * Closes the interval `index` with its mean; `now` is the time of the reading that closed it,
     * and `afterLearning` is true when the interval has readings past the learning part.
     */
    private close(index: number, mean: number, now: number, afterLearning: boolean): Verdict | undefined {
        const intervalTs = index * this.options.intervalMs;
        if (!this.model) {
            const needed = Math.max(this.options.minLearnIntervals ?? 6, 4);
            // An interval past the learning part is learned only while there are too few intervals.
            if (afterLearning && this.learned.length >= needed) {
                this.fit(this.lastLearnedTs);
            } else {
                this.learned.push(mean);
                this.lastLearnedTs = intervalTs;
                if (this.learned.length > (this.options.maxLearnIntervals ?? 5_000)) this.learned.shift();
                if (this.learningDone && this.learned.length >= needed) this.fit(intervalTs);
                return undefined;
            }
        }
        const model = this.model as ForecastModel;
        // Intervals without readings are stepped through on the model's own forecast. After a gap
        // longer than MAX_STEPPED_INTERVALS the forecast is no guide to the new interval, so the
        // model starts again from its mean (same parameters and sigma) and gives no verdict.
        // Stepping a 15 s model through the gaps of daily readings would block the runtime.
        const missing = Math.round((intervalTs - model.lastTs) / model.intervalMs) - 1;
        if (missing > MAX_STEPPED_INTERVALS) {
            model.state = holtInitial([mean]);
            model.lastTs = intervalTs;
            this.pending = [];
            for (let step = 1; step <= model.horizon; step++) this.pending.push(holtForecast(model.parameters, model.state, step));
            return undefined;
        }
        for (let step = 0; step < missing; step++) this.advance(holtForecast(model.parameters, model.state, 1));

        const expected = this.pending[0];
        const residual = mean - expected;
        const score = Math.abs(residual) / model.sigma;
        const anomalous = score > this.options.threshold;
        // An anomalous interval is replaced by the forecast, so the model keeps forecasting the
        // normal course instead of learning the anomaly.
        this.advance(anomalous ? holtForecast(model.parameters, model.state, 1) : mean);
        model.lastTs = intervalTs;
        return {
            channel: this.metric,
            metric: this.metric,
            ts: now,
            score,
            threshold: this.options.threshold,
            expected,
            observed: mean,
            window: { from: intervalTs - model.horizon * model.intervalMs, to: intervalTs + model.intervalMs },
            details: {
                residual,
                sigma: model.sigma,
                interval_ms: model.intervalMs,
                horizon: model.horizon,
                alpha: model.parameters.alpha,
                beta: model.parameters.beta,
                phi: model.parameters.phi,
            },
        };
    }

    private advance(value: number): void {
        const model = this.model as ForecastModel;
        model.state = holtUpdate(model.parameters, model.state, value);
        this.pending.shift();
        this.pending.push(holtForecast(model.parameters, model.state, model.horizon));
    }

    private fit(lastTs: number): void {
        const series = this.learned.splice(0);
        // A short learning part gets a shorter horizon, so that the fit has residuals to measure.
        const horizon = Math.max(1, Math.min(this.options.horizon ?? 10, Math.floor(series.length / 2)));
        const fit = fitHolt(series, { horizon });
        const floor = scaleFloor(this.metric, fit.state.level, this.options.floor);
        const sigma = Math.max(robustSigma(fit.residuals), floor);
        this.model = { parameters: fit.parameters, state: fit.state, sigma, intervalMs: this.options.intervalMs, horizon, lastTs };
        // Until `horizon` intervals have passed, intervals are compared with shorter-range forecasts.
        this.pending = [];
        for (let step = 1; step <= horizon; step++) this.pending.push(holtForecast(fit.parameters, fit.state, step));
    }
}

/** Forecast-versus-actual detector, one Holt model per metric of the asset. */
export class ForecastDetector extends PerMetricDetector<ForecastSeries> {
    constructor(options: ForecastOptions, start: number) {
        super((metric) => new ForecastSeries(metric, options, start));
    }

    /** Returns the fitted model of a metric, or undefined while it learns. */
    model(metric: string): ForecastModel | undefined {
        return this.series.get(metric)?.fitted;
    }
}
