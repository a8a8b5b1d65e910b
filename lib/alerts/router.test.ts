import { describe, expect, it } from 'vitest';

import { ServiceError } from '../errors';
import type { AlertEvent } from '../types';
import type { AlertEmail } from './email';
import type { Mailer } from './mailer';
import { AlertRouter, type EventStore } from './router';

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

/** In-memory events table with the update rules of the store: resolve only open or acknowledged events. */
class FakeStore implements EventStore {
    readonly events = new Map<string, AlertEvent>();
    readonly calls: string[] = [];
    failNext = false;

    async insertEvent(event: AlertEvent): Promise<boolean> {
        this.calls.push(`insert ${event.event_id} ${event.state}`);
        if (this.failNext) {
            this.failNext = false;
            throw new ServiceError('database is down', { retriable: true });
        }
        if (this.events.has(event.event_id)) return false;
        this.events.set(event.event_id, { ...event });
        return true;
    }

    async updateEventState(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<AlertEvent | undefined> {
        this.calls.push(`update ${eventId} ${state} ${by} ${at}`);
        const event = this.events.get(eventId);
        if (!event) return undefined;
        const updated: AlertEvent =
            state === 'resolved' ? { ...event, state, resolved_by: by, resolved_at: at ?? null } : { ...event, state, acknowledged_by: by, acknowledged_at: at ?? null };
        this.events.set(eventId, updated);
        return updated;
    }
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

function router(store: FakeStore, mailer: FakeMailer, delayMs = 1): AlertRouter {
    return new AlertRouter({ store: async () => store, mailer, emailSeverities: ['P1', 'P2'], retry: { delayMs, maxDelayMs: 50 } });
}

describe('AlertRouter', () => {
    it('should insert an open event and email it', async () => {
        const store = new FakeStore();
        const mailer = new FakeMailer();
        const result = await router(store, mailer).route(alertEvent());

        expect(result.stored.event_id).toBe('event-1');
        expect(store.calls).toEqual(['insert event-1 open']);
        const outcome = await result.email;
        expect(outcome).toMatchObject({ status: 'sent', destination: '/outbox/2014-06-07T00-35-40.000Z-P1-tpt-temperature-drop-3w-well-00011.eml', attempts: 1 });
        expect(mailer.sent[0].subject).toBe('[P1] tpt-temperature-drop on 3w-well-00011');
    });

    it('should email a repeated incident once', async () => {
        const store = new FakeStore();
        const mailer = new FakeMailer();
        const routed = router(store, mailer);
        const first = await (await routed.route(alertEvent())).email;
        const again = await (await routed.route(alertEvent())).email;

        expect(first.status).toBe('sent');
        expect(again.status).toBe('skipped');
        expect(mailer.sent).toHaveLength(1);
        expect(store.events.size).toBe(1);
    });

    it('should resolve the stored event by id', async () => {
        const store = new FakeStore();
        const subject = router(store, new FakeMailer());
        await subject.route(alertEvent());
        const result = await subject.route(alertEvent({ state: 'resolved', resolved_at: '2014-06-07T01:00:00.000Z', resolved_by: 'rule' }));

        expect(store.calls[1]).toBe('update event-1 resolved rule 2014-06-07T01:00:00.000Z');
        expect(result.stored).toMatchObject({ state: 'resolved', resolved_by: 'rule', resolved_at: '2014-06-07T01:00:00.000Z' });
    });

    it('should insert a resolved event the store does not hold', async () => {
        const store = new FakeStore();
        const result = await router(store, new FakeMailer()).route(alertEvent({ state: 'resolved', resolved_at: '2014-06-07T01:00:00.000Z', resolved_by: 'rule' }));

        expect(store.calls).toEqual(['update event-1 resolved rule 2014-06-07T01:00:00.000Z', 'insert event-1 resolved']);
        expect(result.stored.state).toBe('resolved');
    });

    it('should retry a failed email and succeed on the third attempt', async () => {
        const mailer = new FakeMailer([Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNECTION' }), new Error('greeting never received')]);
        const outcome = await (await router(new FakeStore(), mailer).route(alertEvent())).email;

        expect(outcome).toMatchObject({ status: 'sent', attempts: 3 });
        expect(mailer.attempts).toBe(3);
    });

    it('should keep the stored event when every email attempt fails', async () => {
        const store = new FakeStore();
        const mailer = new FakeMailer([new Error('timeout 1'), new Error('timeout 2'), new Error('timeout 3'), new Error('not reached')]);
        const result = await router(store, mailer).route(alertEvent());
        const outcome = await result.email;

        expect(mailer.attempts).toBe(3);
        expect(outcome.status).toBe('failed');
        if (outcome.status !== 'failed') return;
        expect(outcome.error).toBeInstanceOf(ServiceError);
        expect(outcome.error.message).toBe(
            'Email for alert event-1 (tpt-temperature-drop on 3w-well-00011) failed: timeout 3 (after 3 attempts). The event is stored; check the mail settings of the alert router.',
        );
        expect(store.events.get('event-1')?.state).toBe('open');
    });

    it('should not retry a rejected recipient', async () => {
        const mailer = new FakeMailer([Object.assign(new Error('550 mailbox unavailable'), { responseCode: 550 })]);
        const outcome = await (await router(new FakeStore(), mailer).route(alertEvent())).email;

        expect(outcome.status).toBe('failed');
        expect(mailer.attempts).toBe(1);
    });

    it('should email only the configured severities and states', async () => {
        const mailer = new FakeMailer();
        const subject = router(new FakeStore(), mailer);
        const p3 = await (await subject.route(alertEvent({ event_id: 'event-2', severity: 'P3' }))).email;
        const acknowledged = await (await subject.route(alertEvent({ state: 'acknowledged', acknowledged_by: 'ops' }))).email;

        expect(p3.status).toBe('skipped');
        expect(acknowledged.status).toBe('skipped');
        expect(mailer.attempts).toBe(0);
    });

    it('should not email when the store write fails', async () => {
        const store = new FakeStore();
        store.failNext = true;
        const mailer = new FakeMailer();

        await expect(router(store, mailer).route(alertEvent())).rejects.toThrow('database is down');
        expect(mailer.attempts).toBe(0);
    });

    it('should stop waiting for retries on close', async () => {
        const mailer = new FakeMailer([new Error('down'), new Error('down')]);
        const subject = router(new FakeStore(), mailer, 60_000);
        const { email } = await subject.route(alertEvent());
        await subject.close();
        const outcome = await email;

        expect(outcome.status).toBe('failed');
        expect(mailer.attempts).toBe(1);
        expect(mailer.closed).toBe(true);
        expect(subject.pendingEmails).toBe(0);
    });
});
