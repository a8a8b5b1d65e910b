// Cleansing of incoming readings: schema check, metric catalogue, unit conversion to the canonical
// unit, timestamp checks, asset and device scope, quality flags and duplicate suppression.
// Nothing is dropped silently: every reading ends up clean, rejected with its reason, or counted
// as a duplicate of a reading that already passed.
import { assetSetOf } from '../asset-set';
import { ValidationError } from '../errors';
import { METRICS, type MetricDefinition } from '../metrics';
import { compileSchema, describeValue, type SchemaProblem } from '../schemas';
import { isoFromMs, parseTime } from '../time';
import type { Reading, Rejection } from '../types';
import { resolveConversion } from '../units';
import type { AssetIndex } from './asset-registry';
import { closeMatches } from './close-matches';
import { RecentKeys } from './recent-keys';

/** Default maximum time a reading may lie ahead of the server clock: 5 minutes. */
export const DEFAULT_MAX_FUTURE_MS = 5 * 60_000;

/** Default number of asset_id|metric|ts keys remembered for duplicate suppression. */
export const DEFAULT_DEDUP_SIZE = 100_000;

/** The device that sent a batch, for checking which assets it may report. */
export interface DeviceScope {
    device_id: string;
    /** Operator the device belongs to. With an asset registry, readings of other operators' assets are rejected. */
    operator?: string;
    /** Assets the device may report. When absent, any asset, limited to the device's operator when one is set. */
    assets?: readonly string[];
}

export interface NormalizeOptions {
    /** Origin of the batch, copied into every Rejection, for example `mqtt:ops/acme/well-1/readings`. */
    source: string;
    /** Position of the batch in its source, such as an envelope sequence. Rejections get `<ref>#<index>`. */
    ref?: string;
    /** Server time in epoch milliseconds. Defaults to Date.now(). */
    now?: number;
    /** Maximum time in milliseconds a reading's ts may lie ahead of `now`. Default 5 minutes. */
    maxFutureMs?: number;
    /** Maximum age in milliseconds of a reading's ts behind `now`; undefined accepts any age (historical imports). */
    maxAgeMs?: number;
    /** Asset registry. When given, readings of assets not listed are rejected with `unknown_asset`. */
    assets?: AssetIndex;
    device?: DeviceScope;
    /**
     * Keys of readings that already passed. Pass the same instance to every call so that
     * duplicates are suppressed across batches. When absent, only repeats within this batch are dropped.
     */
    seen?: RecentKeys;
}

/** Reason a kept reading was flagged BAD. */
export interface QualityNote {
    asset_id: string;
    metric: string;
    ts: string;
    code: 'out_of_range' | 'null_value';
    reason: string;
}

export interface NormalizeResult {
    /** Readings in canonical units, in input order. */
    clean: Reading[];
    rejected: Rejection[];
    /** Readings dropped because a reading with the same asset_id, metric and ts already passed. */
    duplicates: number;
    /** Reasons for the clean readings whose quality was downgraded to BAD. */
    flagged: QualityNote[];
}

/** Fix hints appended to schema problems, by rejection code. */
const SCHEMA_HINTS: Record<string, string> = {
    missing_field: 'Every reading needs asset_id, metric, value, unit and ts.',
    non_numeric_value: 'Send the value as a JSON number, or null for a missing sample.',
    non_finite_value: 'Send a finite number, or null for a missing sample.',
    invalid_timestamp: 'Send ts as an ISO 8601 date-time in UTC, for example 2017-03-20T14:31:44.000Z.',
    invalid_reading: 'Correct the reading at its source or in the tag map.',
};

/**
 * Cleanses a batch of readings. Each valid reading is converted to the canonical unit of its
 * metric and gets its timestamp from toISOString(). It keeps its incoming quality flag (GOOD when
 * absent), which is downgraded to BAD for a null value or a value outside the plausible range.
 */
