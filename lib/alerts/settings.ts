// Reads the alert router's node configuration into mail settings; invalid values raise a
// ConfigError that names the field and the fix.
import { isAbsolute, join } from 'node:path';

import { ConfigError } from '../errors';
import type { Severity } from '../types';
import type { MailSettings } from './mailer';

export interface RawRouterConfig {
    to?: unknown;
    from?: unknown;
    smtpHost?: unknown;
    smtpPort?: unknown;
    smtpSecure?: unknown;
    outboxDir?: unknown;
    severities?: unknown;
    retryDelayMs?: unknown;
}

export interface RouterSettings {
    mail: MailSettings;
    emailSeverities: Severity[];
    retryDelayMs: number;
}

const SEVERITIES: Severity[] = ['P1', 'P2', 'P3'];
export const DEFAULT_FROM = 'upstream-live@localhost';
export const DEFAULT_OUTBOX = 'outbox';

function text(value: unknown): string {
    if (value === undefined || value === null) return '';
    return String(value).trim();
}

function list(value: unknown): string[] {
    return text(value)
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
}

/** Parses the configuration; `dataDir` is the folder that a relative outbox folder is taken from. */
export function parseRouterSettings(config: RawRouterConfig, credentials: { user?: string; password?: string }, dataDir: string): RouterSettings {
    const severities = config.severities === undefined ? ['P1', 'P2'] : list(config.severities);
    for (const severity of severities) {
        if (!SEVERITIES.includes(severity as Severity)) {
            throw new ConfigError(`Email severities list '${severity}', which is not P1, P2 or P3; enter a list such as P1,P2.`);
        }
    }

    const to = list(config.to);
    const from = text(config.from) || DEFAULT_FROM;
    const host = text(config.smtpHost);
    const secure = config.smtpSecure === true || config.smtpSecure === 'true';
    let smtp: MailSettings['smtp'];
    if (host) {
        const portText = text(config.smtpPort);
        const defaultPort = secure ? 465 : 587;
        const port = portText === '' ? defaultPort : Number(portText);
        if (!Number.isInteger(port) || port < 1 || port > 65_535) {
            throw new ConfigError(`SMTP port '${portText}' is not a port number; enter a whole number from 1 to 65535, such as 587.`);
        }
        if (to.length === 0) {
            throw new ConfigError(`No recipients are set for the mail server ${host}; enter one or more addresses in To, separated by commas.`);
        }
        smtp = { host, port, secure, ...(credentials.user ? { user: credentials.user, password: credentials.password ?? '' } : {}) };
    }

    const outbox = text(config.outboxDir) || DEFAULT_OUTBOX;
    const retryText = text(config.retryDelayMs);
    const retryDelayMs = retryText === '' ? 1_000 : Number(retryText);
    if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) {
        throw new ConfigError(`Retry delay '${retryText}' is not a number of milliseconds; enter a value such as 1000.`);
    }

    return {
        mail: { to, from, ...(smtp ? { smtp } : {}), outboxDir: isAbsolute(outbox) ? outbox : join(dataDir, outbox) },
        emailSeverities: severities as Severity[],
        retryDelayMs,
    };
}
