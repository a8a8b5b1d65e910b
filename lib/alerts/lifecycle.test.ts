// The sweep planner on stored alerts with an injected clock: silences, escalation, reminders,
// resolutions and group windows.
import { describe, expect, it } from 'vitest';

import type { Silence, StoredAlert } from '../store/alert-lifecycle';
import { groupKeyOf, pendingGroups } from './grouping';
import { notificationKind, planSweep, type LifecyclePolicy } from './lifecycle';
import { parseReminderInterval, reminderDueAt } from './reminders';
import type { SiteLookup } from './silences';

const T0 = Date.parse('2026-05-04T08:00:00.000Z');
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const at = (ms: number): string => new Date(T0 + ms).toISOString();

const sites: SiteLookup = (assetId) => (assetId.startsWith('volve') ? { field: 'VOLVE', operator: 'equinor' } : undefined);

function policy(overrides: Partial<LifecyclePolicy> = {}): LifecyclePolicy {
    return {
        groupWindowMs: 30 * SECOND,
        reminders: { P1: 30 * MINUTE, P2: 2 * 60 * MINUTE },
        escalationFor: () => undefined,
        ...overrides,
    };
}

let counter = 0;

function stored(overrides: Partial<StoredAlert> = {}): StoredAlert {
    counter += 1;
    return {
        event_id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
        rule_id: 'tpt-pressure-collapse',
        asset_id: 'volve-15-9-f-1',
        metric: 'pressure_tpt',
        severity: 'P2',
        state: 'open',
        message: 'pressure fell',
        opened_at: '2016-06-01T10:00:00.000Z',
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        evidence: {},
        repeat_count: 0,
        last_repeated_at: null,
        opened_severity: 'P2',
        escalation_step: 0,
        escalated_at: null,
        group_key: 'field:VOLVE',
        silenced: false,
        silence_id: null,
        notify_pending_since: null,
        first_notified_at: null,
        last_notified_at: null,
        notified_severity: null,
        notified_state: null,
        ...overrides,
    };
}

/** Returns an alert announced at `notifiedAt` ms after T0, with the severity and state it had then. */
function notified(notifiedAt: number, overrides: Partial<StoredAlert> = {}): StoredAlert {
    const alert = stored(overrides);
    return { ...alert, first_notified_at: at(notifiedAt), last_notified_at: at(notifiedAt), notified_severity: alert.severity, notified_state: 'open', ...overrides };
}

function silence(overrides: Partial<Silence>): Silence {
    return {
        silence_id: '00000000-0000-4000-8000-0000000000aa',
        asset_id: null,
        field: 'VOLVE',
        operator: null,
        rule_id: null,
        starts_at: at(0),
        ends_at: at(60 * MINUTE),
        reason: 'Turnaround',
        created_by: 'admin',
        created_at: at(0),
        expired_at: null,
        expired_by: null,
        ...overrides,
    };
}

describe('grouping', () => {
    it('should key groups by field, or by asset outside the registry', () => {
        expect(groupKeyOf('volve-15-9-f-1', sites('volve-15-9-f-1'))).toBe('field:VOLVE');
        expect(groupKeyOf('unregistered-1', sites('unregistered-1'))).toBe('asset:unregistered-1');
    });

    it('should make a group due a window after its oldest waiting notification', () => {
        const groups = pendingGroups(
            [
                stored({ notify_pending_since: at(10 * SECOND) }),
                stored({ notify_pending_since: at(2 * SECOND) }),
                stored({ notify_pending_since: null }),
                stored({ group_key: 'asset:x', asset_id: 'x', notify_pending_since: at(5 * SECOND) }),
            ],
            30 * SECOND,
        );

        expect(groups.map((group) => [group.key, group.alerts.length, group.dueAtMs - T0])).toEqual([
            ['field:VOLVE', 2, 32 * SECOND],
            ['asset:x', 1, 35 * SECOND],
        ]);
    });
});

