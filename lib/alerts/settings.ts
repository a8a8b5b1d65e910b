// Reads the alert router's node configuration into mail, channel and lifecycle settings; invalid
// values raise a ConfigError that names the field and the fix. Channel URLs and the base URL may
// reference environment variables as ${NAME}, so that webhook secrets stay out of the flow file.
import { isAbsolute, join } from 'node:path';

import { ConfigError } from '../errors';
import { parseDuration } from '../rules/duration';
import type { EscalationStep } from '../rules/types';
import type { Severity } from '../types';
import type { ChannelSettings } from './channels';
import { parseEscalationText } from './escalation';
import { DEFAULT_GROUP_WINDOW_MS } from './grouping';
import type { MailSettings } from './mailer';
import { DEFAULT_BASE_URL } from './notifier';
import { DEFAULT_REMINDERS, parseReminderInterval, type ReminderIntervals } from './reminders';

export interface RawRouterConfig {
    to?: unknown;
    from?: unknown;
    smtpHost?: unknown;
    smtpPort?: unknown;
    smtpSecure?: unknown;
    outboxDir?: unknown;
    severities?: unknown;
    retryDelayMs?: unknown;
    teamsUrl?: unknown;
    slackUrl?: unknown;
    smsUrl?: unknown;
    smsTo?: unknown;
    /** Severities posted to Teams and Slack. */
    webhookSeverities?: unknown;
    smsSeverities?: unknown;
    baseUrl?: unknown;
    /** Group window, a duration such as 30s; 0s sends every notification alone. */
    groupWindow?: unknown;
    reminderP1?: unknown;
    reminderP2?: unknown;
    reminderP3?: unknown;
    /** Default escalation policy, such as `15m P2, 30m P1`. */
    escalation?: unknown;
    /** Rules file whose rules' escalation policies apply to their alerts. */
    rulesFile?: unknown;
    /** Interval of the periodic sweep, a duration such as 10s. */
    sweepInterval?: unknown;
}

export interface LifecycleSettings {
    groupWindowMs: number;
    reminders: ReminderIntervals;
    defaultEscalation: EscalationStep[];
    /** Rules file as configured, not resolved; empty for none. */
    rulesFile: string;
    sweepIntervalMs: number;
}

export interface RouterSettings {
    mail: MailSettings;
    emailSeverities: Severity[];
    retryDelayMs: number;
    channels: ChannelSettings[];
    baseUrl: string;
    lifecycle: LifecycleSettings;
}

/** Maximum group window, because the window delays every notification, a P1 included. */
export const MAX_GROUP_WINDOW_MS = 10 * 60_000;
export const DEFAULT_SWEEP_INTERVAL_MS = 10_000;
const SWEEP_INTERVAL_RANGE = { min: 100, max: 10 * 60_000 };

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

/** Replaces each ${NAME} in `value` with the environment variable NAME; `label` names the field in errors. */
export function expandEnv(value: string, label: string, env: NodeJS.ProcessEnv = process.env): string {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_whole, name: string) => {
        const found = env[name];
        if (found === undefined || found === '') {
            throw new ConfigError(`${label} uses \${${name}}, but the environment variable ${name} is not set; set it before starting Node-RED or enter the value directly.`);
        }
        return found;
    });
}

/** Expands and checks an http(s) URL field; returns '' for an empty field. */
function urlField(value: unknown, label: string, env: NodeJS.ProcessEnv): string {
    const raw = text(value);
    if (raw === '') return '';
    const url = expandEnv(raw, label, env);
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new ConfigError(`${label} '${raw}' is not a URL; enter an http(s) address or \${NAME} of an environment variable holding one.`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new ConfigError(`${label} '${raw}' is not an http(s) URL; enter an address starting with https://.`);
    }
    return url;
}

function severityList(value: unknown, fallback: string, label: string): Severity[] {
    const severities = value === undefined ? fallback.split(',') : list(value);
    for (const severity of severities) {
        if (!SEVERITIES.includes(severity as Severity)) {
            throw new ConfigError(`${label} lists '${severity}', which is not P1, P2 or P3; enter a list such as P1,P2.`);
        }
    }
    return severities as Severity[];
}

/** Parses the Teams, Slack and SMS settings and the base URL of acknowledge links. */
export function parseChannelSettings(config: RawRouterConfig, env: NodeJS.ProcessEnv = process.env): { channels: ChannelSettings[]; baseUrl: string } {
    const webhookSeverities = severityList(config.webhookSeverities, 'P1,P2', 'Teams and Slack severities');
    const smsSeverities = severityList(config.smsSeverities, 'P1', 'SMS severities');
    const channels: ChannelSettings[] = [];
    const teams = urlField(config.teamsUrl, 'Teams webhook URL', env);
    if (teams) channels.push({ kind: 'teams', name: 'teams', url: teams, severities: webhookSeverities });
    const slack = urlField(config.slackUrl, 'Slack webhook URL', env);
    if (slack) channels.push({ kind: 'slack', name: 'slack', url: slack, severities: webhookSeverities });
    const sms = urlField(config.smsUrl, 'SMS gateway URL', env);
    const to = list(text(config.smsTo) === '' ? '' : expandEnv(text(config.smsTo), 'SMS recipients', env));
    if (sms) {
        if (to.length === 0) throw new ConfigError('The SMS gateway URL is set but no recipients are; enter phone numbers in SMS to, separated by commas.');
        channels.push({ kind: 'sms', name: 'sms', url: sms, severities: smsSeverities, to });
    }
    const baseUrl = (urlField(config.baseUrl, 'Base URL', env) || DEFAULT_BASE_URL).replace(/\/+$/, '');
    return { channels, baseUrl };
}

/** Parses a duration field in [min, max] milliseconds; empty text gives `fallback`. */
function durationField(value: unknown, label: string, fallback: number, range: { min: number; max: number }, example: string): number {
    const raw = text(value);
    if (raw === '') return fallback;
    const ms = parseDuration(raw);
    if (ms === undefined || ms < range.min || ms > range.max) {
        throw new ConfigError(`${label} '${raw}' is not a duration from ${range.min === 0 ? '0s' : `${range.min}ms`} to ${range.max / 60_000}m; enter one such as ${example}.`);
    }
    return ms;
}

/** Parses the group window, reminder intervals, default escalation policy, rules file and sweep interval. */
export function parseLifecycleSettings(config: RawRouterConfig): LifecycleSettings {
    const reminders: ReminderIntervals = {};
    for (const severity of SEVERITIES) {
        const interval = parseReminderInterval(config[`reminder${severity}`], severity, DEFAULT_REMINDERS[severity]);
        if (interval !== undefined) reminders[severity] = interval;
    }
    return {
        groupWindowMs: durationField(config.groupWindow, 'Group window', DEFAULT_GROUP_WINDOW_MS, { min: 0, max: MAX_GROUP_WINDOW_MS }, '30s, or 0s to send each alert alone'),
        reminders,
        defaultEscalation: parseEscalationText(text(config.escalation), 'Default escalation'),
        rulesFile: text(config.rulesFile),
        sweepIntervalMs: durationField(config.sweepInterval, 'Check interval', DEFAULT_SWEEP_INTERVAL_MS, SWEEP_INTERVAL_RANGE, '10s'),
    };
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
        ...parseChannelSettings(config),
        lifecycle: parseLifecycleSettings(config),
    };
}
