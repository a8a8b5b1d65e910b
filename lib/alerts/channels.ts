// Alert channels besides email: Microsoft Teams and Slack incoming webhooks and an SMS gateway,
// each reached with an HTTP POST of JSON. A delivery that keeps failing after its retries becomes a
// dead-letter row in the quarantine, so it shows in GET /v1/quarantine.
import type { Store } from '../store/types';
import type { AlertEvent, Rejection, Severity } from '../types';
import { alertSubject, followUpLine } from './email';
import {
    describeNotification,
    groupTitle,
    itemsOfSeverities,
    kindLabel,
    notificationRef,
    notificationSeverity,
    type Notification,
    type NotificationItem,
} from './notification';
import { retry, type RetryOptions } from './retry';

export type ChannelKind = 'teams' | 'slack' | 'sms';

export interface ChannelSettings {
    kind: ChannelKind;
    /** Name in dead-letter rows and logs: `alert-channel:<name>`. */
    name: string;
    /** Webhook or gateway URL, with any `${ENV}` reference already expanded. */
    url: string;
    /** Severities the channel carries. */
    severities: Severity[];
    /** Phone numbers of an SMS channel; one POST per number. */
    to?: string[];
}

/** Facts of an event that every channel message contains. */
export interface AlertSummary {
    title: string;
    severity: Severity;
    state: AlertEvent['state'];
    asset: string;
    rule: string;
    message: string;
    /** Evidence as `key=value` pairs, shortened to about 300 characters; empty for a group. */
    evidence: string;
    /** Runbook link: the rule's URL, or its repository path under the base URL; empty for none. */
    runbook: string;
    /** `{baseUrl}/v1/alerts/{event_id}/ack`; empty for a group, whose message lists each alert's link. */
    ack: string;
}

const EVIDENCE_LIMIT = 300;

function formatValue(value: unknown): string {
    if (typeof value === 'number') return String(Number(value.toFixed(4)));
    if (typeof value === 'string') return value;
    return JSON.stringify(value);
}

/** Evidence as `key=value, ...`, cut at about 300 characters. */
export function evidenceSummary(evidence: Record<string, unknown>): string {
    const text = Object.entries(evidence)
        .map(([key, value]) => `${key}=${formatValue(value)}`)
        .join(', ');
    return text.length > EVIDENCE_LIMIT ? `${text.slice(0, EVIDENCE_LIMIT - 3)}...` : text;
}

/** Builds the summary of an event; `baseUrl` is the public address of the API, without a trailing slash. */
export function alertSummary(event: AlertEvent, baseUrl: string): AlertSummary {
    const base = baseUrl.replace(/\/+$/, '');
    const runbook = event.runbook ?? '';
    const resolved = event.state === 'resolved';
    return {
        title: `[${event.severity}${resolved ? ' resolved' : ''}] ${event.rule_id} on ${event.asset_id}`,
        severity: event.severity,
        state: event.state,
        asset: event.asset_id,
        rule: event.rule_id,
        message: event.message,
        evidence: evidenceSummary(event.evidence),
        runbook: runbook === '' || /^https?:\/\//.test(runbook) ? runbook : `${base}/${runbook.replace(/^\/+/, '')}`,
        ack: `${base}/v1/alerts/${encodeURIComponent(event.event_id)}/ack`,
    };
}

/** Alerts a group summary lists before it cuts the list short, so that Slack and Teams accept the message. */
const GROUP_LIST_LIMIT = 20;

function itemLine(item: NotificationItem, base: string): string {
    const { event } = item;
    const ack = event.state === 'resolved' ? '' : ` Acknowledge: ${base}/v1/alerts/${encodeURIComponent(event.event_id)}/ack`;
    return `[${event.severity} ${kindLabel(item)}] ${event.rule_id} on ${event.asset_id}: ${event.message}${ack}`;
}

/** Lists distinct values, cut after `limit` with a count of the rest. */
function listed(values: string[], limit = 5): string {
    const distinct = [...new Set(values)];
    return distinct.length > limit ? `${distinct.slice(0, limit).join(', ')} and ${distinct.length - limit} more` : distinct.join(', ');
}

/**
 * Builds the summary of a notification. For one item it is the summary of its alert, with the
 * escalation or reminder in the title. For several it has a title such as
 * `[P1] 3 alerts on VOLVE` and one line per alert with its acknowledge link.
 */
