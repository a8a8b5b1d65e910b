// Canonical JSON: one byte sequence per value, so that a signature made at the edge verifies in the
// cloud whatever key order or spacing the JSON had on the way.
import { ValidationError } from '../errors';

/**
 * Serialises a JSON value canonically. Object keys are sorted at every depth by UTF-16 code units,
 * which is the default order of Array.prototype.sort on strings. There is no whitespace, arrays keep
 * their order, and strings and numbers are written as JSON.stringify writes them.
 * Throws a ValidationError (code `invalid_json_value`) naming the path for NaN, Infinity, undefined,
 * functions, symbols, bigints, array holes and objects other than plain objects and arrays (Date,
 * Buffer, Map), because JSON.stringify would change or drop them.
 */
export function canonicalJson(value: unknown): string {
    const out: string[] = [];
    write(value, '$', out);
    return out.join('');
}

function fail(path: string, description: string): never {
    throw new ValidationError('invalid_json_value', `Value at ${path} is ${description}, which JSON cannot represent exactly; replace it with a number, string, boolean, null, array or plain object.`, {
        field: path,
    });
}

function write(value: unknown, path: string, out: string[]): void {
    switch (typeof value) {
        case 'string':
            out.push(JSON.stringify(value));
            return;
        case 'boolean':
            out.push(value ? 'true' : 'false');
            return;
        case 'number':
            if (!Number.isFinite(value)) fail(path, String(value));
            out.push(JSON.stringify(value));
            return;
        case 'object':
            break;
        default:
            fail(path, typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`);
    }
    if (value === null) {
        out.push('null');
        return;
    }
    if (Array.isArray(value)) {
        out.push('[');
        for (let index = 0; index < value.length; index++) {
            if (index > 0) out.push(',');
            if (!(index in value)) fail(`${path}[${index}]`, 'an array hole');
            write(value[index], `${path}[${index}]`, out);
        }
        out.push(']');
        return;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) fail(path, `a ${prototype?.constructor?.name ?? 'non-plain'} object`);
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    out.push('{');
    keys.forEach((key, index) => {
        if (index > 0) out.push(',');
        out.push(JSON.stringify(key), ':');
        write(record[key], `${path}.${key}`, out);
    });
    out.push('}');
}
