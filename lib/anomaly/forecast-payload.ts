// The next-24-hour forecast that the anomaly node emits in forecast mode. This module builds the
// payload from a fitted Holt model and limits how often each series is sent. It also checks a
// received payload for consumers such as the trend widget.
import { ConfigError } from '../errors';
import { formatDuration, parseDuration } from '../rules/duration';
import type { Reading } from '../types';
import { forecastPoints, type ForecastModel } from './forecast';

/** Time span that a forecast payload covers after the model's last interval: 24 hours. */
export const FORECAST_SPAN_MS = 24 * 3_600_000;
/** Maximum number of points in one forecast payload. */
export const MAX_FORECAST_POINTS = 300;
/** Default time between two forecasts of one series, in reading time: 15 minutes. */
export const DEFAULT_FORECAST_EVERY_MS = 15 * 60_000;
/** Half-width of the forecast band, in residual scales (σ) of the model. */
export const FORECAST_BAND_WIDTH = 3;

/** One forecast point: the expected interval mean and its band. */
export interface ForecastPayloadPoint {
    /** ISO 8601 start of the interval whose mean is forecast. */
    ts: string;
    expected: number;
    lower: number;
    upper: number;
}

/** The forecast of one asset's metric, as msg.payload of the anomaly node's forecast output. */
export interface ForecastPayload {
    asset_id: string;
    metric: string;
    unit: string;
    /** ISO 8601 start of the model's last interval, in reading time. */
    generated_at: string;
    /** Averaging interval of the model: each point forecasts the mean of this span from its `ts`. */
    interval_ms: number;
    points: ForecastPayloadPoint[];
}

/** Spacing of forecast points: every `stride` model intervals, `count` points in all. */
export interface ForecastStep {
    stride: number;
    count: number;
}

/**
 * Chooses the spacing of the points: the model interval, or a whole multiple of it so that at
 * most `maxPoints` points cover `spanMs`. The last point lies at or past the end of the span.
 */
export function forecastStep(intervalMs: number, spanMs = FORECAST_SPAN_MS, maxPoints = MAX_FORECAST_POINTS): ForecastStep {
    if (!(intervalMs > 0) || !(spanMs > 0) || !(maxPoints >= 1)) {
        throw new RangeError(`Forecast spacing needs a positive interval, span and point count; got ${intervalMs} ms, ${spanMs} ms and ${maxPoints}.`);
    }
    const intervals = Math.ceil(spanMs / intervalMs);
    const stride = Math.ceil(intervals / maxPoints);
    const count = Math.ceil(spanMs / (stride * intervalMs));
    return { stride, count };
}

/** Identifies the series that a forecast belongs to. */
export interface ForecastTarget {
    asset_id: string;
    metric: string;
    unit: string;
}

export interface ForecastPayloadOptions {
    spanMs?: number;
    maxPoints?: number;
    /** Band half-width in residual scales; default FORECAST_BAND_WIDTH. */
    width?: number;
}

/**
 * Builds the forecast payload of a fitted model, from the interval after its last one to the end
 * of the span. The band is ± width·σ, where σ is the residual scale of the model's forecasts
 * `model.horizon` intervals ahead.
 */
export function forecastPayload(model: ForecastModel, target: ForecastTarget, options: ForecastPayloadOptions = {}): ForecastPayload {
    const { stride, count } = forecastStep(model.intervalMs, options.spanMs, options.maxPoints);
    // NOTE: the band keeps one width over the whole day although errors of a Holt forecast grow
    // with the lead time, so the far end of the band is narrower than the real uncertainty. A
    // model fitted with φ = 1 also extrapolates its slope undamped over all 24 hours.
    const points = forecastPoints(model, count, stride, options.width ?? FORECAST_BAND_WIDTH);
    return {
        asset_id: target.asset_id,
        metric: target.metric,
        unit: target.unit,
        generated_at: new Date(model.lastTs).toISOString(),
        interval_ms: model.intervalMs,
        points: points.map((point) => ({ ts: new Date(point.ts).toISOString(), expected: point.value, lower: point.lower, upper: point.upper })),
    };
}

/**
 * Limits forecasts to one per series per `everyMs` of reading time. The first forecast of a
 * series is always due, so a model is sent as soon as it is fitted.
 */
export class ForecastSchedule {
    /** `generated_at` of the last forecast sent, in epoch milliseconds, by asset and metric. */
    private readonly sent = new Map<string, Map<string, number>>();

    constructor(readonly everyMs: number = DEFAULT_FORECAST_EVERY_MS) {}