export function notificationSummary(notification: Notification, baseUrl: string): AlertSummary {
    const base = baseUrl.replace(/\/+$/, '');
    if (notification.items.length === 1) {
        const [item] = notification.items;
        const summary = alertSummary(item.event, base);
        if (item.kind !== 'escalated' && item.kind !== 'reminder') return summary;
        const followUp = { kind: item.kind, previousSeverity: item.previousSeverity, at: notification.at };
        const intro = followUpLine(item.event, followUp);
        return { ...summary, title: alertSubject(item.event, followUp), message: intro ? `${intro} ${summary.message}` : summary.message };
    }
    const { items } = notification;
    const lines = items.slice(0, GROUP_LIST_LIMIT).map((item) => itemLine(item, base));
    if (items.length > GROUP_LIST_LIMIT) lines.push(`... and ${items.length - GROUP_LIST_LIMIT} more alerts; GET ${base}/v1/events lists them.`);
    return {
        title: groupTitle(notification),
        severity: notificationSeverity(notification),
        state: items.some((item) => item.event.state === 'open') ? 'open' : items.every((item) => item.event.state === 'resolved') ? 'resolved' : 'acknowledged',
        asset: listed(items.map((item) => item.event.asset_id)),
        rule: listed(items.map((item) => item.event.rule_id)),
        message: lines.join('\n'),
        evidence: '',
        runbook: '',
        ack: '',
    };
}

/** Plain text of the summary, for SMS and as the fallback text of the webhooks. */
export function summaryText(summary: AlertSummary): string {
    return [
        `${summary.title}: ${summary.message}`,
        ...(summary.evidence ? [`Evidence: ${summary.evidence}`] : []),
        ...(summary.runbook ? [`Runbook: ${summary.runbook}`] : []),
        ...(summary.ack ? [`Acknowledge: ${summary.ack}`] : []),
    ].join('\n');
}

