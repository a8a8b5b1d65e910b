// Plans one sweep of the alert router over the stored alerts: silence changes, escalations,
// reminders, resolutions to announce, and the notification groups due now. The plan depends only
// on stored state, the silences and the clock, so a restarted router picks up every timer where
// the previous one left it.
import type { EscalationChange, Silence, StoredAlert } from '../store/alert-lifecycle';
import { dueEscalation, nextEscalationAt, type EscalationPolicy } from './escalation';
import { lastSentByGroup, pendingGroups, type PendingGroup } from './grouping';
import { reminderDueAt, type ReminderIntervals } from './reminders';
import { findSilence, type SiteLookup } from './silences';

export interface LifecyclePolicy {
    /** How long a group's oldest waiting notification waits for others, in milliseconds; 0 sends at once. */
    groupWindowMs: number;
    reminders: ReminderIntervals;
    /** Returns the escalation policy of a rule, or undefined for none. */
    escalationFor(ruleId: string): EscalationPolicy | undefined;
}

/**
 * Subject of a notification: a new alert, an alert that opened and resolved before its first
 * notification went out, a resolution, a raised severity, or a reminder that the alert is still open.
 */
export type NotificationKind = 'opened' | 'opened_resolved' | 'resolved' | 'escalated' | 'reminder';

export interface SweepPlan {
    /** Unresolved alerts whose silence changes: the silence to set, or null to clear it. */
    silences: { alert: StoredAlert; silenceId: string | null }[];
    escalations: { alert: StoredAlert; change: EscalationChange }[];
    /** Alerts whose notification is to wait from now: reminders and resolutions not yet announced. */
    requests: { alert: StoredAlert; reason: 'reminder' | 'resolved' }[];
    /** Groups to send now; their alerts show the state after the changes above. */
    flushes: PendingGroup<StoredAlert>[];
    /** Earliest later time at which the plan would change, in milliseconds; undefined when none is known. */
    nextDueMs: number | undefined;
}

/**
 * Returns what the next notification of an alert announces, from its stored state and what its
 * last notification announced. Returns undefined for an acknowledged alert, which needs none.
 */
export function notificationKind(alert: StoredAlert): NotificationKind | undefined {
    if (alert.state === 'acknowledged') return undefined;
    if (alert.first_notified_at === null) return alert.state === 'resolved' ? 'opened_resolved' : 'opened';
    if (alert.state === 'resolved') return 'resolved';
    if (alert.notified_severity !== null && alert.severity !== alert.notified_severity) return 'escalated';
    return 'reminder';
}

class Planner {
    readonly plan: SweepPlan = { silences: [], escalations: [], requests: [], flushes: [], nextDueMs: undefined };
    private readonly now: string;

    constructor(
        private readonly silences: readonly Silence[],
        private readonly sites: SiteLookup,
        private readonly policy: LifecyclePolicy,
        private readonly nowMs: number,
    ) {
        this.now = new Date(nowMs).toISOString();
    }

    wake(atMs: number | undefined): void {
        if (atMs === undefined || atMs <= this.nowMs) return;
        this.plan.nextDueMs = this.plan.nextDueMs === undefined ? atMs : Math.min(this.plan.nextDueMs, atMs);
    }

    /** Sets or clears the silence of an unresolved alert to match the silences in force. */
    reconcileSilence(alert: StoredAlert, original: StoredAlert): void {
        const silence = findSilence(this.silences, alert, this.sites(alert.asset_id), this.nowMs);
        const silenceId = silence?.silence_id ?? null;
        if (silenceId !== alert.silence_id) {
            this.plan.silences.push({ alert: original, silenceId });
            alert.silenced = silenceId !== null;
            alert.silence_id = silenceId;
            if (silenceId !== null) alert.notify_pending_since = null;
            else if (alert.state === 'open') alert.notify_pending_since ??= this.now;
        }
        if (silence) this.wake(Date.parse(silence.ends_at));
    }

    /** Applies the escalation due now, if any, and notes when the next step is due. */
    escalate(alert: StoredAlert, original: StoredAlert, sinceMs: number): void {
        const policy = this.policy.escalationFor(alert.rule_id);
        if (!policy || policy.length === 0) return;
        const due = dueEscalation(policy, alert.escalation_step, alert.severity, sinceMs, this.nowMs);
        if (due) {
            const change: EscalationChange = { from_step: alert.escalation_step, from_severity: alert.severity, to_step: due.step, to_severity: due.severity, at: this.now };
            this.plan.escalations.push({ alert: original, change });
            alert.severity = due.severity;
            alert.escalation_step = due.step;
            alert.escalated_at = this.now;
            alert.notify_pending_since ??= this.now;
        }
        this.wake(nextEscalationAt(policy, alert.escalation_step, alert.severity, sinceMs));
    }

    /** Requests a reminder when the interval of the alert's severity has passed since its last notification. */
    remind(alert: StoredAlert, original: StoredAlert): void {
        if (alert.notify_pending_since !== null || alert.last_notified_at === null) return;
        const dueAt = reminderDueAt(Date.parse(alert.last_notified_at), alert.severity, this.policy.reminders);
        if (dueAt === undefined) return;
        if (dueAt > this.nowMs) {
            this.wake(dueAt);
            return;
        }
        this.plan.requests.push({ alert: original, reason: 'reminder' });
        alert.notify_pending_since = this.now;
    }

    visit(original: StoredAlert): StoredAlert {
        const alert: StoredAlert = { ...original };
        if (alert.state !== 'resolved') this.reconcileSilence(alert, original);
        const notified = alert.first_notified_at !== null;
        if (alert.state === 'open' && !alert.silenced && notified) {
            this.escalate(alert, original, Date.parse(alert.first_notified_at as string));
            this.remind(alert, original);
        }
        // A resolution is announced only for an alert whose opening was announced.
        if (alert.state === 'resolved' && notified && alert.notified_state !== 'resolved' && !alert.silenced && alert.notify_pending_since === null) {
            this.plan.requests.push({ alert: original, reason: 'resolved' });
            alert.notify_pending_since = this.now;
        }
        return alert;
    }
}

/**
 * Plans one sweep at `nowMs` over the active alerts (see StoredAlertsQuery.active) and the
 * silences in force. Escalation steps count from the alert's first notification, reminders from
 * its last. A silenced alert is neither escalated nor reminded, and when its silence ends while it
 * is open, its notification waits to be sent like a new one.
 */
export function planSweep(alerts: readonly StoredAlert[], silences: readonly Silence[], sites: SiteLookup, policy: LifecyclePolicy, nowMs: number): SweepPlan {
    const planner = new Planner(silences, sites, policy, nowMs);
    const updated = alerts.map((alert) => planner.visit(alert));
    const waiting = updated.filter((alert) => !alert.silenced);
    for (const group of pendingGroups(waiting, policy.groupWindowMs, lastSentByGroup(updated))) {
        if (group.dueAtMs <= nowMs) planner.plan.flushes.push(group);
        else planner.wake(group.dueAtMs);
    }
    return planner.plan;
}