    /** Returns true, and records the forecast as sent, when a forecast of the series generated at `generatedAt` is due. */
    take(assetId: string, metric: string, generatedAt: number): boolean {
        let ofAsset = this.sent.get(assetId);
        if (!ofAsset) {
            ofAsset = new Map();
            this.sent.set(assetId, ofAsset);
        }
        const last = ofAsset.get(metric);
        if (last !== undefined && generatedAt - last < this.everyMs) return false;
        ofAsset.set(metric, generatedAt);
        return true;
    }
}

/** Anything that returns the fitted model of an asset's metric, such as the anomaly engine. */
export interface ForecastModelSource {
    forecastModel(assetId: string, metric: string): ForecastModel | undefined;
}

/**
 * Returns the forecasts that are due after `readings` went through the detector: one per asset
 * and metric of the readings that has a fitted model and whose schedule allows it, in the order
 * the series first appear. The unit is that of the series' last reading in `readings`.
 */
export function dueForecasts(
    source: ForecastModelSource,
    readings: readonly Reading[],
    schedule: ForecastSchedule,
    options: ForecastPayloadOptions = {},
): ForecastPayload[] {
    // Targets by asset and then metric, so that a reading builds no key string.
    const targets = new Map<string, Map<string, ForecastTarget>>();
    const order: ForecastTarget[] = [];
    for (const reading of readings) {
        let ofAsset = targets.get(reading.asset_id);
        if (!ofAsset) {
            ofAsset = new Map();
            targets.set(reading.asset_id, ofAsset);
        }
        const target = ofAsset.get(reading.metric);
        if (target) {
            target.unit = reading.unit;
            continue;
        }
        const added = { asset_id: reading.asset_id, metric: reading.metric, unit: reading.unit };
        ofAsset.set(reading.metric, added);
        order.push(added);
    }
    const payloads: ForecastPayload[] = [];
    for (const target of order) {
        const model = source.forecastModel(target.asset_id, target.metric);
        if (model && schedule.take(target.asset_id, target.metric, model.lastTs)) payloads.push(forecastPayload(model, target, options));
    }
    return payloads;
}

/** Parses the time between forecasts of a series, such as 15m; blank means 15 minutes. */
export function parseForecastEvery(value: unknown): number {
    const raw = value === undefined || value === null ? '' : String(value).trim();
    if (raw === '') return DEFAULT_FORECAST_EVERY_MS;
    const everyMs = parseDuration(raw);
    if (everyMs === undefined || everyMs <= 0) {
        throw new ConfigError(`Forecast every "${raw}" is invalid; enter a duration of reading time above 0, such as ${formatDuration(DEFAULT_FORECAST_EVERY_MS)}.`, {
            context: { forecastEvery: value },
        });
    }
    return everyMs;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
    return typeof value === 'number' && Number.isFinite(value);
}

/** Shows a received value in a message; NaN and Infinity, which JSON would print as null, stay visible. */
function show(value: unknown): string {
    return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? 'undefined');
}

function isTime(value: unknown): value is string {
    return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

/** True when an item has the two fields that set a forecast payload apart from a reading. */
export function looksLikeForecast(item: unknown): boolean {
    return isObject(item) && 'generated_at' in item && 'points' in item;
}

/** Returns why an item is not a forecast payload, or undefined when it is one. */
export function forecastPayloadProblem(item: unknown): string | undefined {
    if (!isObject(item)) return `${show(item)} is not an object`;
    for (const field of ['asset_id', 'metric'] as const) {
        if (typeof item[field] !== 'string' || item[field] === '') return `${field} is missing`;
    }
    if (typeof item.unit !== 'string') return 'unit is missing';
    if (!isTime(item.generated_at)) return `generated_at ${show(item.generated_at)} is not an ISO 8601 time`;
    if (!isFiniteNumber(item.interval_ms) || item.interval_ms <= 0) return `interval_ms ${show(item.interval_ms)} is not a number above 0`;
    if (!Array.isArray(item.points)) return 'points is not an array';
    for (const [index, point] of item.points.entries()) {
        if (!isObject(point)) return `points[${index}] is not an object`;
        if (!isTime(point.ts)) return `points[${index}].ts ${show(point.ts)} is not an ISO 8601 time`;
        for (const field of ['expected', 'lower', 'upper'] as const) {
            if (!isFiniteNumber(point[field])) return `points[${index}].${field} ${show(point[field])} is not a finite number`;
        }
    }
    return undefined;
}
