// State of the trend widget: the newest points of every asset and metric, kept in memory in time
// order, the points added since the previous push, and the latest forecast of each series.
import { ValidationError } from '../../lib/errors';
import { forecastPayloadProblem, type ForecastPayload } from '../../lib/anomaly/forecast-payload';
import { NumberDeque } from '../../lib/number-deque';
import { parseTime } from '../../lib/time';
import type { Reading } from '../../lib/types';
import type { AssetRegistry } from './access';
import type { TrendData, TrendPoint, TrendSeries, TrendSeriesInfo, WidgetConfig } from './protocol';
import type { DeltaProducer, WidgetStore, WidgetView } from './widget-store';

/** One forecast point: epoch milliseconds, expected value, lower and upper edge of the band. */
export type TrendForecastPoint = [number, number, number, number];

/** The latest forecast of one series, as the browser receives it. */
export interface TrendForecast extends TrendSeriesInfo {
    /** Epoch milliseconds of the start of the model's last interval, in reading time. */
    generated_at: number;
    interval_ms: number;
    /** Points in time order. */
    points: TrendForecastPoint[];
}

/** TrendData with the forecast of the series this client selected, when it changed. */
export interface TrendDataWithForecast extends TrendData {
    forecast?: TrendForecast;
}

/** TrendSeries with the latest forecast of the series, when there is one. */
export interface TrendSeriesWithForecast extends TrendSeries {
    forecast?: TrendForecast;
}

export interface TrendOptions {
    /** Points kept per asset and metric; older points are dropped. */
    points: number;
    /** Metric the client selects first when the chosen asset has it. */
    metric: string;
}

/**
 * The points of one series, times and values in two number deques, with NaN for a gap. A runtime
 * that shows thousands of assets keeps tens of millions of points. In typed arrays they are
 * outside the garbage-collected heap, where one small array per point, or even arrays of plain
 * numbers, make every full collection slower.
 */
interface Series {
    info: TrendSeriesInfo;
    times: NumberDeque;
    values: NumberDeque;
    /** The latest push at which a client had this series selected, or the push of its creation. */
    watchedAt: number;
    /** Points added since the previous push while the series is watched, as flat time and value pairs. */
    pending: number[];
    /** The push that last took `pending`, and what it took. */
    drained: number;
    drainedPending: number[];
}

/**
 * Pushes for which a series stays watched after a client last had it selected. Only watched series
 * collect their new points for the next push: with thousands of series and a handful of viewers,
 * collecting them all would allocate for every reading and drop nearly everything at each push.
 */
const WATCH_PUSHES = 2;

function seriesKey(assetId: string, metric: string): string {
    return `${assetId}\u0000${metric}`;
}

/**
 * Inserts a point in time order; a point with an existing timestamp replaces the old value. The
 * oldest point goes when the series contains more than `limit`.
 */
function insertPoint(series: Series, time: number, stored: number, limit: number): void {
    const { times, values } = series;
    const count = times.length;
    if (count === 0 || time > times.back()) {
        times.push(time);
        values.push(stored);
    } else {
        let low = 0;
        let high = count;
        while (low < high) {
            const middle = (low + high) >>> 1;
            if (times.at(middle) < time) low = middle + 1;
            else high = middle;
        }
        if (times.at(low) === time) {
            values.set(low, stored);
            return;
        }
        times.insert(low, time);
        values.insert(low, stored);
    }
    if (times.length > limit) {
        times.popFront();
        values.popFront();
    }
}

/** Returns the points of a series from index `start` on as [time, value] pairs, null for a gap. */
function pointsFrom(series: Series, start: number): TrendPoint[] {
    const points: TrendPoint[] = [];
    for (let index = start; index < series.times.length; index++) {
        const value = series.values.at(index);
        points.push([series.times.at(index), Number.isNaN(value) ? null : value]);
    }
    return points;
}

