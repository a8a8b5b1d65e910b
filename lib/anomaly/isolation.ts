// Isolation forest over windows of all of an asset's metrics. Every `step` the detector summarises
// the last `window` of each metric (mean, standard deviation, slope, last − first), and scores the
// combined feature vector with a forest trained on the vectors of the learning part.
import { FEATURE_NAMES, TimeWindow, windowFeatures } from './features';
import { scaleFloor, type ScaleFloor } from './floors';
import { IsolationForest } from './iforest';
import { LearningClock } from './learning';
import { seededRandom } from './prng';
import type { AssetDetector, LearnLimit, Verdict } from './types';

export interface IsolationOptions {
    /** Length of the feature window, in milliseconds. */
    windowMs: number;
    /** Limit of the isolation score, between 0 and 1. */
    threshold: number;
    learn: LearnLimit;
    /** Time between scored windows after learning, in milliseconds. Default 15 s. */
    stepMs?: number;
    /** Time between training windows during learning, in milliseconds. Default 5 s. */
    trainStepMs?: number;
    /** Training windows needed for a fit; learning goes on until there are this many. Default 8. */
    minTrainingSamples?: number;
    /** Training windows kept, as a uniform sample of all. Default 4,096. */
    maxTrainingSamples?: number;
    trees?: number;
    sampleSize?: number;
    seed?: number;
    /** Readings kept per metric. Default 20,000. */
    maxReadings?: number;
    floor?: ScaleFloor;
    /**
     * Tolerance around the learned range of each feature, in noise-scale floors of its metric
     * (see floors.ts). A window outside it in any feature is isolated at once. 0 gives the plain
     * isolation forest. Default 10.
     */
    margin?: number;
    /** Minimum tolerance around the learned range of a feature, as a share of that range. Default 0.5. */
    rangeShare?: number;
}

