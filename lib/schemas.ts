// Validators for the JSON Schemas in schemas/. Each schema is compiled once, and ajv errors are
// turned into sentences that name the field and the offending value, ready for a Rejection reason.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv2020, { type AnySchemaObject, type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';

import { ConfigError, ValidationError } from './errors';
import { SCHEMAS_DIR } from './paths';
import { rememberLast } from './time';

/** Prefix of every schema `$id`. The schema with `$id` `<prefix><name>.json` is stored in `schemas/<name>.json`. */
export const SCHEMA_ID_PREFIX = 'https://upstream-live.invalid/schemas/';

/** One way in which a document does not match its schema. */
export interface SchemaProblem {
    /** Path of the offending field, for example `geometry.coordinates[0]`, or empty for the document itself. */
    field: string;
    /** The JSON Schema keyword that failed, for example `type`, `required`, `format`. */
    keyword: string;
    /** The offending value as received, or undefined for a missing field. */
    value: unknown;
    /** A sentence naming the field, the rule and the value. */
    message: string;
}

export interface SchemaValidator<T> {
    /** Schema name, the file name in schemas/ without `.json`. */
    readonly name: string;
    /** Returns every problem of `data`, or an empty array when it matches the schema. */
    check(data: unknown): SchemaProblem[];
    is(data: unknown): data is T;
    /**
     * Returns `data` typed when it matches, else throws a ValidationError whose message lists every
     * problem and whose field and value are those of the first problem.
     * The error code defaults to `invalid_<name>` with dashes turned into underscores.
     */
    assert(data: unknown, code?: string): T;
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** Readable descriptions of the formats that the schemas use. */
const FORMAT_DESCRIPTIONS: Record<string, string> = {
    'date-time': 'an RFC 3339 date-time with a UTC offset, for example 2017-03-20T14:31:44Z',
    date: 'a date in the form YYYY-MM-DD',
    time: 'a time with a UTC offset, for example 14:31:44Z',
    uuid: 'a UUID, for example 0b6f7c52-3c1e-4f6e-9d53-4a4f8c2b9e11',
    email: 'an email address',
    uri: 'an absolute URI',
};

const ARTICLES: Record<string, string> = {
    object: 'an object',
    array: 'an array',
    string: 'a string',
    number: 'a finite number',
    integer: 'an integer',
    boolean: 'a boolean',
    null: 'null',
};

type FormatDefinition = (typeof fullFormats)['date-time'];

/**
 * Wraps a string format check so that it remembers its last text and result, because readings of
 * one batch mostly share one timestamp and the full date-time check runs a regular expression
 * and a calendar check per call.
 */
function rememberingLast(format: FormatDefinition): FormatDefinition {
    if (typeof format !== 'object' || format === null || !('validate' in format) || typeof format.validate !== 'function') return format;
    return { ...format, validate: rememberLast(format.validate as (text: string) => boolean) } as FormatDefinition;
}

class SchemaRegistry {
    private readonly ajv: Ajv2020;
    private readonly added = new Set<string>();
    private readonly validators = new Map<string, SchemaValidator<unknown>>();

    constructor(private readonly dir: string) {
        // strictSchema catches misspelt keywords and strictTuples incomplete tuples. strictTypes
        // stays off because if/then branches legitimately use `properties` without `type`.
        this.ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictTypes: false, strictRequired: false });
        addFormats(this.ajv);
        this.ajv.addFormat('date-time', rememberingLast(fullFormats['date-time']));
    }

    validator<T>(name: string): SchemaValidator<T> {
        const cached = this.validators.get(name);
        if (cached) return cached as SchemaValidator<T>;

        this.addWithReferences(name);
        const validate = this.ajv.getSchema(schemaId(name));
        if (!validate) {
            throw new ConfigError(`Schema '${name}' could not be compiled; check schemas/${name}.json.`, {
                context: { schema: name },
            });
        }
        const schemaTitle = typeof validate.schema === 'object' ? validate.schema.title : undefined;
        const title = typeof schemaTitle === 'string' ? schemaTitle : name;

        const check = (data: unknown): SchemaProblem[] => {
            if (validate(data)) return [];
            return toProblems(validate.errors ?? [], title);
        };
        const created: SchemaValidator<T> = {
            name,
            check,
            is: (data: unknown): data is T => validate(data) === true,
            assert: (data: unknown, code = `invalid_${name.replace(/-/g, '_')}`): T => {
                const problems = check(data);
                if (problems.length === 0) return data as T;
                throw new ValidationError(code, problems.map((p) => p.message).join(' '), {
                    field: problems[0].field || undefined,
                    value: problems[0].value,
                    badge: 'invalid',
                });
            },
        };
        this.validators.set(name, created as SchemaValidator<unknown>);
        return created;
    }

    /** Adds a schema and, recursively, every schema of this folder that it references by `$id`. */
    private addWithReferences(name: string): void {
        if (this.added.has(name)) return;
        const schema = this.readSchema(name);
        this.added.add(name);
        for (const referenced of referencedSchemaNames(schema)) this.addWithReferences(referenced);
        try {
            this.ajv.addSchema(schema);
        } catch (err) {
            this.added.delete(name);
            throw new ConfigError(`Schema file ${name}.json is not a valid JSON Schema: ${(err as Error).message}`, {
                cause: err,
                context: { schema: name },
            });
        }
    }

    private readSchema(name: string): AnySchemaObject {
        if (!NAME_PATTERN.test(name)) {
            throw new ConfigError(
                `Schema name '${name}' is invalid; use the file name in schemas/ without .json, such as 'telemetry'.`,
            );
        }
        const path = join(this.dir, `${name}.json`);
        let schema: AnySchemaObject;
        try {
            schema = JSON.parse(readFileSync(path, 'utf8')) as AnySchemaObject;
        } catch (err) {
            throw new ConfigError(`Schema file ${path} could not be read: ${(err as Error).message}`, {
                cause: err,
                context: { schema: name },
            });
        }
        if (schema.$id !== schemaId(name)) {
            throw new ConfigError(`Schema file ${path} has $id ${JSON.stringify(schema.$id)}; set it to ${schemaId(name)}.`, {
                context: { schema: name },
            });
        }
        return schema;
    }
}

