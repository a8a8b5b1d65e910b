// Runs one detector over clean readings of many assets and turns its verdicts into alert events:
// an open event when a channel's alarm opens, and the same event marked resolved when it clears.
import { randomUUID } from 'node:crypto';

import { formatNumber } from '../rules/message';
import { formatDuration } from '../rules/duration';
import { parseTime } from '../time';
import type { AlertEvent, Reading } from '../types';
import { AlarmState } from './alarm';
import { BandDetector } from './band';
import { ForecastDetector, forecastPoints, type ForecastModel, type ForecastPoint } from './forecast';
import { IsolationDetector } from './isolation';
import { MadDetector } from './mad';
import type { AnomalySettings } from './settings';
import type { AssetDetector, Verdict } from './types';

/** Creates the detector state of one asset whose first reading is at `start` (epoch milliseconds). */
export function createDetector(settings: AnomalySettings, start: number): AssetDetector {
    const { learn, threshold, windowMs, floor } = settings;
    switch (settings.detector) {
        case 'mad':
            return new MadDetector({ windowMs, threshold, learn, floor }, start);
        case 'iforest':
            return new IsolationDetector({ windowMs, threshold, learn, floor, stepMs: settings.stepMs, seed: settings.seed, margin: settings.margin, rangeShare: settings.rangeShare }, start);
        case 'forecast':
            return new ForecastDetector({ intervalMs: windowMs, threshold, learn, floor, horizon: settings.horizon }, start);
        case 'band':
            return new BandDetector({ threshold, learn }, start);
    }
}

interface Channel {
    alarm: AlarmState;
    event?: AlertEvent;
}

interface AssetState {
    detector: AssetDetector;
    channels: Map<string, Channel>;
    /** Last timestamp and unit seen per metric. */
    last: Map<string, { ts: number; unit: string }>;
}

export interface AnomalyStats {
    /** Readings passed to the detector. */
    used: number;
    /** Readings without a value or flagged BAD. */
    unusable: number;
    /** Readings of metrics outside the configured list. */
    otherMetrics: number;
    /** Readings not newer than the last one of the same asset and metric. */
    outOfOrder: number;
    invalidTimestamps: number;
}

export interface AnomalyEngineOptions {
    /** Event id generator; random UUIDs by default. */
    newId?: () => string;
}

function iso(ms: number): string {
    return new Date(ms).toISOString();
}

function show(value: number | null): string {
    return value === null ? 'nothing' : formatNumber(value);
}

/** Alert message of a verdict, in the words of its detector. */
function describe(kind: AnomalySettings['detector'], assetId: string, verdict: Verdict, unit: string, windowMs: number): string {
    const { metric } = verdict;
    const observed = `${show(verdict.observed)} ${unit}`;
    const expected = `${show(verdict.expected)} ${unit}`;
    const score = formatNumber(verdict.score);
    const threshold = formatNumber(verdict.threshold);
    switch (kind) {
        case 'mad':
            return `${assetId}: ${metric} is ${observed}, ${score} robust standard deviations from the median ${expected} of the last ${formatDuration(windowMs)} (limit ${threshold}).`;
        case 'iforest':
            return `${assetId}: the readings of the last ${formatDuration(windowMs)} are unusual (isolation score ${score}, limit ${threshold}); ${metric} averages ${observed} against ${expected} while learning.`;
        case 'forecast':
            return `${assetId}: ${metric} averaged ${observed} over ${formatDuration(windowMs)} against a forecast of ${expected}, a miss of ${score} residual scales (limit ${threshold}).`;
        case 'band':
            return `${assetId}: ${metric} is ${observed}, outside ${expected} ± ${threshold} standard deviations of the learning part.`;
    }
}

export class AnomalyEngine {
    private readonly assets = new Map<string, AssetState>();
    private readonly watched: Set<string> | undefined;
    private readonly newId: () => string;
    readonly stats: AnomalyStats = { used: 0, unusable: 0, otherMetrics: 0, outOfOrder: 0, invalidTimestamps: 0 };

    constructor(
        readonly settings: AnomalySettings,
        options: AnomalyEngineOptions = {},
    ) {
        this.watched = settings.metrics.length > 0 ? new Set(settings.metrics) : undefined;
        this.newId = options.newId ?? randomUUID;
    }

    get openCount(): number {
        let count = 0;
        for (const asset of this.assets.values()) for (const channel of asset.channels.values()) if (channel.event) count++;
        return count;
    }

