// Shapes shared by the anomaly detectors, the engine that turns their verdicts into alert events,
// and the evaluation harness.

/** Detector kinds. `band` is the fixed ±kσ baseline that the evaluation compares with. */
export type DetectorKind = 'mad' | 'iforest' | 'forecast' | 'band';

/** How long a detector learns before it may raise alerts. Learning ends when either limit is reached. */
export interface LearnLimit {
    /** Readings of one metric (per-metric detectors) or timestamps of one asset (isolation forest). */
    readings?: number;
    /** Time after the first reading of the asset, in milliseconds. */
    durationMs?: number;
}

/** One scoring of an alarm channel, produced by a detector after its learning part. */
export interface Verdict {
    /** Alarm channel: the metric for per-metric detectors, `window` for the asset-wide isolation forest. */
    channel: string;
    /** Metric the verdict is about; for the isolation forest, the metric that deviates most. */
    metric: string;
    /** Epoch milliseconds of the reading or window end the score belongs to. */
    ts: number;
    /** Anomaly score in the detector's own scale (|z|, isolation score, residual in σ). */
    score: number;
    threshold: number;
    /** Value the detector expected, in the metric unit; null when it has none. */
    expected: number | null;
    /** Value observed, in the metric unit. */
    observed: number | null;
    /** Time span of the data behind `expected`, epoch milliseconds. */
    window: { from: number; to: number };
    /** Further facts for the alert evidence, such as the median and MAD. */
    details?: Record<string, unknown>;
}

/** Detector state of one asset. Readings must arrive in timestamp order per metric. */
export interface AssetDetector {
    /** Feeds one usable reading (a finite value); returns the verdicts it completes. */
    observe(ts: number, metric: string, value: number): Verdict[];
    /** True while the detector still learns, so it cannot raise alerts yet. */
    readonly learning: boolean;
}
