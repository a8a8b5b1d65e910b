// Sorts a widget's msg.payload into readings, alert events and assets, and checks each item.
import { ValidationError } from '../../lib/errors';
import { parseTime } from '../../lib/time';
import type { AlertEvent, Asset, Reading } from '../../lib/types';

export interface WidgetInput {
    readings: Reading[];
    events: AlertEvent[];
    assets: Asset[];
    /** Items that were not accepted, with their position in msg.payload and the reason. */
    invalid: { index: number; reason: string }[];
}

/** Item kinds a widget accepts; items of other kinds are reported as invalid. */
export interface Accepts {
    readings?: boolean;
    events?: boolean;
    assets?: boolean;
}

const SEVERITIES = new Set(['P1', 'P2', 'P3']);
const STATES = new Set(['open', 'acknowledged', 'resolved']);

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTime(value: unknown): boolean {
    return typeof value === 'string' && !Number.isNaN(parseTime(value));
}

function nonEmpty(value: unknown): boolean {
    return typeof value === 'string' && value.length > 0;
}

/** Returns why the item is not a reading, or undefined when it is one. */
function readingProblem(item: Record<string, unknown>): string | undefined {
    if (!nonEmpty(item.asset_id)) return 'asset_id is missing';
    if (!nonEmpty(item.metric)) return 'metric is missing';
    if (item.value !== null && (typeof item.value !== 'number' || !Number.isFinite(item.value))) {
        return `value ${JSON.stringify(item.value)} is not a finite number or null`;
    }
    if (typeof item.unit !== 'string') return 'unit is missing';
    if (!isTime(item.ts)) return `ts ${JSON.stringify(item.ts)} is not an ISO 8601 time`;
    return undefined;
}

function eventProblem(item: Record<string, unknown>): string | undefined {
    if (!nonEmpty(item.asset_id)) return 'asset_id is missing';
    if (!SEVERITIES.has(item.severity as string)) return `severity ${JSON.stringify(item.severity)} is not P1, P2 or P3`;
    if (!STATES.has(item.state as string)) return `state ${JSON.stringify(item.state)} is not open, acknowledged or resolved`;
    if (!isTime(item.opened_at)) return `opened_at ${JSON.stringify(item.opened_at)} is not an ISO 8601 time`;
    return undefined;
}

function isCoordinate(value: unknown): boolean {
    return Array.isArray(value) && value.length >= 2 && value.every((part) => typeof part === 'number' && Number.isFinite(part));
}

function assetProblem(item: Record<string, unknown>): string | undefined {
    if (!nonEmpty(item.operator)) return 'operator is missing';
    const geometry = item.geometry;
    if (!isObject(geometry)) return 'geometry is missing';
    if (geometry.type === 'Point' && isCoordinate(geometry.coordinates)) return undefined;
    if (geometry.type === 'LineString' && Array.isArray(geometry.coordinates) && geometry.coordinates.every(isCoordinate)) {
        return undefined;
    }
    return 'geometry is not a GeoJSON Point or LineString';
}

/**
 * Splits msg.payload (one item or an array) into readings, alert events (items with an event_id)
 * and assets (items with a geometry). Throws a ValidationError when no item is usable.
 */
export function parseWidgetInput(payload: unknown, accepts: Accepts): WidgetInput {
    const input: WidgetInput = { readings: [], events: [], assets: [], invalid: [] };
    const items = Array.isArray(payload) ? payload : [payload];

    items.forEach((item, index) => {
        if (!isObject(item)) {
            input.invalid.push({ index, reason: `${JSON.stringify(item) ?? 'undefined'} is not an object` });
            return;
        }
        let kind: keyof Accepts;
        let problem: string | undefined;
        if (typeof item.event_id === 'string') {
            kind = 'events';
            problem = eventProblem(item);
        } else if ('geometry' in item && !('metric' in item)) {
            kind = 'assets';
            problem = assetProblem(item);
        } else {
            kind = 'readings';
            problem = readingProblem(item);
        }
        if (!problem && !accepts[kind]) problem = `this widget does not accept ${kind}`;
        if (problem) {
            input.invalid.push({ index, reason: problem });
            return;
        }
        (input[kind] as unknown[]).push(item);
    });

    const usable = input.readings.length + input.events.length + input.assets.length;
    if (usable === 0 && input.invalid.length > 0) throw invalidInputError(input, items.length);
    if (usable === 0) {
        throw new ValidationError('empty_payload', 'msg.payload is an empty array; send readings or alert events.', { field: 'payload' });
    }
    return input;
}

/** Describes the rejected items of one message, naming the first one. */
export function invalidInputError(input: WidgetInput, total: number): ValidationError {
    const first = input.invalid[0];
    const what = input.invalid.length === 1 ? 'item' : 'items';
    return new ValidationError(
        'invalid_item',
        `${input.invalid.length} of ${total} ${what} in msg.payload were not shown; msg.payload[${first.index}]: ${first.reason}. ` +
            'Wire clean readings (from the normalizer) or alert events to this widget.',
        { field: `payload[${first.index}]`, badge: 'invalid input' },
    );
}
