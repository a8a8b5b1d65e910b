// Streaming reader for sensor files in the Petrobras 3W CSV layout:
//
//   timestamp,P-PDG,P-TPT,T-TPT,P-MON-CKP,T-JUS-CKP,P-JUS-CKGL,T-JUS-CKGL,QGL,class
//   2017-10-31 19:30:25.000000,0.000000e+00,1.335972e+07,...,,0
//
// Timestamps carry no zone and are read as UTC. An empty cell is a missing value. Lines end in
// CRLF or LF, and the last line may lack its newline. The file is read in chunks, one line at a
// time, so memory use does not grow with the file size.
import { createReadStream } from 'node:fs';

import { ValidationError } from '../errors';
import type { Rejection } from '../types';

/** Name of the first column, which contains the sample time. */
export const TIMESTAMP_COLUMN = 'timestamp';
/** Name of the column with the 3W event label (0 = normal, 1-8 = fault classes, 101-108 = transients). */
export const LABEL_COLUMN = 'class';

/** One data row of a replay file. */
export interface ReplayRow {
    /** 1-based data row number: the header is row 0, the first data line is row 1. */
    row: number;
    /** Source timestamp as ISO 8601 UTC with millisecond precision. */
    source_ts: string;
    /** Source timestamp in milliseconds since the Unix epoch. */
    source_ms: number;
    /** Every column except the timestamp and label; null for an empty cell. */
    values: Record<string, number | null>;
    /** Content of the `class` column, or null when the column is absent or the cell is empty. */
    label: string | null;
}

export type RowErrorCode = 'wrong_column_count' | 'invalid_number' | 'invalid_timestamp';

/** An invalid data line, with its row number and text, for the quarantine. */
export class RowError extends ValidationError {
    readonly row: number;
    readonly line: string;

    constructor(code: RowErrorCode, message: string, details: { row: number; line: string; field?: string; value?: unknown }) {
        super(code, message, { field: details.field, value: details.value, context: { row: details.row } });
        this.row = details.row;
        this.line = details.line;
    }
}

/** A parsed data line: either a row or the reason it is invalid. */
export type ReplayLine = { ok: true; row: ReplayRow } | { ok: false; error: RowError };

export interface ReplayHeader {
    columns: string[];
    /** Index of the `class` column, or -1 when the file has none. */
    labelIndex: number;
}

/** Data rows to read, by 1-based row number, both ends inclusive. */
export interface RowSlice {
    startRow?: number;
    endRow?: number;
}

const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const NUMBER_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a zone-less timestamp `YYYY-MM-DD hh:mm:ss[.ffffff]` as UTC and returns epoch milliseconds,
 * or undefined when the text is not such a timestamp or names a date that does not exist.
 * Digits after the milliseconds are dropped.
 */
export function parseSourceTimestamp(text: string): number | undefined {
    const match = TIMESTAMP_PATTERN.exec(text);
    if (!match) return undefined;
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
    const millis = match[7] ? Number(match[7].padEnd(3, '0').slice(0, 3)) : 0;
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
    const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
    // Date.UTC rolls 31 April over to 1 May; reading the day back catches such dates.
    if (new Date(ms).getUTCDate() !== day) return undefined;
    return ms;
}

/** Parses a decimal or exponent number cell; returns undefined for anything else. */
export function parseNumberCell(text: string): number | undefined {
    if (!NUMBER_PATTERN.test(text)) return undefined;
    const value = Number(text);
    return Number.isFinite(value) ? value : undefined;
}

/** Reads the header line; throws a ValidationError when it is not a replay header. */
export function parseHeader(line: string, file: string): ReplayHeader {
    const columns = line.replace(/^\uFEFF/, '').split(',').map((name) => name.trim());
    if (columns[0] !== TIMESTAMP_COLUMN) {
        throw new ValidationError(
            'invalid_header',
            `File ${file} starts with "${columns[0]}" instead of a "${TIMESTAMP_COLUMN}" column; ` +
                `replay files need a header such as timestamp,P-PDG,P-TPT,...,class.`,
            { field: 'header', value: line },
        );
    }
    const seen = new Set<string>();
    for (const name of columns) {
        if (name === '' || seen.has(name)) {
            throw new ValidationError(
                'invalid_header',
                `File ${file} has ${name === '' ? 'an empty' : `a repeated "${name}"`} column name in its header; ` +
                    'give every column a unique name.',
                { field: 'header', value: line },
            );
        }
        seen.add(name);
    }
    return { columns, labelIndex: columns.indexOf(LABEL_COLUMN) };
}