    /** Open alert events, by asset and channel. */
    openAlerts(): AlertEvent[] {
        const events: AlertEvent[] = [];
        for (const asset of this.assets.values()) for (const channel of asset.channels.values()) if (channel.event) events.push(channel.event);
        return events;
    }

    /** True while the detector of the asset still learns; also true for an asset not seen yet. */
    learning(assetId: string): boolean {
        return this.assets.get(assetId)?.detector.learning ?? true;
    }

    /** Evaluates readings in the order given; returns the open and resolved events they cause. */
    process(readings: Iterable<Reading>): AlertEvent[] {
        const events: AlertEvent[] = [];
        for (const reading of readings) {
            if (this.watched && !this.watched.has(reading.metric)) {
                this.stats.otherMetrics++;
                continue;
            }
            if (reading.value === null || reading.quality_flag === 'BAD' || !Number.isFinite(reading.value)) {
                this.stats.unusable++;
                continue;
            }
            const ts = parseTime(reading.ts);
            if (Number.isNaN(ts)) {
                this.stats.invalidTimestamps++;
                continue;
            }
            events.push(...this.observe(reading.asset_id, reading.metric, ts, reading.value, reading.unit));
        }
        return events;
    }

    /**
     * Feeds one usable reading given as plain values (the evaluation harness uses this to skip
     * building reading objects). The metric filter and the quality check are the caller's job.
     */
    observe(assetId: string, metric: string, ts: number, value: number, unit: string): AlertEvent[] {
        let asset = this.assets.get(assetId);
        if (!asset) {
            asset = { detector: createDetector(this.settings, ts), channels: new Map(), last: new Map() };
            this.assets.set(assetId, asset);
        }
        const last = asset.last.get(metric);
        if (last && ts <= last.ts) {
            this.stats.outOfOrder++;
            return [];
        }
        asset.last.set(metric, { ts, unit });
        this.stats.used++;

        const events: AlertEvent[] = [];
        for (const verdict of asset.detector.observe(ts, metric, value)) {
            const event = this.apply(assetId, asset, verdict);
            if (event) events.push(event);
        }
        return events;
    }

    /** Forecast points of a metric from the forecast detector; undefined for other detectors or while learning. */
    forecast(assetId: string, metric: string, count: number, stride = 1): ForecastPoint[] | undefined {
        const model = this.forecastModel(assetId, metric);
        return model ? forecastPoints(model, count, stride) : undefined;
    }

    /** Returns the fitted model of a metric from the forecast detector; undefined for other detectors or while learning. */
    forecastModel(assetId: string, metric: string): ForecastModel | undefined {
        const detector = this.assets.get(assetId)?.detector;
        return detector instanceof ForecastDetector ? detector.model(metric) : undefined;
    }

    private apply(assetId: string, asset: AssetState, verdict: Verdict): AlertEvent | undefined {
        let channel = asset.channels.get(verdict.channel);
        if (!channel) {
            channel = { alarm: new AlarmState(this.settings) };
            asset.channels.set(verdict.channel, channel);
        }
        const transition = channel.alarm.update(verdict.score, verdict.threshold);
        if (transition === 'open') {
            channel.event = this.openEvent(assetId, asset, verdict);
            return channel.event;
        }
        if (transition === 'clear' && channel.event) {
            const open = channel.event;
            channel.event = undefined;
            return {
                ...open,
                state: 'resolved',
                resolved_at: iso(verdict.ts),
                resolved_by: 'detector',
                evidence: { ...open.evidence, resolved: { score: verdict.score, observed: verdict.observed, reading_ts: iso(verdict.ts) } },
            };
        }
        return undefined;
    }

    private openEvent(assetId: string, asset: AssetState, verdict: Verdict): AlertEvent {
        const { detector, severity, windowMs } = this.settings;
        const unit = asset.last.get(verdict.metric)?.unit ?? '';
        return {
            event_id: this.newId(),
            rule_id: `anomaly:${detector}:${verdict.metric}`,
            asset_id: assetId,
            metric: verdict.metric,
            severity,
            state: 'open',
            message: describe(detector, assetId, verdict, unit, windowMs),
            opened_at: iso(verdict.ts),
            acknowledged_at: null,
            acknowledged_by: null,
            resolved_at: null,
            resolved_by: null,
            evidence: {
                detector,
                score: verdict.score,
                threshold: verdict.threshold,
                expected: verdict.expected,
                observed: verdict.observed,
                unit,
                window: { from: iso(verdict.window.from), to: iso(verdict.window.to) },
                hold: this.settings.hold,
                ...verdict.details,
            },
        };
    }
}
