// Settings of an anomaly detector, their defaults per detector, and the check of the ul-anomaly
// node configuration. Values may arrive as text because flow files can set them from environment
// variables.
import { ConfigError } from '../errors';
import { METRICS } from '../metrics';
import { formatDuration, parseDuration } from '../rules/duration';
import type { Severity } from '../types';
import type { AlarmOptions } from './alarm';
import type { ScaleFloor } from './floors';
import type { DetectorKind, LearnLimit } from './types';

export interface AnomalySettings extends Required<AlarmOptions> {
    detector: DetectorKind;
    /** Metrics to watch; empty for every metric. */
    metrics: string[];
    /**
     * Trailing window of the median and MAD (mad), feature window (iforest), averaging interval of
     * the modelled series (forecast); unused by the band baseline. Milliseconds.
     */
    windowMs: number;
    /** Limit of the score: |z| (mad), isolation score 0..1 (iforest), residual scales (forecast), σ (band). */
    threshold: number;
    learn: LearnLimit;
    severity: Severity;
    /** Seed of the isolation forest. */
    seed: number;
    /** Time between scored windows of the isolation forest, milliseconds. */
    stepMs: number;
    /** Intervals between a forecast and the interval it is checked against. */
    horizon: number;
    /** Tolerance of the isolation forest around the learned feature ranges, in noise-scale floors. */
    margin: number;
    /** Minimum tolerance of the isolation forest around a learned feature range, as a share of the range. */
    rangeShare: number;
    floor?: ScaleFloor;
}

/** Defaults per detector, chosen on the tuning files of the 3W evaluation (BENCHMARKS.md). */
export const DETECTOR_DEFAULTS: Record<DetectorKind, Omit<AnomalySettings, 'detector' | 'metrics' | 'learn' | 'severity' | 'seed'>> = {
    mad: { windowMs: 30 * 60_000, threshold: 10, hold: 10, clearHold: 30, clearRatio: 0.5, stepMs: 15_000, horizon: 10, margin: 10, rangeShare: 0.5 },
    iforest: { windowMs: 3 * 60_000, threshold: 0.8, hold: 2, clearHold: 4, clearRatio: 0.9, stepMs: 15_000, horizon: 10, margin: 10, rangeShare: 0.5 },
    forecast: { windowMs: 15_000, threshold: 8, hold: 2, clearHold: 4, clearRatio: 0.5, stepMs: 15_000, horizon: 20, margin: 10, rangeShare: 0.5 },
    band: { windowMs: 0, threshold: 3, hold: 10, clearHold: 30, clearRatio: 1, stepMs: 15_000, horizon: 10, margin: 10, rangeShare: 0.5 },
};

/** Default learning part: one hour after the asset's first reading. */
export const DEFAULT_LEARN: LearnLimit = { durationMs: 60 * 60_000 };

/** Returns complete settings: the detector's defaults overridden by `overrides`. */
export function anomalySettings(detector: DetectorKind, overrides: Partial<Omit<AnomalySettings, 'detector'>> = {}): AnomalySettings {
    return {
        detector,
        metrics: [],
        learn: DEFAULT_LEARN,
        severity: 'P2',
        seed: 1,
        ...DETECTOR_DEFAULTS[detector],
        ...overrides,
    };
}

/** Detectors the ul-anomaly node offers; the band baseline exists for the evaluation only. */
export const NODE_DETECTORS: readonly DetectorKind[] = ['mad', 'iforest', 'forecast'];

/** Raw configuration of the ul-anomaly node, as the editor stores it. */
export interface RawAnomalyConfig {
    detector?: unknown;
    metrics?: unknown;
    window?: unknown;
    threshold?: unknown;
    learn?: unknown;
    hold?: unknown;
    severity?: unknown;
}

function text(value: unknown): string {
    return value === undefined || value === null ? '' : String(value).trim();
}

/** Parses `learn`: a whole number of readings, or a duration such as 30m. */
export function parseLearn(value: unknown): LearnLimit {
    const raw = text(value);
    if (/^[0-9]+$/.test(raw)) return { readings: Number(raw) };
    const durationMs = parseDuration(raw);
    if (durationMs === undefined) {
        throw new ConfigError(`Learn "${raw}" is invalid; enter a number of readings such as 3600, or a duration such as 1h or 30m.`, {
            context: { learn: value },
        });
    }
    return { durationMs };
}

/** Checks the node configuration; throws a ConfigError naming the option and the fix. */
export function parseAnomalyConfig(config: RawAnomalyConfig): AnomalySettings {
    const detector = (text(config.detector) || 'mad') as DetectorKind;
    if (!NODE_DETECTORS.includes(detector)) {
        throw new ConfigError(`Detector "${detector}" is unknown; choose mad, iforest or forecast.`, { context: { detector } });
    }
    const defaults = DETECTOR_DEFAULTS[detector];

    const metrics = text(config.metrics)
        .split(',')
        .map((metric) => metric.trim())
        .filter((metric) => metric !== '');
    const unknown = metrics.filter((metric) => !METRICS.has(metric));
    if (unknown.length > 0) {
        throw new ConfigError(`Metric "${unknown[0]}" is not in the metric catalogue; list catalogue metrics such as pressure_tpt, separated by commas.`, {
            context: { metrics: config.metrics },
        });
    }

    const windowText = text(config.window);
    const windowMs = windowText === '' ? defaults.windowMs : parseDuration(windowText);
    if (windowMs === undefined || (windowMs <= 0 && detector !== 'band')) {
        throw new ConfigError(`Window "${windowText}" is invalid; enter a duration above 0 such as ${formatDuration(defaults.windowMs || 60_000)}.`, {
            context: { window: config.window },
        });
    }

    const thresholdText = text(config.threshold);
    const threshold = thresholdText === '' ? defaults.threshold : Number(thresholdText);
    const upper = detector === 'iforest' ? 1 : Infinity;
    if (!Number.isFinite(threshold) || threshold <= 0 || threshold >= upper) {
        const range = detector === 'iforest' ? 'a score between 0 and 1 such as 0.6' : `a number above 0 such as ${defaults.threshold}`;
        throw new ConfigError(`Threshold "${thresholdText}" is invalid for the ${detector} detector; enter ${range}.`, {
            context: { threshold: config.threshold },
        });
    }

    const learn = text(config.learn) === '' ? DEFAULT_LEARN : parseLearn(config.learn);

    const holdText = text(config.hold);
    const hold = holdText === '' ? defaults.hold : Number(holdText);
    if (!Number.isSafeInteger(hold) || hold < 1) {
        throw new ConfigError(`Hold "${holdText}" is invalid; enter a whole number of scores of 1 or more, such as ${defaults.hold}.`, {
            context: { hold: config.hold },
        });
    }

    const severity = (text(config.severity) || 'P2') as Severity;
    if (!['P1', 'P2', 'P3'].includes(severity)) {
        throw new ConfigError(`Severity "${severity}" is invalid; choose P1, P2 or P3.`, { context: { severity } });
    }

    return anomalySettings(detector, { metrics, windowMs, threshold, learn, hold, severity });
}