describe('reminders', () => {
    it('should be due an interval after the last notification', () => {
        expect(reminderDueAt(T0, 'P1', { P1: 30 * MINUTE })).toBe(T0 + 30 * MINUTE);
        expect(reminderDueAt(T0, 'P3', { P1: 30 * MINUTE })).toBeUndefined();
    });

    it('should parse the interval settings', () => {
        expect(parseReminderInterval(undefined, 'P1', 30 * MINUTE)).toBe(30 * MINUTE);
        expect(parseReminderInterval('', 'P1', 30 * MINUTE)).toBeUndefined();
        expect(parseReminderInterval('45m', 'P1', 30 * MINUTE)).toBe(45 * MINUTE);
        expect(() => parseReminderInterval('30s', 'P2', undefined)).toThrow("Reminder interval for P2 '30s' is shorter than 1m");
        expect(() => parseReminderInterval('often', 'P2', undefined)).toThrow("Reminder interval for P2 'often' is not a duration");
    });
});

describe('notificationKind', () => {
    it.each([
        [{}, 'opened'],
        [{ state: 'resolved' as const }, 'opened_resolved'],
        [{ state: 'acknowledged' as const }, undefined],
        [{ first_notified_at: at(0), notified_severity: 'P2' as const, state: 'resolved' as const }, 'resolved'],
        [{ first_notified_at: at(0), notified_severity: 'P3' as const }, 'escalated'],
        [{ first_notified_at: at(0), notified_severity: 'P2' as const }, 'reminder'],
    ])('should announce %j as %s', (overrides, kind) => {
        expect(notificationKind(stored(overrides))).toBe(kind);
    });
});

