// Notification groups: the notifications of one site's alerts that become due within the group
// window go out together as one message. A group is sent when the window has passed since its
// oldest waiting notification, so no notification, a P1 included, waits longer than the window.
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
}

export interface PendingGroup<T> {
    key: string;
    /** Alerts of the group whose notification waits, in input order. */
    alerts: T[];
    /** Time at which the group is due: the oldest waiting notification plus the window, in ms. */
    dueAtMs: number;
}

/** Groups the alerts whose notification waits by group key. */
export function pendingGroups<T extends GroupableAlert>(alerts: readonly T[], windowMs: number): PendingGroup<T>[] {
    const groups = new Map<string, PendingGroup<T>>();
    for (const alert of alerts) {
        if (alert.notify_pending_since === null) continue;
        // Alerts stored without a group key (before grouping existed) form a group of their asset.
        const key = alert.group_key ?? `asset:${alert.asset_id}`;
        const dueAtMs = Date.parse(alert.notify_pending_since) + windowMs;
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
