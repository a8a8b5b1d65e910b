// One error hierarchy for the whole product. Each error records whether a retry can help,
// keeps its cause, and carries a short badge text for the node status next to the log message.

export interface UpstreamErrorOptions {
    cause?: unknown;
    /** Whether retrying the same operation later can succeed (a lost connection, a busy database). */
    retriable?: boolean;
    /** Short text for a Node-RED status badge; defaults to the error name. */
    badge?: string;
    /** Ids and values that locate the failure: node id, asset, topic, table, file and row. */
    context?: Record<string, unknown>;
}

export class UpstreamError extends Error {
    readonly retriable: boolean;
    readonly badge: string;
    readonly context: Record<string, unknown>;

    constructor(message: string, options: UpstreamErrorOptions = {}) {
        super(message, options.cause === undefined ? undefined : { cause: options.cause });
        this.name = new.target.name;
        this.retriable = options.retriable ?? false;
        this.badge = options.badge ?? this.name;
        this.context = options.context ?? {};
    }
}

/** Invalid node or runtime configuration; reported once at deploy or start-up. */
export class ConfigError extends UpstreamError {}

/** Input that fails validation; the input goes to the quarantine with this message as its reason. */
export class ValidationError extends UpstreamError {
    readonly code: string;
    readonly field?: string;
    readonly value?: unknown;

    constructor(code: string, message: string, details: { field?: string; value?: unknown } & UpstreamErrorOptions = {}) {
        super(message, details);
        this.code = code;
        this.field = details.field;
        this.value = details.value;
    }
}

/** A database, broker or mail server failed or could not be reached. */
export class ServiceError extends UpstreamError {}

/** Converts anything thrown into an Error, so callers can rely on `message` and `stack`. */
export function toError(thrown: unknown): Error {
    if (thrown instanceof Error) return thrown;
    return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}