describe('planSweep', () => {
    it('should hold a new alert until the group window has passed', () => {
        const alert = stored({ notify_pending_since: at(0) });

        const early = planSweep([alert], [], sites, policy(), T0 + 29 * SECOND);
        const due = planSweep([alert], [], sites, policy(), T0 + 30 * SECOND);

        expect(early.flushes).toEqual([]);
        expect(early.nextDueMs).toBe(T0 + 30 * SECOND);
        expect(due.flushes.map((group) => group.alerts.map((a) => a.event_id))).toEqual([[alert.event_id]]);
    });

    it('should send the opening of a P1 at once with its group', () => {
        // The group has sent nothing yet, so the P1 pulls the waiting P2 along with it.
        const p2 = stored({ notify_pending_since: at(0) });
        const p1 = stored({ severity: 'P1', notify_pending_since: at(5 * SECOND) });

        const plan = planSweep([p2, p1], [], sites, policy(), T0 + 5 * SECOND);

        expect(plan.flushes).toHaveLength(1);
        expect(plan.flushes[0].alerts.map((alert) => alert.event_id)).toEqual([p2.event_id, p1.event_id]);
    });

    it('should send a resolved unannounced P1 at once', () => {
        const brief = stored({ severity: 'P1', state: 'resolved', resolved_at: at(200), notify_pending_since: at(0) });

        const plan = planSweep([brief], [], sites, policy(), T0 + SECOND);

        expect(plan.flushes.map((group) => group.alerts.map((alert) => alert.event_id))).toEqual([[brief.event_id]]);
    });

    it('should hold a P1 after a recent group message', () => {
        const sent = stored({ severity: 'P2', first_notified_at: at(0), last_notified_at: at(0) });
        const p1 = stored({ severity: 'P1', notify_pending_since: at(10 * SECOND) });

        const early = planSweep([sent, p1], [], sites, policy(), T0 + 10 * SECOND);
        const due = planSweep([sent, p1], [], sites, policy(), T0 + 40 * SECOND);

        expect(early.flushes).toEqual([]);
        expect(early.nextDueMs).toBe(T0 + 40 * SECOND);
        expect(due.flushes.map((group) => group.alerts.map((alert) => alert.event_id))).toEqual([[p1.event_id]]);
    });

    it('should silence a matching alert and drop its waiting notification', () => {
        const alert = stored({ notify_pending_since: at(0) });
        const plan = planSweep([alert], [silence({})], sites, policy(), T0 + 40 * SECOND);

        expect(plan.silences).toEqual([{ alert, silenceId: '00000000-0000-4000-8000-0000000000aa' }]);
        expect(plan.flushes).toEqual([]);
        expect(plan.nextDueMs).toBe(T0 + 60 * MINUTE);
    });

    it('should notify an open alert when its silence has ended', () => {
        const alert = stored({ silenced: true, silence_id: '00000000-0000-4000-8000-0000000000aa' });
        const ended = silence({ ends_at: at(60 * MINUTE) });

        const during = planSweep([alert], [ended], sites, policy(), T0 + 59 * MINUTE);
        const after = planSweep([alert], [], sites, policy(), T0 + 60 * MINUTE);

        expect(during.silences).toEqual([]);
        expect(after.silences).toEqual([{ alert, silenceId: null }]);
        // The notification waits from the end of the silence, so it goes out a window later.
        expect(after.flushes).toEqual([]);
        expect(after.nextDueMs).toBe(T0 + 60 * MINUTE + 30 * SECOND);
    });

    it('should not notify an acknowledged alert when its silence ends', () => {
        const alert = stored({ state: 'acknowledged', silenced: true, silence_id: '00000000-0000-4000-8000-0000000000aa' });
        const plan = planSweep([alert], [], sites, policy(), T0 + 60 * MINUTE);

        expect(plan.silences).toHaveLength(1);
        expect(plan.flushes).toEqual([]);
        expect(plan.nextDueMs).toBeUndefined();
    });

    it('should escalate an open alert from its first notification', () => {
        const steps = [
            { afterMs: 15 * MINUTE, to: 'P2' as const },
            { afterMs: 30 * MINUTE, to: 'P1' as const },
        ];
        const alert = notified(0, { severity: 'P3', opened_severity: 'P3' });
        const escalating = policy({ escalationFor: (ruleId) => (ruleId === 'tpt-pressure-collapse' ? steps : undefined), reminders: {} });

        const before = planSweep([alert], [], sites, escalating, T0 + 15 * MINUTE - 1);
        const first = planSweep([alert], [], sites, escalating, T0 + 15 * MINUTE);

        expect(before.escalations).toEqual([]);
        expect(before.nextDueMs).toBe(T0 + 15 * MINUTE);
        expect(first.escalations).toEqual([{ alert, change: { from_step: 0, from_severity: 'P3', to_step: 1, to_severity: 'P2', at: at(15 * MINUTE) } }]);
        // The escalated alert's notification waits a group window; the next step is due at 45 min.
        expect(first.nextDueMs).toBe(T0 + 15 * MINUTE + 30 * SECOND);

        const escalated = { ...alert, severity: 'P2' as const, escalation_step: 1, notify_pending_since: at(15 * MINUTE) };
        const flushed = planSweep([escalated], [], sites, escalating, T0 + 15 * MINUTE + 30 * SECOND);
        expect(flushed.flushes).toHaveLength(1);
        expect(notificationKind(flushed.flushes[0].alerts[0])).toBe('escalated');
        expect(flushed.nextDueMs).toBe(T0 + 45 * MINUTE);
    });

    it('should not escalate an acknowledged or silenced alert', () => {
        const steps = [{ afterMs: MINUTE, to: 'P1' as const }];
        const escalating = policy({ escalationFor: () => steps });
        const acknowledged = notified(0, { state: 'acknowledged' });
        const silencedAlert = notified(0, { silenced: true, silence_id: '00000000-0000-4000-8000-0000000000aa' });

        const plan = planSweep([acknowledged, silencedAlert], [silence({})], sites, escalating, T0 + 10 * MINUTE);

        expect(plan.escalations).toEqual([]);
        expect(plan.requests).toEqual([]);
    });

    it('should remind an unacknowledged alert every interval of its severity', () => {
        const p1 = notified(0, { severity: 'P1' });
        const p2 = notified(0, { severity: 'P2', asset_id: 'volve-15-9-f-4' });
        const p3 = notified(0, { severity: 'P3', asset_id: 'volve-15-9-f-5' });

        const plan = planSweep([p1, p2, p3], [], sites, policy(), T0 + 30 * MINUTE);

        expect(plan.requests).toEqual([{ alert: p1, reason: 'reminder' }]);
        // The reminder waits a group window; the P2 reminder is next due at 2 h.
        expect(plan.nextDueMs).toBe(T0 + 30 * MINUTE + 30 * SECOND);
        const later = planSweep([p2, p3], [], sites, policy(), T0 + 31 * MINUTE);
        expect(later.nextDueMs).toBe(T0 + 120 * MINUTE);
    });

    it('should announce a resolution of a notified alert once', () => {
        const resolved = notified(0, { state: 'resolved', resolved_at: '2016-06-01T11:00:00.000Z' });
        const announced = { ...resolved, notified_state: 'resolved' as const, last_notified_at: at(MINUTE) };
        const silencedAlert = { ...resolved, silenced: true };

        expect(planSweep([resolved], [], sites, policy(), T0 + 10 * SECOND).requests).toEqual([{ alert: resolved, reason: 'resolved' }]);
        expect(planSweep([announced, silencedAlert], [], sites, policy(), T0 + 10 * SECOND).requests).toEqual([]);
    });

    it('should send a flapping signal as one notification per window', () => {
        // Open at even seconds and resolve at odd ones, from 0 s to 61 s. Each opening is a new alert,
        // because the one before was resolved; without grouping each would send an opening and a resolution.
        const alerts: StoredAlert[] = [];
        const messages: string[][] = [];
        for (let ms = 0; ms <= 61 * SECOND; ms += SECOND) {
            const cycle = Math.floor(ms / (2 * SECOND));
            if (ms % (2 * SECOND) === 0) alerts.push(stored({ event_id: `flap-${cycle}`, notify_pending_since: at(ms) }));
            else alerts[alerts.length - 1] = { ...alerts[alerts.length - 1], state: 'resolved' };

            const plan = planSweep(alerts, [], sites, policy(), T0 + ms);
            for (const group of plan.flushes) {
                messages.push(group.alerts.map((alert) => `${alert.event_id}:${notificationKind(alert)}`));
                // What the store does when the router claims the notifications.
                for (const sent of group.alerts) {
                    const index = alerts.findIndex((alert) => alert.event_id === sent.event_id);
                    alerts[index] = { ...sent, notify_pending_since: null, first_notified_at: at(ms), last_notified_at: at(ms), notified_severity: sent.severity, notified_state: sent.state };
                }
            }
            // Resolutions of announced alerts wait a window too.
            for (const { alert } of plan.requests) {
                const index = alerts.findIndex((candidate) => candidate.event_id === alert.event_id);
                alerts[index] = { ...alerts[index], notify_pending_since: at(ms) };
            }
        }

        // 31 openings and 31 resolutions end as 2 messages. The first goes out at 30 s, a window after
        // flap-0 opened, with flap-0 to flap-15. The second goes out at 61 s, a window after the
        // resolution of flap-15 at 31 s began to wait, with that resolution and flap-16 to flap-30.
        expect(messages).toHaveLength(2);
        expect(messages[0]).toHaveLength(16);
        expect(messages[0].slice(0, 2)).toEqual(['flap-0:opened_resolved', 'flap-1:opened_resolved']);
        expect(messages[0][15]).toBe('flap-15:opened');
        expect(messages[1]).toHaveLength(16);
        expect(messages[1][0]).toBe('flap-15:resolved');
        expect(messages[1].slice(1).every((text) => text.endsWith(':opened_resolved'))).toBe(true);
        expect(messages[1][15]).toBe('flap-30:opened_resolved');
    });
});
