import { describe, expect, it } from 'vitest';

import { ServiceError } from '../errors';
import type { AlertEvent } from '../types';
import type { AlertEmail } from './email';
import type { Mailer } from './mailer';
import { notificationOf, type Notification } from './notification';
import { AlertNotifier } from './notifier';

function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
    return {
        event_id: 'event-1',
        rule_id: 'tpt-temperature-drop',
        asset_id: '3w-well-00011',
        metric: 'temp_tpt',
        severity: 'P1',
        state: 'open',
        message: '3w-well-00011: temperature at the TPT fell 5.2 degC within 5m',
        runbook: 'docs/runbooks/tpt-temperature-drop.md',
        opened_at: '2014-06-07T00:35:40.000Z',
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        evidence: { value: 106.8 },
        ...overrides,
    };
}

/** Mailer that fails with the queued errors first, then succeeds. */
class FakeMailer implements Mailer {
    readonly mode = 'outbox' as const;
    readonly sent: AlertEmail[] = [];
    attempts = 0;
    closed = false;

    constructor(private readonly failures: unknown[] = []) {}

    async send(email: AlertEmail): Promise<string> {
        this.attempts++;
        const failure = this.failures.shift();
        if (failure) throw failure;
        this.sent.push(email);
        return `/outbox/${email.fileName}`;
    }

    close(): void {
        this.closed = true;
    }
}

function notifier(mailer: FakeMailer, delayMs = 1): AlertNotifier {
    return new AlertNotifier({
        mailer,
        emailSeverities: ['P1', 'P2'],
        retry: { delayMs, maxDelayMs: 50 },
        quarantine: async () => ({ writeQuarantine: async (rows) => rows.length }),
    });
}

describe('AlertNotifier email', () => {
    it('should email an opened alert', async () => {
        const mailer = new FakeMailer();
        const outcome = await notifier(mailer).email(notificationOf(alertEvent()));

        expect(outcome).toMatchObject({ status: 'sent', destination: '/outbox/2014-06-07T00-35-40.000Z-P1-tpt-temperature-drop-3w-well-00011.eml', attempts: 1 });
        expect(mailer.sent[0].subject).toBe('[P1] tpt-temperature-drop on 3w-well-00011');
    });

    it('should retry a failed email and succeed on the third attempt', async () => {
        const mailer = new FakeMailer([Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNECTION' }), new Error('greeting never received')]);
        const outcome = await notifier(mailer).email(notificationOf(alertEvent()));

        expect(outcome).toMatchObject({ status: 'sent', attempts: 3 });
        expect(mailer.attempts).toBe(3);
    });

    it('should report an email that fails every attempt', async () => {
        const mailer = new FakeMailer([new Error('timeout 1'), new Error('timeout 2'), new Error('timeout 3'), new Error('not reached')]);
        const outcome = await notifier(mailer).email(notificationOf(alertEvent()));

        expect(mailer.attempts).toBe(3);
        expect(outcome.status).toBe('failed');
        if (outcome.status !== 'failed') return;
        expect(outcome.error).toBeInstanceOf(ServiceError);
        expect(outcome.error.message).toBe(
            'Email for alert event-1 (tpt-temperature-drop on 3w-well-00011) failed: timeout 3 (after 3 attempts). The event is stored; check the mail settings of the alert router.',
        );
    });

    it('should not retry a rejected recipient', async () => {
        const mailer = new FakeMailer([Object.assign(new Error('550 mailbox unavailable'), { responseCode: 550 })]);
        const outcome = await notifier(mailer).email(notificationOf(alertEvent()));

        expect(outcome.status).toBe('failed');
        expect(mailer.attempts).toBe(1);
    });

    it('should email only the items of the email severities', async () => {
        const mailer = new FakeMailer();
        const subject = notifier(mailer);
        const p3 = await subject.email(notificationOf(alertEvent({ severity: 'P3' })));
        const mixed: Notification = {
            group: 'field:3W',
            at: '2026-05-04T08:00:30.000Z',
            items: [
                { event: alertEvent({ event_id: 'event-2', severity: 'P3' }), kind: 'opened', repeatCount: 0 },
                { event: alertEvent({ event_id: 'event-3', severity: 'P2' }), kind: 'opened', repeatCount: 0 },
            ],
        };
        const part = await subject.email(mixed);

        expect(p3.status).toBe('skipped');
        expect(part.status).toBe('sent');
        expect(mailer.sent.map((email) => email.subject)).toEqual(['[P2] tpt-temperature-drop on 3w-well-00011']);
    });

    it('should stop waiting for retries on close', async () => {
        const mailer = new FakeMailer([new Error('down'), new Error('down')]);
        const subject = notifier(mailer, 60_000);
        const { email } = subject.send(notificationOf(alertEvent()));
        await subject.close();
        const outcome = await email;

        expect(outcome.status).toBe('failed');
        expect(mailer.attempts).toBe(1);
        expect(mailer.closed).toBe(true);
        expect(subject.pendingMessages).toBe(0);
    });
});
