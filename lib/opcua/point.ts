// Turns an OPC UA data change into the point that the tag map takes: { tag, value, ts, quality }.
import type { DataValue, Variant } from 'node-opcua';

import type { QualityFlag } from '../types';

/** A point as ul-tag-map reads it. */
export interface OpcUaPoint {
    tag: string;
    /** A number for numeric and boolean values, null for an empty value, else the value as read. */
    value: unknown;
    /** Source timestamp (else server timestamp, else the time of arrival), ISO 8601. */
    ts: string;
    quality: QualityFlag;
}

/**
 * Maps an OPC UA status code to a quality flag by its severity, the two top bits of the code
 * (OPC UA Part 4, 7.39): 00 Good, 01 Uncertain, 10 and 11 Bad.
 */
export function qualityOf(statusCode: number): QualityFlag {
    const severity = (statusCode >>> 30) & 0b11;
    if (severity === 0) return 'GOOD';
    if (severity === 1) return 'SUSPECT';
    return 'BAD';
}

/** Data type ids of OPC UA Part 6: Boolean 1, Int64 8, UInt64 9, DateTime 13. */
const BOOLEAN = 1;
const INT64 = 8;
const UINT64 = 9;
const DATE_TIME = 13;

function plainValue(variant: Variant | null | undefined): unknown {
    if (!variant || variant.value === null || variant.value === undefined) return null;
    const value: unknown = variant.value;
    if (variant.arrayType !== undefined && variant.arrayType !== 0) return ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number>) : value;
    if (variant.dataType === BOOLEAN) return value ? 1 : 0;
    // node-opcua represents 64-bit integers as [high, low] 32-bit words.
    if ((variant.dataType === INT64 || variant.dataType === UINT64) && Array.isArray(value)) {
        const [high, low] = value as number[];
        return high * 2 ** 32 + (low >>> 0);
    }
    if (variant.dataType === DATE_TIME && value instanceof Date) return value.toISOString();
    return value;
}

/** Builds the point for one data change of a monitored node. */
export function toPoint(tag: string, dataValue: DataValue, now: Date = new Date()): OpcUaPoint {
    const time = dataValue.sourceTimestamp ?? dataValue.serverTimestamp ?? now;
    const quality = qualityOf(dataValue.statusCode?.value ?? 0);
    return { tag, value: plainValue(dataValue.value), ts: time.toISOString(), quality };
}