function schemaId(name: string): string {
    return `${SCHEMA_ID_PREFIX}${name}.json`;
}

/** Names of the project schemas that `schema` references through `$ref`. */
function referencedSchemaNames(schema: unknown, found = new Set<string>()): Set<string> {
    if (Array.isArray(schema)) {
        for (const item of schema) referencedSchemaNames(item, found);
    } else if (schema !== null && typeof schema === 'object') {
        for (const [key, item] of Object.entries(schema)) {
            if (key === '$ref' && typeof item === 'string' && item.startsWith(SCHEMA_ID_PREFIX)) {
                const match = /^([a-z0-9-]+)\.json/.exec(item.slice(SCHEMA_ID_PREFIX.length));
                if (match) found.add(match[1]);
            } else {
                referencedSchemaNames(item, found);
            }
        }
    }
    return found;
}

/** Turns a JSON Pointer such as `/geometry/coordinates/0` into `geometry.coordinates[0]`. */
export function fieldPath(instancePath: string): string {
    if (!instancePath) return '';
    let path = '';
    for (const raw of instancePath.slice(1).split('/')) {
        const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
        if (/^\d+$/.test(segment)) path += `[${segment}]`;
        else path += path ? `.${segment}` : segment;
    }
    return path;
}

/** Renders a received value for a message: JSON, cut to 80 characters. */
export function describeValue(value: unknown): string {
    if (value === undefined) return 'undefined';
    if (typeof value === 'number') return String(value);
    let text: string;
    try {
        text = JSON.stringify(value) ?? String(value);
    } catch {
        // Circular structures and BigInt cannot be serialized, but their String form still names them.
        text = String(value);
    }
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function typeOf(value: unknown): string {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'array';
    if (typeof value === 'number' && !Number.isFinite(value)) return 'non-finite number';
    return typeof value;
}

/** Describes a received value with its type, for example `the string "12.3"`. */
function describeReceived(value: unknown): string {
    if (value === null) return 'null';
    return `the ${typeOf(value)} ${describeValue(value)}`;
}

function childPath(parent: string, child: string): string {
    return parent ? `${parent}.${child}` : child;
}

function toProblems(errors: ErrorObject[], title: string): SchemaProblem[] {
    const problems: SchemaProblem[] = [];
    for (const error of errors) {
        // An `if` error only repeats that a `then` branch failed; the branch's own errors follow.
        if (error.keyword === 'if') continue;
        problems.push(toProblem(error, title));
    }
    return problems;
}

function toProblem(error: ErrorObject, title: string): SchemaProblem {
    const path = fieldPath(error.instancePath);
    const subject = path ? `Field '${path}'` : title;
    const params = error.params as Record<string, unknown>;
    const value: unknown = error.data;
    const received = `, but is ${describeReceived(value)}`;

    switch (error.keyword) {
        case 'required': {
            const field = childPath(path, String(params.missingProperty));
            return { field, keyword: 'required', value: undefined, message: `Field '${field}' is missing.` };
        }
        case 'additionalProperties': {
            const field = childPath(path, String(params.additionalProperty));
            const extra = (value as Record<string, unknown>)[String(params.additionalProperty)];
            return {
                field,
                keyword: 'additionalProperties',
                value: extra,
                message: `Field '${field}' is not allowed in ${title.toLowerCase()} (value ${describeValue(extra)}); remove it.`,
            };
        }
        case 'type': {
            const types = (Array.isArray(params.type) ? params.type : [params.type]) as string[];
            const expected = types.map((t) => ARTICLES[t] ?? t).join(' or ');
            return { field: path, keyword: 'type', value, message: `${subject} must be ${expected}${received}.` };
        }
        case 'enum': {
            const allowed = (params.allowedValues as unknown[]).map((v) => describeValue(v)).join(', ');
            return { field: path, keyword: 'enum', value, message: `${subject} must be one of ${allowed}${received}.` };
        }
        case 'const':
            return {
                field: path,
                keyword: 'const',
                value,
                message: `${subject} must be ${describeValue(params.allowedValue)}${received}.`,
            };
        case 'format': {
            const format = String(params.format);
            const expected = FORMAT_DESCRIPTIONS[format] ?? `in the format ${format}`;
            return { field: path, keyword: 'format', value, message: `${subject} must be ${expected}${received}.` };
        }
        case 'pattern':
            return {
                field: path,
                keyword: 'pattern',
                value,
                message: `${subject} must match the pattern ${String(params.pattern)}${received}.`,
            };
        case 'minLength':
            if (params.limit === 1) return { field: path, keyword: 'minLength', value, message: `${subject} must not be empty.` };
            break;
        default:
            break;
    }
    return { field: path, keyword: error.keyword, value, message: `${subject} ${error.message ?? 'is invalid'}${received}.` };
}

let defaultRegistry: SchemaRegistry | undefined;

/**
 * Returns the validator of `schemas/<name>.json`, compiling it (and the project schemas it
 * references) on first use. Throws a ConfigError when the file is missing or not a valid schema.
 */
export function compileSchema<T>(name: string): SchemaValidator<T> {
    defaultRegistry ??= new SchemaRegistry(SCHEMAS_DIR);
    return defaultRegistry.validator<T>(name);
}