/** Turns flat time and value pairs into points in time order, NaN into null for a gap. */
function pairsToPoints(pairs: readonly number[]): TrendPoint[] {
    const points: TrendPoint[] = [];
    for (let index = 0; index < pairs.length; index += 2) {
        const value = pairs[index + 1];
        points.push([pairs[index], Number.isNaN(value) ? null : value]);
    }
    return points.sort((a, b) => a[0] - b[0]);
}

/** Forecasts taken from one msg.payload, and the items that are not forecasts. */
export interface ForecastInput {
    forecasts: ForecastPayload[];
    invalid: { index: number; reason: string }[];
}

/**
 * Checks a msg.payload of forecasts (one forecast payload or an array of them). Throws a
 * ValidationError when no item is a forecast.
 */
export function parseForecastInput(payload: unknown): ForecastInput {
    const items = Array.isArray(payload) ? payload : [payload];
    const input: ForecastInput = { forecasts: [], invalid: [] };
    items.forEach((item, index) => {
        const reason = forecastPayloadProblem(item);
        if (reason) input.invalid.push({ index, reason });
        else input.forecasts.push(item as ForecastPayload);
    });
    if (input.forecasts.length === 0) throw invalidForecastError(input, items.length);
    return input;
}

/** Describes the rejected items of one forecast message, naming the first one. */
export function invalidForecastError(input: ForecastInput, total: number): ValidationError {
    const first = input.invalid[0];
    if (!first) return new ValidationError('empty_payload', 'msg.payload is an empty array; send forecasts from the anomaly node.', { field: 'payload' });
    const itemsPhrase = input.invalid.length === 1 ? 'item was' : 'items were';
    return new ValidationError(
        'invalid_forecast',
        `${input.invalid.length} of ${total} forecast ${itemsPhrase} not shown in msg.payload; msg.payload[${first.index}]: ${first.reason}. ` +
            'Wire the forecast output of an anomaly node in forecast mode to this widget.',
        { field: `payload[${first.index}]`, badge: 'invalid input' },
    );
}

export class TrendStore implements WidgetStore {
    readonly config: WidgetConfig;
    onChange?: () => void;

    /** Series by asset, then by metric: two lookups spare building a key string per reading. */
    private readonly series = new Map<string, Map<string, Series>>();
    private seriesTotal = 0;
    /** Watched series with points added since the previous push. */
    private changed: Series[] = [];
    /** Number of the latest push, for the series changes it took. */
    private pushes = 0;
    /** Series created since the previous push. */
    private created: TrendSeriesInfo[] = [];
    /** Latest forecast per series key. */
    private readonly forecasts = new Map<string, TrendForecast>();
    /** Series keys whose forecast changed since the previous push. */
    private changedForecasts = new Set<string>();

    constructor(
        id: string,
        name: string,
        private readonly options: TrendOptions,
    ) {
        this.config = { id, kind: 'trend', name, options: { points: options.points, metric: options.metric } };
    }

    get seriesCount(): number {
        return this.seriesTotal;
    }

    get forecastCount(): number {
        return this.forecasts.size;
    }

    /**
     * Replaces the forecast of each payload's series. Forecast points are sorted by time, and only
     * the first `points` of them are kept, the same limit as for readings.
     */
    setForecasts(payloads: ForecastPayload[]): void {
        for (const payload of payloads) {
            const points: TrendForecastPoint[] = payload.points
                .map((point): TrendForecastPoint => [Date.parse(point.ts), point.expected, point.lower, point.upper])
                .sort((a, b) => a[0] - b[0])
                .slice(0, this.options.points);
            const key = seriesKey(payload.asset_id, payload.metric);
            this.forecasts.set(key, {
                asset_id: payload.asset_id,
                metric: payload.metric,
                unit: payload.unit,
                generated_at: Date.parse(payload.generated_at),
                interval_ms: payload.interval_ms,
                points,
            });
            this.changedForecasts.add(key);
        }
        this.onChange?.();
    }

