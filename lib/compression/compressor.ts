// Exception and compression filtering of readings, per asset and metric, with a guaranteed
// maximum error: linear interpolation between the archived readings of a series reconstructs
// every reading it received within that series' maximum error.
//
// Each series runs a deadband filter and then a swinging door. The deadband D is a fraction of
// the maximum error E, and the door gets the rest, E - 2D. A suppressed reading lies within D of
// the last passed reading, so is the chord between two consecutively passed readings, and the
// door keeps the archive within E - 2D of that chord: D + D + (E - 2D) = E.
import { ValidationError } from '../errors';
import type { Reading } from '../types';
import { DeadbandFilter } from './deadband';
import { SwingingDoor, type SeriesPoint } from './swinging-door';

/** A reading with its time in milliseconds and its numeric value, as the series filters see it. */
interface ReadingPoint extends SeriesPoint {
    reading: Reading;
}

/** Origin of a series' maximum error, for reports and logs. */
export type ErrorBoundSource = 'absolute' | 'percent-of-span';

/** Maximum error of one series, in the unit of its readings. */
export interface SeriesBound {
    maxError: number;
    source: ErrorBoundSource;
}

/** Returns the maximum error for the readings of one metric in one unit, or throws a ValidationError. */
export type BoundResolver = (metric: string, unit: string) => SeriesBound;

export interface CompressorOptions {
    resolveBound: BoundResolver;
    /** Deadband as a fraction of each series' maximum error, from 0 (off) to below 0.5. Default 0. */
    deadbandFraction?: number;
    /** Maximum time between two archived readings of a series, in milliseconds; 0 turns it off. Default 0. */
    heartbeatMs?: number;
}

/** Counts of one series or of all series together. */
export interface CompressionCounts {
    received: number;
    archived: number;
}

class Series {
    readonly deadband: DeadbandFilter<ReadingPoint>;
    readonly door: SwingingDoor<ReadingPoint>;
    readonly counts: CompressionCounts = { received: 0, archived: 0 };
    /** Last reading received, of any value: the reference for order and repeats. */
    last: ReadingPoint | undefined;

    constructor(
        readonly unit: string,
        readonly quality: string | undefined,
        readonly bound: SeriesBound,
        deadbandFraction: number,
    ) {
        const deadband = bound.maxError * deadbandFraction;
        this.deadband = new DeadbandFilter({ deadband });
        this.door = new SwingingDoor(bound.maxError - 2 * deadband);
    }
}

function invalid(code: string, message: string, field: string, value: unknown): ValidationError {
    return new ValidationError(code, message, { field, value });
}

/** Checks the fields the compressor relies on and returns the reading time in milliseconds. */
export function checkReading(reading: unknown): number {
    if (typeof reading !== 'object' || reading === null || Array.isArray(reading)) {
        throw invalid('invalid_reading', 'The reading is not an object; send { asset_id, metric, value, unit, ts }.', 'reading', reading);
    }
    const record = reading as Record<string, unknown>;
    for (const field of ['asset_id', 'metric', 'unit', 'ts'] as const) {
        if (typeof record[field] !== 'string' || record[field] === '') {
            throw invalid('missing_field', `The reading has no ${field}; give it a non-empty text value.`, field, record[field]);
        }
    }
    const ms = Date.parse(record.ts as string);
    if (!Number.isFinite(ms)) {
        throw invalid('invalid_timestamp', `The reading time ${JSON.stringify(record.ts)} is invalid; use an ISO 8601 time.`, 'ts', record.ts);
    }
    const value = record.value;
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
        throw invalid('invalid_value', `The reading value ${JSON.stringify(value)} is not a finite number or null; fix the source.`, 'value', value);
    }
    return ms;
}

/**
 * Compresses readings of many series incrementally. Readings of one series must arrive in time
 * order; a reading older than the last one of its series passes through unchanged. A null value,
 * a change of unit or a change of quality flag closes the series' current segment and starts a
 * new one, so that the archive keeps gaps and quality changes.
 */
export class ReadingCompressor {
    private readonly series = new Map<string, Series>();
    private readonly deadbandFraction: number;
    private readonly heartbeatMs: number;
    private readonly totals: CompressionCounts = { received: 0, archived: 0 };