/** Slack incoming-webhook body: fallback text, a section with the facts and two link buttons. */
export function slackBody(summary: AlertSummary): Record<string, unknown> {
    const facts = [
        `*Severity:* ${summary.severity}`,
        `*State:* ${summary.state}`,
        `*Asset:* ${summary.asset}`,
        `*Rule:* ${summary.rule}`,
    ];
    const buttons = [
        ...(summary.ack ? [{ type: 'button', text: { type: 'plain_text', text: 'Acknowledge' }, url: summary.ack }] : []),
        ...(summary.runbook ? [{ type: 'button', text: { type: 'plain_text', text: 'Runbook' }, url: summary.runbook }] : []),
    ];
    return {
        text: summaryText(summary),
        blocks: [
            { type: 'header', text: { type: 'plain_text', text: summary.title } },
            { type: 'section', text: { type: 'mrkdwn', text: summary.message }, fields: facts.map((text) => ({ type: 'mrkdwn', text })) },
            ...(summary.evidence ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Evidence: ${summary.evidence}` }] }] : []),
            ...(buttons.length > 0 ? [{ type: 'actions', elements: buttons }] : []),
        ],
    };
}

/** Teams incoming-webhook body: one Adaptive Card with the facts and two link actions. */
export function teamsBody(summary: AlertSummary): Record<string, unknown> {
    return {
        type: 'message',
        summary: summary.title,
        attachments: [
            {
                contentType: 'application/vnd.microsoft.card.adaptive',
                content: {
                    type: 'AdaptiveCard',
                    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
                    version: '1.4',
                    body: [
                        { type: 'TextBlock', text: summary.title, weight: 'Bolder', size: 'Medium', wrap: true },
                        { type: 'TextBlock', text: summary.message, wrap: true },
                        {
                            type: 'FactSet',
                            facts: [
                                { title: 'Severity', value: summary.severity },
                                { title: 'State', value: summary.state },
                                { title: 'Asset', value: summary.asset },
                                { title: 'Rule', value: summary.rule },
                                ...(summary.evidence ? [{ title: 'Evidence', value: summary.evidence }] : []),
                            ],
                        },
                    ],
                    actions: [
                        ...(summary.ack ? [{ type: 'Action.OpenUrl', title: 'Acknowledge', url: summary.ack }] : []),
                        ...(summary.runbook ? [{ type: 'Action.OpenUrl', title: 'Runbook', url: summary.runbook }] : []),
                    ],
                },
            },
        ],
    };
}

/** SMS gateway body for one recipient. */
export function smsBody(summary: AlertSummary, to: string): { to: string; text: string } {
    return { to, text: summaryText(summary) };
}

/** Response of a receiver with a status other than 2xx. */
export class HttpStatusError extends Error {
    constructor(readonly status: number) {
        super(`HTTP ${status}`);
        this.name = 'HttpStatusError';
    }
}

/** Returns true for network errors, timeouts, 408, 429 and 5xx, because other 4xx responses will not change. */
export function retriableDelivery(err: unknown): boolean {
    if (err instanceof HttpStatusError) return err.status === 408 || err.status === 429 || err.status >= 500;
    return true;
}

export type PostJson = (url: string, body: unknown, signal?: AbortSignal) => Promise<void>;

/** How long one POST may take, in milliseconds. */
const POST_TIMEOUT_MS = 10_000;

/** Sends a JSON POST with fetch and rejects with HttpStatusError for statuses other than 2xx. */
export const postJson: PostJson = async (url, body, signal) => {
    const timeout = AbortSignal.timeout(POST_TIMEOUT_MS);
    const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    // The body is read so that the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new HttpStatusError(response.status);
};

export interface ChannelDeliveryOptions {
    /** Store of dead-letter rows, requested only when a delivery has failed after its retries. */
    quarantine: () => Promise<Pick<Store, 'writeQuarantine'>>;
    baseUrl: string;
    retry: Pick<RetryOptions, 'attempts' | 'delayMs' | 'maxDelayMs'>;
    signal?: AbortSignal;
    post?: PostJson;
    now?: () => Date;
    onRetry?: (channel: ChannelSettings, notification: Notification, err: unknown, attempt: number, waitMs: number) => void;
}

export type ChannelOutcome =
    | { channel: string; status: 'sent'; notification: Notification; attempts: number }
    | { channel: string; status: 'skipped'; notification: Notification }
    | {
          channel: string;
          status: 'dead_letter';
          notification: Notification;
          attempts: number;
          reason: string;
          /** False when the dead-letter row itself could not be written. */
          quarantined: boolean;
      };

/** Returns the part of a notification that a channel carries: its severities, without acknowledged alerts. */
export function channelPart(channel: ChannelSettings, notification: Notification): Notification | undefined {
    const part = itemsOfSeverities(notification, channel.severities);
    if (!part) return undefined;
    const items = part.items.filter((item) => item.event.state !== 'acknowledged');
    return items.length === 0 ? undefined : { ...part, items };
}

const LABELS: Record<ChannelKind, string> = { teams: 'Teams', slack: 'Slack', sms: 'SMS' };

/** Requests of one delivery: one for a webhook, one per recipient for SMS. */
function requests(channel: ChannelSettings, summary: AlertSummary): { to?: string; body: unknown }[] {
    if (channel.kind === 'slack') return [{ body: slackBody(summary) }];
    if (channel.kind === 'teams') return [{ body: teamsBody(summary) }];
    return (channel.to ?? []).map((to) => ({ to, body: smsBody(summary, to) }));
}

/**
 * Delivers the part of a notification that the channel carries (see channelPart), with retries
 * (exponential backoff with jitter). When a request still fails, writes one dead-letter row for
 * the notification and channel; the promise never rejects.
 */
export async function deliver(channel: ChannelSettings, whole: Notification, options: ChannelDeliveryOptions): Promise<ChannelOutcome> {
    const notification = channelPart(channel, whole);
    if (!notification) return { channel: channel.name, status: 'skipped', notification: whole };
    const post = options.post ?? postJson;
    const summary = notificationSummary(notification, options.baseUrl);
    const failures: { to?: string; body: unknown; error: string }[] = [];
    let attempts = 0;
    for (const request of requests(channel, summary)) {
        try {
            await retry(
                (attempt) => {
                    attempts = Math.max(attempts, attempt);
                    return post(channel.url, request.body, options.signal);
                },
                {
                    ...options.retry,
                    retriable: retriableDelivery,
                    signal: options.signal,
                    onRetry: (err, attempt, waitMs) => options.onRetry?.(channel, notification, err, attempt, waitMs),
                },
            );
        } catch (err) {
            failures.push({ ...(request.to ? { to: request.to } : {}), body: request.body, error: err instanceof Error ? err.message : String(err) });
        }
    }
    if (failures.length === 0) return { channel: channel.name, status: 'sent', notification, attempts };

    const label = LABELS[channel.kind];
    const recipients = failures.some((failure) => failure.to) ? ` to ${failures.map((failure) => failure.to).join(', ')}` : '';
    const stored = notification.items.length === 1 ? 'The event is stored' : 'The events are stored';
    const reason =
        `${label} message${recipients} for ${describeNotification(notification)} was not delivered: ` +
        `${failures[0].error}. ${stored}; check the ${label} URL of the alert router and that the receiver is up.`;
    const events: AlertEvent[] = notification.items.map((item) => item.event);
    const row: Rejection = {
        source: `alert-channel:${channel.name}`,
        code: 'delivery_failed',
        reason,
        ref: notificationRef(notification),
        // The URL stays out of the row: webhook URLs carry their secret in the path.
        payload: { channel: channel.kind, ...(events.length === 1 ? { event: events[0] } : { events }), requests: failures },
        received_at: (options.now?.() ?? new Date()).toISOString(),
    };
    let quarantined = true;
    try {
        const store = await options.quarantine();
        await store.writeQuarantine([row]);
    } catch {
        quarantined = false;
    }
    return { channel: channel.name, status: 'dead_letter', notification, attempts, reason, quarantined };
}
