// Notification groups: the notifications of one site's alerts that become due within the group
// window go out together as one message. A group is sent when the window has passed since its
// oldest waiting notification, so no notification waits longer than the window. The first
// announcement of a P1 is sent at once, with the rest of its group, unless the group sent a
// message within the window before it, so that a flapping P1 still sends about one message per
// window.
import type { AlertEvent, Severity } from '../types';
import type { SiteFacts } from './silences';

export const DEFAULT_GROUP_WINDOW_MS = 30_000;

/** Returns the group of an asset's alerts: `field:<field>`, or `asset:<asset_id>` for an asset outside the registry. */
export function groupKeyOf(assetId: string, site: SiteFacts | undefined): string {
    return site?.field ? `field:${site.field}` : `asset:${assetId}`;
}

/** Returns the field or asset of a group key, for message text. */
export function groupLabel(key: string): string {
    return key.replace(/^(field|asset):/, '');
}

/** Fields of a stored alert that grouping reads. */
export interface GroupableAlert {
    asset_id: string;
    group_key: string | null;
    notify_pending_since: string | null;
    severity: Severity;
    state: AlertEvent['state'];
    first_notified_at: string | null;
    last_notified_at: string | null;
}

function groupKey(alert: GroupableAlert): string {
    // Alerts stored without a group key (before grouping existed) form a group of their asset.
    return alert.group_key ?? `asset:${alert.asset_id}`;
}

/** Returns the time of the last message of each group, in ms, from the alerts it announced. */
export function lastSentByGroup(alerts: readonly GroupableAlert[]): Map<string, number> {
    const sent = new Map<string, number>();
    for (const alert of alerts) {
        if (alert.last_notified_at === null) continue;
        const ms = Date.parse(alert.last_notified_at);
        const key = groupKey(alert);
        const previous = sent.get(key);
        if (previous === undefined || ms > previous) sent.set(key, ms);
    }
    return sent;
}

export interface PendingGroup<T> {
    key: string;
    /** Alerts of the group whose notification waits, in input order. */
    alerts: T[];
    /** Time at which the group is due: the oldest waiting notification plus the window, in ms. */
    dueAtMs: number;
}

/**
 * Groups the alerts whose notification waits by group key. `lastSent` gives the time of each
 * group's last message (see lastSentByGroup), which decides whether a P1 opening goes out at once.
 */
export function pendingGroups<T extends GroupableAlert>(alerts: readonly T[], windowMs: number, lastSent: ReadonlyMap<string, number> = new Map()): PendingGroup<T>[] {
    const groups = new Map<string, PendingGroup<T>>();
    for (const alert of alerts) {
        if (alert.notify_pending_since === null) continue;
        const key = groupKey(alert);
        const pendingMs = Date.parse(alert.notify_pending_since);
        const sentMs = lastSent.get(key);
        // Only the first announcement of a P1 is urgent, even when the P1 resolved before it went
        // out; its reminders and escalations wait.
        // NOTE: `lastSent` comes from the alerts the sweep reads, which leave out alerts whose
        // resolution was announced, so a message that announced only resolutions does not count.
        const first = alert.state !== 'acknowledged' && alert.first_notified_at === null;
        const urgent = alert.severity === 'P1' && first && (sentMs === undefined || pendingMs - sentMs >= windowMs);
        const dueAtMs = urgent ? pendingMs : pendingMs + windowMs;
        const group = groups.get(key);
        if (group) {
            group.alerts.push(alert);
            group.dueAtMs = Math.min(group.dueAtMs, dueAtMs);
        } else {
            groups.set(key, { key, alerts: [alert], dueAtMs });
        }
    }
    return [...groups.values()];
}
