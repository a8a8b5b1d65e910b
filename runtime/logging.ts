// Structured logging shared by the supervisor, both Node-RED runtimes and the API, so that edge
// and cloud logs have one format. JSON lines by default; a compact human format on a terminal or
// with UL_LOG_FORMAT=pretty.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

const LEVEL_RANK: Record<LogLevel, number> = { fatal: 10, error: 20, warn: 30, info: 40, debug: 50, trace: 60 };
const RANK_LEVEL = new Map<number, LogLevel>(Object.entries(LEVEL_RANK).map(([name, rank]) => [rank, name as LogLevel]));

export interface Logger {
    log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
    error(message: string, fields?: Record<string, unknown>): void;
    warn(message: string, fields?: Record<string, unknown>): void;
    info(message: string, fields?: Record<string, unknown>): void;
    debug(message: string, fields?: Record<string, unknown>): void;
    child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
    /** Lowest level written; default from UL_LOG_LEVEL, else info. */
    level?: LogLevel;
    /** Output format; default from UL_LOG_FORMAT, else pretty on a terminal and json otherwise. */
    format?: 'json' | 'pretty';
    write?: (line: string) => void;
}

function parseLevel(value: string | undefined): LogLevel | undefined {
    return value && value in LEVEL_RANK ? (value as LogLevel) : undefined;
}

function serialiseError(value: unknown): unknown {
    if (value instanceof Error) {
        return { name: value.name, message: value.message, stack: value.stack, cause: value.cause === undefined ? undefined : serialiseError(value.cause) };
    }
    return value;
}

export function createLogger(base: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
    const threshold = LEVEL_RANK[options.level ?? parseLevel(process.env.UL_LOG_LEVEL) ?? 'info'];
    const envFormat = process.env.UL_LOG_FORMAT;
    let format = options.format;
    if (!format && (envFormat === 'json' || envFormat === 'pretty')) format = envFormat;
    if (!format) format = process.stdout.isTTY ? 'pretty' : 'json';
    const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));

    const log = (level: LogLevel, message: string, fields: Record<string, unknown> = {}): void => {
        if (LEVEL_RANK[level] > threshold) return;
        const record: Record<string, unknown> = { time: new Date().toISOString(), level, ...base, msg: message };
        for (const [key, value] of Object.entries(fields)) {
            if (value !== undefined) record[key] = serialiseError(value);
        }
        if (format === 'json') {
            write(JSON.stringify(record));
            return;
        }
        const { time, level: _level, msg, role, ...rest } = record;
        const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
        write(`${String(time).slice(11, 23)} ${level.padEnd(5)} ${role ? `[${role}] ` : ''}${msg}${extra}`);
    };

    return {
        log,
        error: (message, fields) => log('error', message, fields),
        warn: (message, fields) => log('warn', message, fields),
        info: (message, fields) => log('info', message, fields),
        debug: (message, fields) => log('debug', message, fields),
        child: (fields) => createLogger({ ...base, ...fields }, options),
    };
}

/** Node-RED's level number of audit entries (@node-red/util log.AUDIT). */
const NODE_RED_AUDIT_LEVEL = 98;

export interface NodeRedLogMessage {
    level: number;
    /** Audit entries: the event name, such as `flows.set`, and the user behind the request. */
    event?: string;
    user?: { username?: string };
    msg: unknown;
    /** Node type for node log lines; deployment type for a `flows.set` audit entry. */
    type?: string;
    id?: string;
    name?: string;
    z?: string;
}

/**
 * Builds a Node-RED `settings.logging` entry that sends Node-RED's own log lines (start-up, node
 * errors, warnings) through the same logger, and its audit entries (editor logins, deploys) to
 * `onAudit` when given.
 */
export function nodeRedLogging(logger: Logger, onAudit?: (entry: NodeRedLogMessage) => void, level: LogLevel = parseLevel(process.env.UL_LOG_LEVEL) ?? 'info') {
    return {
        upstreamLive: {
            level,
            metrics: false,
            audit: onAudit !== undefined,
            handler: () => (entry: NodeRedLogMessage) => {
                if (entry.level === NODE_RED_AUDIT_LEVEL) {
                    onAudit?.(entry);
                    return;
                }
                const name = RANK_LEVEL.get(entry.level) ?? 'info';
                let message: string;
                if (entry.msg instanceof Error) message = entry.msg.message;
                else if (typeof entry.msg === 'string') message = entry.msg;
                else message = JSON.stringify(entry.msg);
                logger.log(name, message, { node_type: entry.type, node_id: entry.id, node_name: entry.name, flow_id: entry.z });
            },
        },
    };
}