/** Parses one data line against the header. */
export function parseRow(line: string, header: ReplayHeader, row: number): ReplayLine {
    const cells = line.split(',');
    const { columns } = header;
    if (cells.length !== columns.length) {
        const error = new RowError(
            'wrong_column_count',
            `Row ${row} has ${cells.length} columns but the header has ${columns.length}; ` +
                'fix the line so that it has one cell per header column (empty cells are allowed).',
            { row, line, value: cells.length },
        );
        return { ok: false, error };
    }
    const timestampText = cells[0].trim();
    const sourceMs = parseSourceTimestamp(timestampText);
    if (sourceMs === undefined) {
        const error = new RowError(
            'invalid_timestamp',
            `Row ${row} has the invalid timestamp "${timestampText}"; use YYYY-MM-DD hh:mm:ss.ffffff in UTC.`,
            { row, line, field: TIMESTAMP_COLUMN, value: timestampText },
        );
        return { ok: false, error };
    }
    const values: Record<string, number | null> = {};
    for (let index = 1; index < columns.length; index++) {
        if (index === header.labelIndex) continue;
        const text = cells[index].trim();
        if (text === '') {
            values[columns[index]] = null;
            continue;
        }
        const value = parseNumberCell(text);
        if (value === undefined) {
            const error = new RowError(
                'invalid_number',
                `Row ${row} has "${text}" in column ${columns[index]}, which is not a number; ` +
                    'use a decimal number such as 1.843341e+07, or leave the cell empty for a missing value.',
                { row, line, field: columns[index], value: text },
            );
            return { ok: false, error };
        }
        values[columns[index]] = value;
    }
    const labelText = header.labelIndex >= 0 ? cells[header.labelIndex].trim() : '';
    return {
        ok: true,
        row: {
            row,
            source_ts: new Date(sourceMs).toISOString(),
            source_ms: sourceMs,
            values,
            label: labelText === '' ? null : labelText,
        },
    };
}

/** Yields the lines of a text file without their CR/LF endings, reading it in chunks. */
export async function* readLines(path: string): AsyncGenerator<string> {
    const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 64 * 1024 });
    let rest = '';
    try {
        for await (const chunk of stream as AsyncIterable<string>) {
            rest += chunk;
            let start = 0;
            let newline = rest.indexOf('\n', start);
            while (newline !== -1) {
                yield stripCarriageReturn(rest.slice(start, newline));
                start = newline + 1;
                newline = rest.indexOf('\n', start);
            }
            rest = rest.slice(start);
        }
        if (rest !== '') yield stripCarriageReturn(rest);
    } finally {
        // Runs also when the consumer stops early, so the file handle is released.
        stream.destroy();
    }
}

function stripCarriageReturn(line: string): string {
    return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * Yields the data rows of a replay file in file order, each as a row or as a RowError.
 * Blank lines carry no data and are skipped, but they still count in the row numbering, so that a
 * row number always points at the same line of the file. Rows outside `slice` are not parsed.
 * Throws a ValidationError for a missing or invalid header, and the file system error for an
 * unreadable file.
 */
export async function* readReplayFile(path: string, slice: RowSlice = {}): AsyncGenerator<ReplayLine> {
    const startRow = slice.startRow ?? 1;
    const endRow = slice.endRow ?? Number.POSITIVE_INFINITY;
    let header: ReplayHeader | undefined;
    let row = 0;
    for await (const line of readLines(path)) {
        if (!header) {
            header = parseHeader(line, path);
            continue;
        }
        row++;
        if (row > endRow) return;
        if (row < startRow || line.trim() === '') continue;
        yield parseRow(line, header, row);
    }
    if (!header) {
        throw new ValidationError('invalid_header', `File ${path} is empty; a replay file needs a header line and data rows.`, {
            field: 'header',
        });
    }
}

/** Counts and time range of the rows of a replay file slice. */
export interface ReplayScan {
    /** Data lines in the slice, valid or not. */
    total: number;
    valid: number;
    rejected: number;
    /** Timestamp of the first valid row, in epoch ms; undefined when no row is valid. */
    firstMs?: number;
    /** Latest timestamp of any valid row, in epoch ms. */
    maxMs?: number;
}

/** Reads a replay file slice once to count its rows and find its time range. */
export async function scanReplayFile(path: string, slice: RowSlice = {}): Promise<ReplayScan> {
    const scan: ReplayScan = { total: 0, valid: 0, rejected: 0 };
    for await (const line of readReplayFile(path, slice)) {
        scan.total++;
        if (!line.ok) {
            scan.rejected++;
            continue;
        }
        scan.valid++;
        const ms = line.row.source_ms;
        if (scan.firstMs === undefined) scan.firstMs = ms;
        if (scan.maxMs === undefined || ms > scan.maxMs) scan.maxMs = ms;
    }
    return scan;
}

/** Turns an invalid row into a quarantine entry; the line text is kept as the payload. */
export function rowErrorToRejection(error: RowError, source: string, receivedAt: Date = new Date()): Rejection {
    const rejection: Rejection = {
        source,
        reason: error.message,
        code: error.code,
        ref: String(error.row),
        payload: error.line,
        received_at: receivedAt.toISOString(),
    };
    if (error.field !== undefined) rejection.field = error.field;
    if (error.value !== undefined) rejection.value = error.value;
    return rejection;
}
