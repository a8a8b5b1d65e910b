// Turns driver errors (SQLSTATE codes from PostgreSQL and PGlite, socket errors from pg) into
// ServiceErrors with a readable sentence, the raw code in the context and a retriable flag.
import { ServiceError, UpstreamError, toError } from '../errors';

/** The fields PostgreSQL sends with an error, as pg and PGlite expose them. */
export interface PgErrorFields {
    message: string;
    code?: string;
    detail?: string;
    hint?: string;
    table?: string;
    column?: string;
    constraint?: string;
}

/** Socket error codes of a lost or refused connection, where a later attempt can succeed. */
const RETRIABLE_SOCKET_CODES = new Set([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EAI_AGAIN',
]);

/** SQLSTATE codes outside the retriable classes below where a retry can succeed. */
const RETRIABLE_SQLSTATES = new Set([
    '40001', // serialization_failure
    '40P01', // deadlock_detected
    '55P03', // lock_not_available
    '57014', // query_canceled (statement timeout)
    '57P01', // admin_shutdown
    '57P02', // crash_shutdown
    '57P03', // cannot_connect_now (database starting up)
]);

/** Messages pg uses for a connection that closed or timed out, which carry no code. */
const RETRIABLE_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /connection timeout/i];

export function isRetriableDatabaseError(fields: PgErrorFields): boolean {
    const code = fields.code ?? '';
    if (RETRIABLE_SOCKET_CODES.has(code) || RETRIABLE_SQLSTATES.has(code)) return true;
    // Class 08 is connection exception, class 53 insufficient resources (disk full, too many connections).
    if (/^(08|53)/.test(code)) return true;
    return code === '' && RETRIABLE_MESSAGES.some((pattern) => pattern.test(fields.message));
}

function nextStep(fields: PgErrorFields, retriable: boolean): string {
    const code = fields.code ?? '';
    if (retriable) return 'Check that the database is running and reachable; the operation can be retried.';
    if (code.startsWith('23')) {
        const where = fields.constraint ? ` (constraint ${fields.constraint})` : '';
        return `The data violates a rule of the database schema${where}; correct the input.`;
    }
    if (code.startsWith('22')) return 'A value has the wrong format or is out of range; correct the input.';
    if (code.startsWith('28')) return 'Check the user name and password in the connection string.';
    if (code === '3D000') return 'Create the database or correct its name in the connection string.';
    if (code.startsWith('42')) {
        return 'The SQL does not match the database schema; check that every migration ran and that all '
            + 'runtimes sharing this database run the same version.';
    }
    return 'See the database log for details.';
}

/** Returns the SQLSTATE that databaseError recorded on an error, or undefined. */
export function sqlStateOf(error: unknown): string | undefined {
    const code = (error as { context?: { code?: unknown } } | undefined)?.context?.code;
    return typeof code === 'string' ? code : undefined;
}

/** Reads the PostgreSQL error fields from anything a driver throws. */
export function pgErrorFields(thrown: unknown): PgErrorFields {
    const error = toError(thrown) as Error & Partial<Record<keyof PgErrorFields, unknown>>;
    const text = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);
    return {
        message: error.message,
        code: text(error.code),
        detail: text(error.detail),
        hint: text(error.hint),
        table: text(error.table),
        column: text(error.column),
        constraint: text(error.constraint),
    };
}

/**
 * Wraps a driver error as a ServiceError that names the failed action (for example
 * "Database query"), the database's message and what to do next. UpstreamErrors pass through
 * unchanged.
 */
export function databaseError(thrown: unknown, action: string): UpstreamError {
    if (thrown instanceof UpstreamError) return thrown;
    const fields = pgErrorFields(thrown);
    const retriable = isRetriableDatabaseError(fields);
    const code = fields.code ? ` [${fields.code}]` : '';
    const detail = fields.detail ? ` ${fields.detail}` : '';
    const message = `${action} failed: ${fields.message}${code}.${detail} ${nextStep(fields, retriable)}`;
    return new ServiceError(message, {
        cause: thrown,
        retriable,
        badge: retriable ? 'database unavailable' : 'database error',
        context: {
            code: fields.code,
            table: fields.table,
            column: fields.column,
            constraint: fields.constraint,
        },
    });
}
