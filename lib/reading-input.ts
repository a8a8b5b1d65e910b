// Checks the readings that a rules or anomaly node receives; malformed ones become rejections
// for the quarantine.
import { parseTime } from './time';
import type { Reading, Rejection } from './types';

export interface CheckedReadings {
    readings: Reading[];
    rejections: Rejection[];
}

function problemOf(item: unknown, step: string): { field?: string; value?: unknown; reason: string } | undefined {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        return { reason: 'The item is not a reading object; send readings shaped like schemas/telemetry.json.' };
    }
    const record = item as Record<string, unknown>;
    for (const field of ['asset_id', 'metric', 'unit', 'ts'] as const) {
        if (typeof record[field] !== 'string' || record[field] === '') {
            return { field, value: record[field], reason: `The reading has no ${field} text; wire the ${step} node after the normalizer.` };
        }
    }
    if (Number.isNaN(parseTime(record.ts as string))) {
        return { field: 'ts', value: record.ts, reason: `The timestamp '${String(record.ts)}' is not an ISO 8601 time; send UTC times such as 2017-10-31T19:30:25.000Z.` };
    }
    const value = record.value;
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
        return { field: 'value', value, reason: 'The value is neither a finite number nor null; send numbers, or null for a missing sample.' };
    }
    return undefined;
}

/**
 * Splits a message payload into valid readings and rejections. `source` names the node in
 * rejections and `step` (such as `rules` or `anomaly`) names it in the reasons.
 */
export function checkReadings(payload: unknown, source: string, now: Date = new Date(), step = 'rules'): CheckedReadings {
    const receivedAt = now.toISOString();
    if (!Array.isArray(payload)) {
        return {
            readings: [],
            rejections: [
                {
                    source,
                    code: 'invalid_payload',
                    reason: `msg.payload is not an array of readings; wire the ${step} node after the normalizer.`,
                    payload,
                    received_at: receivedAt,
                },
            ],
        };
    }
    const readings: Reading[] = [];
    const rejections: Rejection[] = [];
    payload.forEach((item: unknown, index) => {
        const problem = problemOf(item, step);
        if (!problem) {
            readings.push(item as Reading);
            return;
        }
        rejections.push({
            source,
            code: 'invalid_reading',
            reason: problem.reason,
            ...(problem.field ? { field: problem.field, value: problem.value } : {}),
            ref: `item ${index}`,
            payload: item,
            received_at: receivedAt,
        });
    });
    return { readings, rejections };
}
