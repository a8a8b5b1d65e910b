// Conversions between JavaScript values and SQL parameters or result columns, shared by the
// store's queries. pg and PGlite differ in a few result types (bigint is a string in pg and a
// number in PGlite), so results go through these helpers.
import { ValidationError } from '../errors';

/** Converts a timestamptz result (a Date from both drivers) to an ISO 8601 string in UTC. */
export function isoTime(value: unknown): string {
    return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

export function isoTimeOrNull(value: unknown): string | null {
    return value === null || value === undefined ? null : isoTime(value);
}

export function numberOrNull(value: unknown): number | null {
    return value === null || value === undefined ? null : Number(value);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a string storable in PostgreSQL: text and jsonb reject the NUL character and jsonb
 * rejects unpaired surrogates, so both become U+FFFD. Rejected input often contains such bytes,
 * and the quarantine must still keep it.
 */
export function storableText(text: string): string {
    return text.replace(/\u0000/g, '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

/** Serialises a value as JSON text for a jsonb parameter, with storableText applied to every string. */
export function jsonText(value: unknown): string {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? storableText(item) : item));
}

/**
 * Writes a text[] parameter as an array literal. The drivers quote and escape each element of a
 * JavaScript array on their own, which took about three times as long for the store's batches of
 * 5,000 identifiers. Elements without a quote or backslash are joined as they are.
 */
export function textArrayParam(items: readonly (string | null)[]): string {
    let plain = true;
    for (const item of items) {
        if (item === null || item.includes('"') || item.includes('\\')) {
            plain = false;
            break;
        }
    }
    if (items.length === 0) return '{}';
    if (plain) return `{"${items.join('","')}"}`;
    return `{${items.map((item) => (item === null ? 'NULL' : `"${item.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

/** Writes a float8[] or bigint[] parameter as an array literal, NULL for null. */
export function numberArrayParam(items: readonly (number | null)[]): string {
    let literal = '{';
    for (let index = 0; index < items.length; index++) {
        if (index > 0) literal += ',';
        const item = items[index];
        literal += item === null ? 'NULL' : String(item);
    }
    return `${literal}}`;
}

/** Returns the row limit of a list query, or throws when it is outside 1..max. */
export function resolveLimit(limit: number | undefined, defaultLimit: number, max: number): number {
    if (limit === undefined) return defaultLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > max) {
        throw new ValidationError('invalid_limit', `Invalid limit ${limit}: use a whole number from 1 to ${max}, or narrow the time range.`, {
            field: 'limit',
            value: limit,
        });
    }
    return limit;
}

/** Returns an ISO 8601 time parameter, or throws when the text is not a time. */
export function timeParam(value: string, field: string): string {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) {
        throw new ValidationError('invalid_time', `Invalid ${field} "${value}": use an ISO 8601 time such as 2017-03-20T14:31:44Z.`, {
            field,
            value,
        });
    }
    return new Date(ms).toISOString();
}

/** Collects WHERE conditions with numbered parameters. */
export class Conditions {
    readonly params: unknown[] = [];
    private readonly parts: string[] = [];

    /** Adds a condition; `$` in `sql` becomes the next parameter number. */
    add(sql: string, value: unknown): void {
        this.params.push(value);
        this.parts.push(sql.replace('$', `$${this.params.length}`));
    }

    /** Adds a parameter without a condition and returns its placeholder, for LIMIT and the like. */
    param(value: unknown): string {
        this.params.push(value);
        return `$${this.params.length}`;
    }

    where(): string {
        return this.parts.length === 0 ? '' : `WHERE ${this.parts.join(' AND ')}`;
    }
}