    constructor(private readonly options: CompressorOptions) {
        this.deadbandFraction = options.deadbandFraction ?? 0;
        this.heartbeatMs = options.heartbeatMs ?? 0;
        if (!(this.deadbandFraction >= 0 && this.deadbandFraction < 0.5)) {
            throw new RangeError(`The deadband fraction ${this.deadbandFraction} is invalid; use 0 or more and below 0.5 of the maximum error.`);
        }
        if (!(this.heartbeatMs >= 0) || !Number.isFinite(this.heartbeatMs)) {
            throw new RangeError(`The heartbeat ${this.heartbeatMs} ms is invalid; use 0 (off) or a positive number of milliseconds.`);
        }
    }

    /**
     * Adds one reading and returns the readings it archives, oldest first. Throws a
     * ValidationError for a reading without asset, metric, unit or valid time and value, and for
     * a metric or unit whose maximum error cannot be resolved.
     */
    add(reading: Reading): Reading[] {
        const t = checkReading(reading);
        const key = `${reading.asset_id}\u0000${reading.metric}`;
        let series = this.series.get(key);
        const archived: Reading[] = [];

        if (series && series.last && t <= series.last.t) {
            this.countReceived(series);
            // A repeat of the last reading (a resubscription resends the current value) adds nothing.
            if (t === series.last.t && reading.value === series.last.reading.value) return [];
            return this.countArchived(series, [reading]);
        }

        if (series && (series.unit !== reading.unit || series.quality !== reading.quality_flag)) {
            archived.push(...this.countArchived(series, this.flushSeries(series)));
            series = undefined;
        }
        if (!series) {
            const bound = this.options.resolveBound(reading.metric, reading.unit);
            series = new Series(reading.unit, reading.quality_flag, bound, this.deadbandFraction);
            this.series.set(key, series);
        }
        this.countReceived(series);
        archived.push(...this.countArchived(series, this.addPoint(series, { t, v: reading.value ?? Number.NaN, reading })));
        return archived;
    }

    /** Adds readings in order and returns all readings they archive. */
    addAll(readings: Reading[]): Reading[] {
        const archived: Reading[] = [];
        for (const reading of readings) archived.push(...this.add(reading));
        return archived;
    }

    /** Archives the pending reading of every series, so that each archive reaches its last reading. */
    flush(): Reading[] {
        const archived: Reading[] = [];
        for (const series of this.series.values()) archived.push(...this.countArchived(series, this.flushSeries(series)));
        return archived;
    }

    /** Counts over all series since the compressor was created. */
    get counts(): Readonly<CompressionCounts> {
        return this.totals;
    }

    /** Counts and bound of one series, or undefined for a series never seen. */
    seriesInfo(assetId: string, metric: string): (CompressionCounts & SeriesBound) | undefined {
        const series = this.series.get(`${assetId}\u0000${metric}`);
        return series ? { ...series.counts, ...series.bound } : undefined;
    }

    /** Runs one in-order point through the series and returns the readings it archives. */
    private addPoint(series: Series, point: ReadingPoint): Reading[] {
        const archived: Reading[] = [];
        if (point.reading.value === null) {
            archived.push(...this.flushSeries(series), point.reading);
            this.restart(series);
            series.last = point;
            return archived;
        }
        // The first value after a gap starts a new segment.
        if (series.last && series.last.reading.value === null) this.restart(series);

        const lastArchived = series.door.lastArchivedTime;
        if (this.heartbeatMs > 0 && lastArchived !== undefined && point.t - lastArchived > this.heartbeatMs) {
            archived.push(...this.flushSeries(series));
            const newest = series.door.lastArchivedTime ?? lastArchived;
            // After a gap longer than the heartbeat the reading starts a new segment.
            if (point.t - newest > this.heartbeatMs) this.restart(series);
        }
        for (const passed of series.deadband.add(point)) archived.push(...series.door.add(passed).map((p) => p.reading));
        series.last = point;
        return archived;
    }

    private flushSeries(series: Series): Reading[] {
        const archived: ReadingPoint[] = [];
        for (const passed of series.deadband.flush()) archived.push(...series.door.add(passed));
        archived.push(...series.door.flush());
        return archived.map((p) => p.reading);
    }

    private restart(series: Series): void {
        series.door.reset();
        series.deadband.reset();
    }

    private countReceived(series: Series): void {
        series.counts.received++;
        this.totals.received++;
    }

    private countArchived(series: Series, readings: Reading[]): Reading[] {
        series.counts.archived += readings.length;
        this.totals.archived += readings.length;
        return readings;
    }
}