    addReadings(readings: Reading[]): void {
        for (const reading of readings) {
            let ofAsset = this.series.get(reading.asset_id);
            if (!ofAsset) {
                ofAsset = new Map();
                this.series.set(reading.asset_id, ofAsset);
            }
            let series = ofAsset.get(reading.metric);
            if (!series) {
                series = {
                    info: { asset_id: reading.asset_id, metric: reading.metric, unit: reading.unit },
                    times: new NumberDeque(),
                    values: new NumberDeque(),
                    // A new series counts as watched, for a client that selected it before its first point.
                    watchedAt: this.pushes,
                    pending: [],
                    drained: -1,
                    drainedPending: [],
                };
                ofAsset.set(reading.metric, series);
                this.seriesTotal++;
                this.created.push(series.info);
            }
            if (series.info.unit !== reading.unit) series.info.unit = reading.unit;

            // A reading flagged BAD (out of its plausible range) is drawn as a gap, so one
            // implausible value cannot flatten the chart.
            const time = parseTime(reading.ts);
            const value = reading.quality_flag === 'BAD' || reading.value === null ? Number.NaN : reading.value;
            insertPoint(series, time, value, this.options.points);
            if (this.pushes - series.watchedAt > WATCH_PUSHES) continue;
            if (series.pending.length === 0) this.changed.push(series);
            series.pending.push(time, value);
        }
        this.onChange?.();
    }

    snapshot(view: WidgetView): TrendData {
        const series: TrendSeriesInfo[] = [];
        for (const [assetId, ofAsset] of this.series) {
            if (!view.registry.visible(view.scope, assetId)) continue;
            for (const entry of ofAsset.values()) series.push({ ...entry.info });
        }
        return { series };
    }

    drain(registry: AssetRegistry): DeltaProducer | undefined {
        const push = ++this.pushes;
        if (this.changed.length === 0 && this.created.length === 0 && this.changedForecasts.size === 0) return undefined;
        // The page calls the producer for each client before anything else changes the store, so
        // the points taken here stay on the series for it.
        for (const series of this.changed) {
            series.drained = push;
            series.drainedPending = series.pending;
            series.pending = [];
        }
        this.changed = [];
        const created = this.created;
        const changedForecasts = this.changedForecasts;
        this.created = [];
        this.changedForecasts = new Set();

        return (view) => {
            const data: TrendDataWithForecast = {};
            const visibleCreated = created.filter((info) => registry.visible(view.scope, info.asset_id));
            if (visibleCreated.length > 0) data.series = visibleCreated.map((info) => ({ ...info }));

            const selection = view.selection;
            if (selection && registry.visible(view.scope, selection.asset_id)) {
                const key = seriesKey(selection.asset_id, selection.metric);
                const series = this.series.get(selection.asset_id)?.get(selection.metric);
                if (series) {
                    series.watchedAt = push;
                    if (series.drained === push) data.points = { ...series.info, points: pairsToPoints(series.drainedPending) };
                }
                const forecast = changedForecasts.has(key) ? this.forecasts.get(key) : undefined;
                if (forecast) data.forecast = forecast;
            }
            return data.series || data.points || data.forecast ? data : undefined;
        };
    }

    /** Returns the stored points and the latest forecast of a series; undefined when it has neither. */
    select(view: WidgetView, assetId: string, metric: string): TrendSeriesWithForecast | undefined {
        if (!view.registry.visible(view.scope, assetId)) return undefined;
        const series = this.series.get(assetId)?.get(metric);
        const forecast = this.forecasts.get(seriesKey(assetId, metric));
        if (!series && !forecast) return undefined;
        if (series) series.watchedAt = this.pushes;
        const selected: TrendSeriesWithForecast = series
            ? { ...series.info, points: pointsFrom(series, 0) }
            : { asset_id: assetId, metric, unit: forecast?.unit ?? '', points: [] };
        if (forecast) selected.forecast = forecast;
        return selected;
    }
}
