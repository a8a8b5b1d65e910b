// A notification announces one or more alerts of one group (a site). One alert goes out in the
// single-alert email format; several go out as one email that lists them all.
import type { AlertEvent, Severity } from '../types';
import { acknowledgeUrl, composeAlertEmail, escapeHtml, safeFileName, type AlertEmail } from './email';
import { maxSeverity, moreSevere } from './escalation';
import { groupLabel } from './grouping';
import type { NotificationKind } from './lifecycle';

export interface NotificationItem {
    /** The alert as stored, with its current severity and state. */
    event: AlertEvent;
    kind: NotificationKind;
    /** Severity of the alert's last notification; set for escalations. */
    previousSeverity?: Severity;
    /** Opens of the same condition while the alert was unresolved, after its own. */
    repeatCount: number;
}

export interface Notification {
    /** Group key of the alerts, such as `field:VOLVE`. */
    group: string;
    /** The alerts, most severe first, then oldest opened first. */
    items: NotificationItem[];
    /** Time of sending (ISO 8601). */
    at: string;
}

/** Returns a notification of one event: its opening, or its resolution for a resolved event. */
export function notificationOf(event: AlertEvent, at: string = new Date().toISOString()): Notification {
    return { group: `asset:${event.asset_id}`, items: [{ event, kind: event.state === 'resolved' ? 'resolved' : 'opened', repeatCount: 0 }], at };
}

/** Sorts items most severe first, then by opening time and event id. */
export function sortItems(items: NotificationItem[]): NotificationItem[] {
    return [...items].sort((a, b) => {
        if (a.event.severity !== b.event.severity) return moreSevere(a.event.severity, b.event.severity) ? -1 : 1;
        return a.event.opened_at.localeCompare(b.event.opened_at) || a.event.event_id.localeCompare(b.event.event_id);
    });
}

/** Returns the highest severity among the items. */
export function notificationSeverity(notification: Notification): Severity {
    return notification.items.map((item) => item.event.severity).reduce(maxSeverity);
}

/** Returns the notification with the items of these severities only, or undefined when none is left. */
export function itemsOfSeverities(notification: Notification, severities: readonly Severity[]): Notification | undefined {
    const items = notification.items.filter((item) => severities.includes(item.event.severity));
    return items.length === 0 ? undefined : { ...notification, items };
}

/** Reference of a notification in dead-letter rows and logs: the event id of one alert, or `group:<key>@<time>`. */
export function notificationRef(notification: Notification): string {
    return notification.items.length === 1 ? notification.items[0].event.event_id : `group:${notification.group}@${notification.at}`;
}

/** Describes a notification in messages: `alert <id> (<rule> on <asset>)` or `3 alerts on VOLVE`. */
export function describeNotification(notification: Notification): string {
    if (notification.items.length === 1) {
        const { event } = notification.items[0];
        return `alert ${event.event_id} (${event.rule_id} on ${event.asset_id})`;
    }
    return `${notification.items.length} alerts on ${groupLabel(notification.group)}`;
}

/** Describes what an item announces: opened, resolved, escalated from P2, still open. */
export function kindLabel(item: NotificationItem): string {
    switch (item.kind) {
        case 'opened':
            return 'opened';
        case 'opened_resolved':
            return 'opened and resolved';
        case 'resolved':
            return 'resolved';
        case 'escalated':
            return `escalated from ${item.previousSeverity ?? 'a lower severity'}`;
        default:
            return item.event.state === 'open' ? 'still open' : item.event.state;
    }
}

/** Returns the title of a group notification, such as `[P1] 3 alerts on VOLVE`. */
export function groupTitle(notification: Notification): string {
    const resolved = notification.items.every((item) => item.event.state === 'resolved');
    return `[${notificationSeverity(notification)}${resolved ? ' resolved' : ''}] ${describeNotification(notification)}`;
}

function repeatText(item: NotificationItem): string {
    return item.repeatCount > 0 ? `opened again ${item.repeatCount} time${item.repeatCount === 1 ? '' : 's'} while unresolved` : '';
}

function composeGroupEmail(notification: Notification, baseUrl?: string): AlertEmail {
    const { items } = notification;
    const severity = notificationSeverity(notification);
    const subject = groupTitle(notification);
    const lines = items.flatMap((item) => {
        const { event } = item;
        const details = [`Opened at ${event.opened_at}`, `event id ${event.event_id}`, repeatText(item)].filter((part) => part !== '');
        return [
            `[${event.severity} ${kindLabel(item)}] ${event.rule_id} on ${event.asset_id}`,
            `  ${event.message}`,
            `  ${details.join(', ')}`,
            ...(event.runbook ? [`  Runbook: ${event.runbook}`] : []),
            ...(baseUrl !== undefined && event.state !== 'resolved' ? [`  Acknowledge: POST ${acknowledgeUrl(event, baseUrl)}`] : []),
            '',
        ];
    });
    const text = [`${describeNotification(notification)}:`, '', ...lines].join('\n');

    const cell = (value: string): string => `<td>${escapeHtml(value)}</td>`;
    const rows = items.map(
        (item) =>
            `<tr>${cell(item.event.severity)}${cell(kindLabel(item))}${cell(item.event.rule_id)}${cell(item.event.asset_id)}` +
            `${cell(item.event.message)}${cell(item.event.opened_at)}${cell(item.event.event_id)}</tr>`,
    );
    const html = [
        '<!DOCTYPE html>',
        '<html><body>',
        `<p>${escapeHtml(describeNotification(notification))}:</p>`,
        '<table><tr><th align="left">Severity</th><th align="left">Change</th><th align="left">Rule</th><th align="left">Asset</th>'
            + '<th align="left">Message</th><th align="left">Opened at</th><th align="left">Event id</th></tr>',
        ...rows,
        '</table>',
        '</body></html>',
    ].join('\n');

    return {
        subject,
        text,
        html,
        fileName: safeFileName([notification.at, severity, 'group', groupLabel(notification.group), `${items.length}-alerts`]),
        headers: { 'X-Upstream-Live-Events': items.map((item) => item.event.event_id).join(', '), 'X-Upstream-Live-Severity': severity },
    };
}

/** Composes the email of a notification: the single-alert email for one item, a list for several. */
export function composeNotificationEmail(notification: Notification, baseUrl?: string): AlertEmail {
    if (notification.items.length > 1) return composeGroupEmail(notification, baseUrl);
    const [item] = notification.items;
    if (item.kind === 'escalated' || item.kind === 'reminder') {
        return composeAlertEmail(item.event, { kind: item.kind, previousSeverity: item.previousSeverity, at: notification.at }, baseUrl);
    }
    return composeAlertEmail(item.event, undefined, baseUrl);
}