export function normalize(readings: readonly unknown[], options: NormalizeOptions): NormalizeResult {
    const now = options.now ?? Date.now();
    const receivedAt = new Date(now).toISOString();
    const maxFutureMs = options.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
    const seen = options.seen ?? new RecentKeys(readings.length);
    const result: NormalizeResult = { clean: [], rejected: [], duplicates: 0, flagged: [] };
    const context: CheckContext = { ...options, now, maxFutureMs };

    for (let index = 0; index < readings.length; index++) {
        const item = readings[index];
        const outcome = checkReading(item, context);
        if (outcome instanceof ValidationError) {
            const rejection: Rejection = {
                source: options.source,
                code: outcome.code,
                reason: outcome.message,
                received_at: receivedAt,
            };
            if (outcome.field !== undefined) {
                rejection.field = outcome.field;
                rejection.value = outcome.value;
            }
            if (options.ref !== undefined) rejection.ref = `${options.ref}#${index}`;
            rejection.payload = item;
            result.rejected.push(rejection);
            continue;
        }

        const { reading, time, note } = outcome;
        if (seen.checkAndAdd(reading.asset_id, reading.metric, time)) {
            result.duplicates += 1;
            continue;
        }
        result.clean.push(reading);
        if (note) result.flagged.push(note);
    }
    return result;
}

type CheckContext = NormalizeOptions & { now: number; maxFutureMs: number };

/** A reading that passed its checks, with its time in epoch milliseconds. */
interface CheckedReading {
    reading: Reading;
    time: number;
    note?: QualityNote;
}

/** Validates and converts one reading, or returns the error to reject it with. */
function checkReading(item: unknown, context: CheckContext): CheckedReading | ValidationError {
    const problems = compileSchema<Reading>('telemetry').check(item);
    if (problems.length > 0) return schemaError(problems);
    const input = item as Reading;

    const definition = METRICS.get(input.metric);
    if (!definition) return unknownMetric(input.metric);

    let conversion;
    try {
        conversion = resolveConversion(input.metric, input.unit);
    } catch (err) {
        if (err instanceof ValidationError) return err;
        throw err;
    }

    const value = input.value === null ? null : conversion.convert(input.value);
    if (value !== null && !Number.isFinite(value)) {
        return new ValidationError(
            'non_finite_value',
            `Value ${input.value} ${input.unit} of ${input.metric} converts to ${value} ${conversion.canonicalUnit}, ` +
                'which cannot be stored. Check the unit and the scaling of the source.',
            { field: 'value', value: input.value },
        );
    }

    const tsMs = parseTime(input.ts);
    if (Number.isNaN(tsMs)) {
        const message = `Timestamp ${describeValue(input.ts)} cannot be parsed. ${SCHEMA_HINTS.invalid_timestamp}`;
        return new ValidationError('invalid_timestamp', message, { field: 'ts', value: input.ts });
    }
    if (tsMs - context.now > context.maxFutureMs) return futureTimestamp(input.ts, tsMs, context);
    if (context.maxAgeMs !== undefined && context.now - tsMs > context.maxAgeMs) return staleTimestamp(input.ts, tsMs, context, context.maxAgeMs);

    const scopeError = checkAssetScope(input.asset_id, context);
    if (scopeError) return scopeError;

    const ts = isoFromMs(tsMs);
    const reading: Reading = {
        asset_id: input.asset_id,
        metric: input.metric,
        value,
        unit: conversion.canonicalUnit,
        ts,
        quality_flag: input.quality_flag ?? 'GOOD',
    };
    const note = qualityNote(reading, definition);
    if (note) reading.quality_flag = 'BAD';
    return { reading, time: tsMs, note };
}

/** Picks the rejection code of the most telling schema problem. The reason lists all problems. */
function schemaError(problems: SchemaProblem[]): ValidationError {
    const ranked = problems.map((problem) => ({ problem, code: schemaProblemCode(problem) }));
    const order = ['missing_field', 'non_numeric_value', 'non_finite_value', 'invalid_timestamp', 'invalid_reading'];
    ranked.sort((a, b) => order.indexOf(a.code) - order.indexOf(b.code));
    const { problem, code } = ranked[0];
    const reason = `${problems.map((p) => p.message).join(' ')} ${SCHEMA_HINTS[code]}`;
    return new ValidationError(code, reason, { field: problem.field || undefined, value: problem.value });
}

function schemaProblemCode(problem: SchemaProblem): string {
    if (problem.keyword === 'required') return 'missing_field';
    if (problem.field === 'value' && problem.keyword === 'type') {
        return typeof problem.value === 'number' ? 'non_finite_value' : 'non_numeric_value';
    }
    if (problem.field === 'ts') return 'invalid_timestamp';
    return 'invalid_reading';
}