interface Trained {
    forest: IsolationForest;
    metrics: string[];
    /** Per-feature median of the training windows, used for features a window lacks. */
    fill: number[];
    /** Tolerance per feature (see IsolationOptions.margin); also the unit of deviations when naming a metric. */
    margins: number[];
    learnedFrom: number;
    learnedTo: number;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export class IsolationDetector implements AssetDetector {
    private readonly windows = new Map<string, TimeWindow>();
    private readonly clock: LearningClock;
    private readonly random: () => number;
    private lastTs: number | undefined;
    private nextDue: number;
    private learningDone = false;
    private samplesSeen = 0;
    private samples: Map<string, number[]>[] = [];
    private trained: Trained | undefined;
    private firstSampleTs: number | undefined;
    private lastSampleTs: number | undefined;

    constructor(
        private readonly options: IsolationOptions,
        private readonly start: number,
    ) {
        this.clock = new LearningClock(options.learn, start);
        this.random = seededRandom((options.seed ?? 1) ^ 0x5bd1e995);
        this.nextDue = start + options.windowMs;
    }

    get learning(): boolean {
        return this.trained === undefined;
    }

    observe(ts: number, metric: string, value: number): Verdict[] {
        const verdicts: Verdict[] = [];
        // A reading with a later timestamp completes the previous one, which can then be scored.
        if (this.lastTs !== undefined && ts > this.lastTs) {
            const verdict = this.complete(this.lastTs);
            if (verdict) verdicts.push(verdict);
        }
        if (this.lastTs === undefined || ts > this.lastTs) {
            this.lastTs = ts;
            if (!this.clock.tick(ts)) this.learningDone = true;
        }
        let window = this.windows.get(metric);
        if (!window) {
            window = new TimeWindow(this.options.windowMs, this.options.maxReadings ?? 20_000);
            this.windows.set(metric, window);
        }
        window.push(ts, value);
        return verdicts;
    }

    /** Handles the completed timestamp `at`: collects a training window or scores one when due. */
    private complete(at: number): Verdict | undefined {
        if (at < this.nextDue) return undefined;
        if (!this.trained) {
            // Once learning is over, windows reaching past its end are no longer collected,
            // unless there are too few windows to train on.
            const enough = this.samples.length >= (this.options.minTrainingSamples ?? 8);
            if (!this.learningDone || !enough) {
                this.nextDue = at + (this.options.trainStepMs ?? 5_000);
                this.collect(this.featuresAt(at), at);
                return undefined;
            }
            this.train();
        }
        this.nextDue = at + (this.options.stepMs ?? 15_000);
        return this.score(this.featuresAt(at), at);
    }

    private featuresAt(at: number): Map<string, number[]> {
        const features = new Map<string, number[]>();
        for (const [metric, window] of this.windows) {
            const { times, values } = window.slice(at);
            const summary = windowFeatures(times, values);
            if (summary) features.set(metric, summary);
        }
        return features;
    }

    /** Keeps a uniform sample of the training windows (reservoir sampling). */
    private collect(features: Map<string, number[]>, at: number): void {
        if (features.size === 0) return;
        this.firstSampleTs ??= at;
        this.lastSampleTs = at;
        this.samplesSeen++;
        const capacity = this.options.maxTrainingSamples ?? 4_096;
        if (this.samples.length < capacity) {
            this.samples.push(features);
            return;
        }
        const slot = Math.floor(this.random() * this.samplesSeen);
        if (slot < capacity) this.samples[slot] = features;
    }

    private train(): void {
        const metrics = [...new Set(this.samples.flatMap((sample) => [...sample.keys()]))].sort();
        const width = FEATURE_NAMES.length;
        const fill: number[] = [];
        for (const metric of metrics) {
            for (let f = 0; f < width; f++) {
                const known = this.samples.filter((sample) => sample.has(metric)).map((sample) => (sample.get(metric) as number[])[f]);
                fill.push(median(known));
            }
        }
        const vectors = this.samples.map((sample) => this.vector(sample, metrics, fill));
        const margin = this.options.margin ?? 10;
        const seconds = this.options.windowMs / 1000;
        const rangeShare = this.options.rangeShare ?? 0.5;
        const margins = metrics.flatMap((metric, m) => {
            const floor = scaleFloor(metric, fill[m * width], this.options.floor);
            // mean, standard deviation and last − first are in the metric unit; the slope is per second.
            return [floor, floor, floor / seconds, floor].map((unit, f) => {
                const values = vectors.map((vector) => vector[m * width + f]);
                const range = Math.max(...values) - Math.min(...values);
                return Math.max(margin * unit, rangeShare * range);
            });
        });
        const forest = IsolationForest.fit(vectors, {
            trees: this.options.trees,
            sampleSize: this.options.sampleSize,
            seed: this.options.seed,
            margins: margin > 0 ? margins : undefined,
        });
        const learnedFrom = (this.firstSampleTs as number) - this.options.windowMs;
        this.trained = { forest, metrics, fill, margins, learnedFrom, learnedTo: this.lastSampleTs as number };
        this.samples = [];
    }

    private vector(features: Map<string, number[]>, metrics: string[], fill: number[]): number[] {
        const width = FEATURE_NAMES.length;
        const vector: number[] = [];
        metrics.forEach((metric, m) => {
            const summary = features.get(metric);
            for (let f = 0; f < width; f++) vector.push(summary ? summary[f] : fill[m * width + f]);
        });
        return vector;
    }

    private score(features: Map<string, number[]>, at: number): Verdict {
        const trained = this.trained as Trained;
        const vector = this.vector(features, trained.metrics, trained.fill);
        const score = trained.forest.score(vector);
        const width = FEATURE_NAMES.length;
        // The metric with the feature furthest from its training median, in units of the feature's margin.
        let top = 0;
        let topDeviation = -1;
        let topFeature = 0;
        vector.forEach((value, index) => {
            const deviation = Math.abs(value - trained.fill[index]) / Math.max(trained.margins[index], Number.MIN_VALUE);
            if (deviation > topDeviation) {
                top = Math.floor(index / width);
                topFeature = index % width;
                topDeviation = deviation;
            }
        });
        return {
            channel: 'window',
            metric: trained.metrics[top],
            ts: at,
            score,
            threshold: this.options.threshold,
            expected: trained.fill[top * width],
            observed: vector[top * width],
            window: { from: trained.learnedFrom, to: trained.learnedTo },
            details: {
                scored_window: { from: new Date(at - this.options.windowMs).toISOString(), to: new Date(at).toISOString() },
                feature: FEATURE_NAMES[topFeature],
                deviation_in_margins: topDeviation,
                metrics: trained.metrics,
            },
        };
    }
}
