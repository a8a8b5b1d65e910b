import { describe, expect, it } from 'vitest';

import type { AlertEvent } from '../types';
import { notificationSummary, slackBody, summaryText } from './channels';
import { composeNotificationEmail, itemsOfSeverities, notificationRef, sortItems, type Notification, type NotificationItem } from './notification';

function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
    return {
        event_id: '8a1d0f3e-5b2c-5d7e-9f01-23456789abcd',
        rule_id: 'tpt-pressure-collapse',
        asset_id: 'volve-15-9-f-1',
        metric: 'pressure_tpt',
        severity: 'P1',
        state: 'open',
        message: 'volve-15-9-f-1: pressure at the TPT fell 120 psi within 5m',
        runbook: 'docs/runbooks/tpt-pressure-collapse.md',
        opened_at: '2016-06-01T10:00:00.000Z',
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        evidence: { value: 2850 },
        ...overrides,
    };
}

const AT = '2026-05-04T08:00:30.000Z';

function item(overrides: Partial<AlertEvent>, kind: NotificationItem['kind'] = 'opened', extra: Partial<NotificationItem> = {}): NotificationItem {
    return { event: alertEvent(overrides), kind, repeatCount: 0, ...extra };
}

const group: Notification = {
    group: 'field:VOLVE',
    at: AT,
    items: sortItems([
        item({ event_id: 'b0000000-0000-4000-8000-000000000002', asset_id: 'volve-15-9-f-4', severity: 'P2', rule_id: 'choke-upstream-pressure-rise', message: 'choke pressure rose' }),
        item({ event_id: 'b0000000-0000-4000-8000-000000000001' }, 'opened', { repeatCount: 2 }),
        item({ event_id: 'b0000000-0000-4000-8000-000000000003', asset_id: 'volve-15-9-f-5', severity: 'P2', state: 'resolved', opened_at: '2016-06-01T09:00:00.000Z', message: 'TPT pressure fell' }, 'opened_resolved'),
    ]),
};

describe('group notification', () => {
    it('should order items most severe first, then oldest first', () => {
        expect(group.items.map((entry) => entry.event.event_id)).toEqual([
            'b0000000-0000-4000-8000-000000000001',
            'b0000000-0000-4000-8000-000000000003',
            'b0000000-0000-4000-8000-000000000002',
        ]);
    });

    it('should list every alert in one email', () => {
        const email = composeNotificationEmail(group);

        expect(email.subject).toBe('[P1] 3 alerts on VOLVE');
        expect(email.text.split('\n').slice(0, 6)).toEqual([
            '3 alerts on VOLVE:',
            '',
            '[P1 opened] tpt-pressure-collapse on volve-15-9-f-1',
            '  volve-15-9-f-1: pressure at the TPT fell 120 psi within 5m',
            '  Opened at 2016-06-01T10:00:00.000Z, event id b0000000-0000-4000-8000-000000000001, opened again 2 times while unresolved',
            '  Runbook: docs/runbooks/tpt-pressure-collapse.md',
        ]);
        expect(email.text).toContain('[P2 opened and resolved] tpt-pressure-collapse on volve-15-9-f-5');
        expect(email.text).toContain('[P2 opened] choke-upstream-pressure-rise on volve-15-9-f-4');
        expect(email.fileName).toBe('2026-05-04T08-00-30.000Z-P1-group-VOLVE-3-alerts.eml');
        expect(email.headers['X-Upstream-Live-Events']).toBe(
            'b0000000-0000-4000-8000-000000000001, b0000000-0000-4000-8000-000000000003, b0000000-0000-4000-8000-000000000002',
        );
        expect(email.html).toContain('<td>opened and resolved</td>');
    });

    it('should keep the items of the given severities', () => {
        const p1Only = itemsOfSeverities(group, ['P1']);

        expect(p1Only?.items.map((entry) => entry.event.severity)).toEqual(['P1']);
        expect(itemsOfSeverities(group, [])).toBeUndefined();
        expect(notificationRef(group)).toBe('group:field:VOLVE@2026-05-04T08:00:30.000Z');
        expect(notificationRef(p1Only as Notification)).toBe('b0000000-0000-4000-8000-000000000001');
    });

    it('should summarise a group for the channels with one line per alert', () => {
        const summary = notificationSummary(group, 'https://live.example.com/');

        expect(summary.title).toBe('[P1] 3 alerts on VOLVE');
        expect(summary.asset).toBe('volve-15-9-f-1, volve-15-9-f-5, volve-15-9-f-4');
        expect(summary.message.split('\n')).toEqual([
            '[P1 opened] tpt-pressure-collapse on volve-15-9-f-1: volve-15-9-f-1: pressure at the TPT fell 120 psi within 5m '
                + 'Acknowledge: https://live.example.com/v1/alerts/b0000000-0000-4000-8000-000000000001/ack',
            '[P2 opened and resolved] tpt-pressure-collapse on volve-15-9-f-5: TPT pressure fell',
            '[P2 opened] choke-upstream-pressure-rise on volve-15-9-f-4: choke pressure rose '
                + 'Acknowledge: https://live.example.com/v1/alerts/b0000000-0000-4000-8000-000000000002/ack',
        ]);
        // No single acknowledge link or evidence for a group.
        expect(summaryText(summary)).not.toContain('\nAcknowledge:');
        expect(summaryText(summary)).not.toContain('Evidence:');
        expect((slackBody(summary).blocks as { type: string }[]).map((block) => block.type)).toEqual(['header', 'section']);
    });
});

describe('single notification', () => {
    it('should announce an escalation in subject, first line and file name', () => {
        const notification: Notification = { group: 'field:VOLVE', at: AT, items: [item({ severity: 'P1' }, 'escalated', { previousSeverity: 'P2' })] };
        const email = composeNotificationEmail(notification);

        expect(email.subject).toBe('[P1, escalated from P2] tpt-pressure-collapse on volve-15-9-f-1');
        expect(email.text.split('\n')[0]).toBe('Escalated from P2 to P1: the alert is still open and unacknowledged.');
        expect(email.fileName).toBe('2016-06-01T10-00-00.000Z-P1-tpt-pressure-collapse-volve-15-9-f-1-escalated.eml');
        expect(notificationSummary(notification, 'https://live.example.com').title).toBe('[P1, escalated from P2] tpt-pressure-collapse on volve-15-9-f-1');
    });

    it('should give each reminder its own file name', () => {
        const email = composeNotificationEmail({ group: 'field:VOLVE', at: AT, items: [item({}, 'reminder')] });

        expect(email.subject).toBe('[P1 reminder] tpt-pressure-collapse on volve-15-9-f-1');
        expect(email.text.split('\n')[0]).toBe('Reminder: the alert is still open and unacknowledged.');
        expect(email.fileName).toBe('2016-06-01T10-00-00.000Z-P1-tpt-pressure-collapse-volve-15-9-f-1-reminder-2026-05-04T08-00-30.000Z.eml');
    });

    it('should keep the email of a first announcement unchanged', () => {
        const email = composeNotificationEmail({ group: 'field:VOLVE', at: AT, items: [item({})] });

        expect(email.subject).toBe('[P1] tpt-pressure-collapse on volve-15-9-f-1');
        expect(email.fileName).toBe('2016-06-01T10-00-00.000Z-P1-tpt-pressure-collapse-volve-15-9-f-1.eml');
    });
});
