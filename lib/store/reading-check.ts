// Checks that readings can be stored, so that one malformed reading becomes a rejection
// instead of failing the database write of the whole batch it travels in.
import { parseTime } from '../time';
import type { Reading, Rejection } from '../types';

/** Source of the rejections made here, as recorded in the quarantine. */
export const STORE_REJECTION_SOURCE = 'store:readings';

const QUALITY_FLAGS = new Set(['GOOD', 'SUSPECT', 'BAD']);
/**
 * Largest magnitude of a stored value. The rollups' avg() adds up squared differences of a
 * bucket's values, and PostgreSQL raises an overflow error for them from about 1e154 on (1e154
 * and -1e154 in one bucket already do). The refresh of that bucket would then fail every time.
 */
const MAX_STORED_MAGNITUDE = 1e150;
/** The time must carry its offset (Z or +hh:mm); without one its meaning depends on a time zone. */
const ISO_TIME_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

function problem(item: unknown): { field: string; value: unknown; reason: string } | undefined {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        return { field: '', value: item, reason: 'The reading is not an object; send objects with asset_id, metric, value, unit and ts.' };
    }
    const reading = item as Record<string, unknown>;
    for (const field of ['asset_id', 'metric'] as const) {
        if (typeof reading[field] !== 'string' || reading[field] === '') {
            return { field, value: reading[field], reason: `Missing or empty ${field}; every reading needs a non-empty ${field} string.` };
        }
    }
    if (typeof reading.unit !== 'string') {
        return { field: 'unit', value: reading.unit, reason: 'Missing unit; every reading needs a unit string such as "psi".' };
    }
    if (typeof reading.ts !== 'string' || !ISO_TIME_WITH_OFFSET.test(reading.ts) || Number.isNaN(parseTime(reading.ts))) {
        return { field: 'ts', value: reading.ts, reason: 'Invalid ts; use an ISO 8601 time with an offset, such as 2017-03-20T14:31:44.000Z.' };
    }
    if (reading.value !== null && (typeof reading.value !== 'number' || !Number.isFinite(reading.value))) {
        return { field: 'value', value: reading.value, reason: 'Invalid value; use a finite number, or null for a missing sample.' };
    }
    if (typeof reading.value === 'number' && Math.abs(reading.value) > MAX_STORED_MAGNITUDE) {
        return {
            field: 'value',
            value: reading.value,
            reason: `Value ${reading.value} is too large to store; values from -1e150 to 1e150 are accepted. Check the unit and the scaling of the source.`,
        };
    }
    if (reading.quality_flag !== undefined && !QUALITY_FLAGS.has(reading.quality_flag as string)) {
        return { field: 'quality_flag', value: reading.quality_flag, reason: 'Invalid quality_flag; use GOOD, SUSPECT or BAD, or leave it out.' };
    }
    return undefined;
}

/** Splits items into storable readings and rejections, keeping the order of each. */
export function checkReadings(items: unknown[], receivedAt = new Date().toISOString()): { readings: Reading[]; rejections: Rejection[] } {
    const readings: Reading[] = [];
    const rejections: Rejection[] = [];
    for (const item of items) {
        const found = problem(item);
        if (!found) {
            readings.push(item as Reading);
            continue;
        }
        const reading = (typeof item === 'object' && item !== null ? item : {}) as Partial<Record<keyof Reading, unknown>>;
        const rejection: Rejection = {
            source: STORE_REJECTION_SOURCE,
            code: 'invalid_reading',
            reason: found.reason,
            value: found.value,
            payload: item,
            received_at: receivedAt,
        };
        if (found.field) rejection.field = found.field;
        // The reading's key, when it has one, lets the quarantine recognise a redelivered reading.
        if (typeof reading.asset_id === 'string' && typeof reading.metric === 'string' && typeof reading.ts === 'string') {
            rejection.ref = `${reading.asset_id}/${reading.metric}/${reading.ts}`;
        }
        rejections.push(rejection);
    }
    return { readings, rejections };
}
