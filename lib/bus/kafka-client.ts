// The kafkajs client of a Kafka bus: brokers, TLS files, SASL account, and kafkajs's own log lines
// passed on to the bus logger with repeats limited.
import { readFileSync } from 'node:fs';

import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';

import { ConfigError } from '../errors';
import type { KafkaSettings } from './settings';

export interface BusLogger {
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
    debug(message: string): void;
}

/** Passes each of the last 500 distinct messages on at most once per interval, and counts the repeats it suppressed. */
export class RepeatLimiter {
    private readonly intervalMs: number;
    private readonly last = new Map<string, { at: number; held: number }>();

    constructor(intervalMs = 60_000) {
        this.intervalMs = intervalMs;
    }

    /** Returns the text to log (with the number of repeats suppressed), or undefined to stay silent. */
    admit(message: string, now = Date.now()): string | undefined {
        const seen = this.last.get(message);
        if (seen && now - seen.at < this.intervalMs) {
            seen.held += 1;
            return undefined;
        }
        this.last.set(message, { at: now, held: 0 });
        if (this.last.size > 500) this.last.delete(this.last.keys().next().value as string);
        return seen && seen.held > 0 ? `${message} (repeated ${seen.held} times)` : message;
    }
}

function readPem(path: string, label: string): string {
    try {
        return readFileSync(path, 'utf8');
    } catch (error) {
        throw new ConfigError(`TLS ${label} file '${path}' cannot be read (${(error as Error).message}); check the path in the bus settings.`, { cause: error });
    }
}

/** Creates the kafkajs client; throws ConfigError when a TLS file cannot be read. */
export function createKafkaClient(settings: KafkaSettings, logger: BusLogger): Kafka {
    const limiter = new RepeatLimiter();
    const ssl = settings.tls
        ? {
              rejectUnauthorized: true,
              ...(settings.tls.caFile ? { ca: [readPem(settings.tls.caFile, 'CA certificate')] } : {}),
              ...(settings.tls.certFile ? { cert: readPem(settings.tls.certFile, 'client certificate') } : {}),
              ...(settings.tls.keyFile ? { key: readPem(settings.tls.keyFile, 'client key') } : {}),
          }
        : undefined;

    return new Kafka({
        clientId: settings.clientId,
        brokers: settings.brokers,
        ...(ssl ? { ssl } : {}),
        ...(settings.sasl ? { sasl: settings.sasl as SASLOptions } : {}),
        connectionTimeout: 5_000,
        requestTimeout: 30_000,
        retry: { initialRetryTime: 300, maxRetryTime: 30_000, retries: 8 },
        logLevel: logLevel.WARN,
        // kafkajs logs every failed connection attempt; the bus logs connects, crashes and
        // rebalances itself, so kafkajs's lines are passed on with repeats limited.
        logCreator: () => (entry: LogEntry) => {
            const detail = typeof entry.log.error === 'string' ? `: ${entry.log.error}` : '';
            const text = limiter.admit(`kafkajs ${entry.namespace}: ${entry.log.message}${detail}`);
            if (text === undefined) return;
            if (entry.level === logLevel.ERROR || entry.level === logLevel.WARN) logger.warn(text);
            else logger.debug(text);
        },
    });
}
