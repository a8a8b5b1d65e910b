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
    const path: (string | number)[] = [];
    return write(value, path);
}

function fail(path: readonly (string | number)[], description: string): never {
    // The path text is built only on failure, so valid values allocate no path strings.
    const where = '$' + path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
    throw new ValidationError('invalid_json_value', `Value at ${where} is ${description}, which JSON cannot represent exactly; replace it with a number, string, boolean, null, array or plain object.`, {
        field: where,
    });
}

function write(value: unknown, path: (string | number)[]): string {
    switch (typeof value) {
        case 'string':
            return JSON.stringify(value);
        case 'boolean':
            return value ? 'true' : 'false';
        case 'number':
            if (!Number.isFinite(value)) fail(path, String(value));
            return JSON.stringify(value);
        case 'object':
            break;
        default:
            fail(path, typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`);
    }
    if (value === null) return 'null';
    if (Array.isArray(value)) {
        let out = '[';
        for (let index = 0; index < value.length; index++) {
            if (!(index in value)) {
                path.push(index);
                fail(path, 'an array hole');
            }
            path.push(index);
            out += (index > 0 ? ',' : '') + write(value[index], path);
            path.pop();
        }
        return out + ']';
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) fail(path, `a ${prototype?.constructor?.name ?? 'non-plain'} object`);
    const record = value as Record<string, unknown>;
    const layout = layoutOf(Object.keys(record));
    let out = '{';
    for (let index = 0; index < layout.keys.length; index++) {
        const key = layout.keys[index];
        path.push(key);
        out += layout.prefixes[index] + write(record[key], path);
        path.pop();
    }
    return out + '}';
}

/** Sorted keys of an object and the text before each value: a comma after the first, the quoted key and a colon. */
interface Layout {
    keys: string[];
    prefixes: string[];
}

/**
 * Layouts by the first key of an object in insertion order, for the last set of keys seen with
 * that first key. The readings of an envelope share their keys, so sorting and quoting them is
 * done once per envelope instead of once per reading.
 */
const layouts = new Map<string, { insertion: string[]; layout: Layout }>();
const MAX_LAYOUTS = 64;

function layoutOf(insertion: string[]): Layout {
    const first = insertion[0] ?? '';
    const known = layouts.get(first);
    if (known && sameKeys(known.insertion, insertion)) return known.layout;
    const keys = [...insertion].sort();
    const layout = { keys, prefixes: keys.map((key, index) => (index > 0 ? ',' : '') + JSON.stringify(key) + ':') };
    if (!known && layouts.size >= MAX_LAYOUTS) layouts.clear();
    layouts.set(first, { insertion, layout });
    return layout;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
    if (a.length !== b.length) return false;
    for (let index = 0; index < a.length; index++) {
        if (a[index] !== b[index]) return false;
    }
    return true;
}