function unknownMetric(metric: string): ValidationError {
    const suggestions = closeMatches(metric, METRICS.keys());
    const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.join(', ')}?` : '';
    return new ValidationError(
        'unknown_metric',
        `Metric '${metric}' is not in the metric catalogue.${hint} Map the source tag to a catalogue metric in the tag map, ` +
            'or add the metric to the catalogue.',
        { field: 'metric', value: metric },
    );
}

function futureTimestamp(ts: string, tsMs: number, context: CheckContext): ValidationError {
    const server = new Date(context.now).toISOString();
    return new ValidationError(
        'future_timestamp',
        `Timestamp ${ts} is ${formatDuration(tsMs - context.now)} ahead of the server time ${server}; at most ` +
            `${formatDuration(context.maxFutureMs)} is accepted. Check the device clock and its NTP synchronisation.`,
        { field: 'ts', value: ts },
    );
}

function staleTimestamp(ts: string, tsMs: number, context: CheckContext, maxAgeMs: number): ValidationError {
    const server = new Date(context.now).toISOString();
    return new ValidationError(
        'stale_timestamp',
        `Timestamp ${ts} is ${formatDuration(context.now - tsMs)} behind the server time ${server}; at most ` +
            `${formatDuration(maxAgeMs)} is accepted on this path. Check the device clock, or send historical data as a report import.`,
        { field: 'ts', value: ts },
    );
}

function checkAssetScope(assetId: string, context: CheckContext): ValidationError | undefined {
    const asset = context.assets?.get(assetId);
    if (context.assets && !asset) {
        return new ValidationError(
            'unknown_asset',
            `Asset '${assetId}' is not in the asset registry. Register the asset, or correct the asset_id in the tag map ` +
                'of the sending device.',
            { field: 'asset_id', value: assetId },
        );
    }

    const device = context.device;
    if (!device) return undefined;
    if (device.assets && !assetSetOf(device.assets).has(assetId)) {
        return new ValidationError(
            'asset_not_allowed',
            `Device '${device.device_id}' is not registered for asset '${assetId}'. Correct the asset_id in the device's ` +
                'tag map, or add the asset to the device registration.',
            { field: 'asset_id', value: assetId },
        );
    }
    // NOTE: without an asset registry the operator of the asset is unknown, so only the device's
    // own asset list (above) limits what it may report.
    if (device.operator && asset && asset.operator !== device.operator) {
        return new ValidationError(
            'asset_not_allowed',
            `Device '${device.device_id}' of operator '${device.operator}' may not report asset '${assetId}' of operator ` +
                `'${asset.operator}'. Correct the asset_id in the device's tag map.`,
            { field: 'asset_id', value: assetId },
        );
    }
    return undefined;
}

function qualityNote(reading: Reading, definition: MetricDefinition): QualityNote | undefined {
    const base = { asset_id: reading.asset_id, metric: reading.metric, ts: reading.ts };
    if (reading.value === null) {
        const reason = `Value of ${reading.metric} is null; the reading is stored with quality BAD.`;
        return { ...base, code: 'null_value', reason };
    }
    const range = definition.plausible;
    if (range && (reading.value < range[0] || reading.value > range[1])) {
        return {
            ...base,
            code: 'out_of_range',
            reason:
                `Value ${reading.value} ${reading.unit} of ${reading.metric} is outside the plausible range ` +
                `${range[0]} to ${range[1]} ${reading.unit}; the reading is stored with quality BAD.`,
        };
    }
    return undefined;
}

/** Formats a positive duration for a message: seconds, minutes, hours or days. */
function formatDuration(ms: number): string {
    const seconds = ms / 1000;
    if (seconds < 120) return `${Math.round(seconds)} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
    return `${Math.round(seconds / 86_400)} days`;
}

/** Groups readings by asset_id, keeping the input order within and between groups. */
export function groupByAsset(readings: readonly Reading[]): Map<string, Reading[]> {
    const groups = new Map<string, Reading[]>();
    for (const reading of readings) {
        const group = groups.get(reading.asset_id);
        if (group) group.push(reading);
        else groups.set(reading.asset_id, [reading]);
    }
    return groups;
}

/** Reads a DeviceScope from a message property such as msg.device, or returns undefined when it is not one. */
export function deviceScopeFrom(value: unknown): DeviceScope | undefined {
    if (value === null || typeof value !== 'object') return undefined;
    const candidate = value as Record<string, unknown>;
    if (typeof candidate.device_id !== 'string' || !candidate.device_id) return undefined;
    const scope: DeviceScope = { device_id: candidate.device_id };
    if (typeof candidate.operator === 'string' && candidate.operator) scope.operator = candidate.operator;
    if (Array.isArray(candidate.assets)) scope.assets = candidate.assets.filter((id): id is string => typeof id === 'string');
    return scope;
}
