// Teams, Slack and SMS channels against HTTP receivers on 127.0.0.1, through the notifier.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { openStore } from '../store';
import type { AlertEvent, Rejection } from '../types';
import { alertSummary, evidenceSummary, type ChannelSettings } from './channels';
import type { AlertEmail } from './email';
import type { Mailer } from './mailer';
import { notificationOf, type Notification } from './notification';
import { AlertNotifier } from './notifier';

function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
    return {
        event_id: '0b6f5a52-3c1d-5e8f-9a7b-2c4d6e8f0a1b',
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
        evidence: { rule_kind: 'rate_of_change', value: 106.8, change: 5.2 },
        ...overrides,
    };
}

const ACK = 'https://live.example.com/v1/alerts/0b6f5a52-3c1d-5e8f-9a7b-2c4d6e8f0a1b/ack';
const RUNBOOK = 'https://live.example.com/docs/runbooks/tpt-temperature-drop.md';
const EVIDENCE = 'rule_kind=rate_of_change, value=106.8, change=5.2';

/** Quarantine of dead-letter rows in memory. */
class MemoryStore {
    readonly quarantine: Rejection[] = [];

    async writeQuarantine(rows: Rejection[]): Promise<number> {
        this.quarantine.push(...rows);
        return rows.length;
    }
}

const noMail: Mailer = {
    mode: 'outbox',
    send: async (email: AlertEmail) => email.fileName,
    close: () => undefined,
};

interface Receiver {
    url: string;
    /** Parsed JSON bodies of every request, whatever the response status. */
    bodies: unknown[];
    /** Bodies of the requests that received a 2xx status. */
    delivered: unknown[];
}

const servers: Server[] = [];

/** Starts a receiver on 127.0.0.1 that responds with `statuses` in turn, then 200. */
async function receiver(statuses: number[] = []): Promise<Receiver> {
    const result: Receiver = { url: '', bodies: [], delivered: [] };
    const server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
            const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            result.bodies.push(body);
            const status = statuses.shift() ?? 200;
            if (status < 300) result.delivered.push(body);
            response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'failed');
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    result.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-token`;
    return result;
}

afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function notifier(store: MemoryStore, channels: ChannelSettings[]): AlertNotifier {
    return new AlertNotifier({
        quarantine: async () => store,
        mailer: noMail,
        emailSeverities: [],
        channels,
        baseUrl: 'https://live.example.com/',
        retry: { attempts: 3, delayMs: 5, maxDelayMs: 20 },
    });
}

describe('alert summary', () => {
    it('should build acknowledge and runbook links', () => {
        const summary = alertSummary(alertEvent(), 'https://live.example.com/');
        expect(summary.ack).toBe(ACK);
        expect(summary.runbook).toBe(RUNBOOK);
        expect(summary.evidence).toBe(EVIDENCE);
        expect(alertSummary(alertEvent({ event_id: 'a/b c' }), 'https://x.example.com').ack).toBe('https://x.example.com/v1/alerts/a%2Fb%20c/ack');
        expect(alertSummary(alertEvent({ runbook: 'https://wiki.example.com/tpt' }), 'https://x.example.com').runbook).toBe('https://wiki.example.com/tpt');
    });

    it('should shorten long evidence', () => {
        const text = evidenceSummary({ note: 'x'.repeat(400) });
        expect(text).toHaveLength(300);
        expect(text.endsWith('...')).toBe(true);
    });
});

describe('alert channels', () => {
    it('should post the Slack message', async () => {
        const slack = await receiver();
        const store = new MemoryStore();
        const { channels } = notifier(store, [{ kind: 'slack', name: 'slack', url: slack.url, severities: ['P1'] }]).send(notificationOf(alertEvent()));

        expect(await channels).toMatchObject([{ channel: 'slack', status: 'sent', attempts: 1 }]);
        expect(slack.bodies).toHaveLength(1);
        const body = slack.bodies[0] as { text: string; blocks: Record<string, unknown>[] };
        expect(body.text).toBe(
            [
                '[P1] tpt-temperature-drop on 3w-well-00011: 3w-well-00011: temperature at the TPT fell 5.2 degC within 5m',
                `Evidence: ${EVIDENCE}`,
                `Runbook: ${RUNBOOK}`,
                `Acknowledge: ${ACK}`,
            ].join('\n'),
        );
        expect(body.blocks[1]).toEqual({
            type: 'section',
            text: { type: 'mrkdwn', text: '3w-well-00011: temperature at the TPT fell 5.2 degC within 5m' },
            fields: [
                { type: 'mrkdwn', text: '*Severity:* P1' },
                { type: 'mrkdwn', text: '*State:* open' },
                { type: 'mrkdwn', text: '*Asset:* 3w-well-00011' },
                { type: 'mrkdwn', text: '*Rule:* tpt-temperature-drop' },
            ],
        });
        expect(body.blocks[3]).toEqual({
            type: 'actions',
            elements: [
                { type: 'button', text: { type: 'plain_text', text: 'Acknowledge' }, url: ACK },
                { type: 'button', text: { type: 'plain_text', text: 'Runbook' }, url: RUNBOOK },
            ],
        });
        expect(store.quarantine).toEqual([]);
    });

    it('should post the Teams Adaptive Card', async () => {
        const teams = await receiver();
        const { channels } = notifier(new MemoryStore(), [{ kind: 'teams', name: 'teams', url: teams.url, severities: ['P1', 'P2'] }]).send(notificationOf(alertEvent()));

        expect((await channels)[0].status).toBe('sent');
        const body = teams.bodies[0] as { type: string; attachments: { contentType: string; content: Record<string, unknown> }[] };
        expect(body.type).toBe('message');
        expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
        const card = body.attachments[0].content as { body: { type: string; facts?: unknown }[]; actions: unknown[] };
        expect(card.body[2].facts).toEqual([
            { title: 'Severity', value: 'P1' },
            { title: 'State', value: 'open' },
            { title: 'Asset', value: '3w-well-00011' },
            { title: 'Rule', value: 'tpt-temperature-drop' },
            { title: 'Evidence', value: EVIDENCE },
        ]);
        expect(card.actions).toEqual([
            { type: 'Action.OpenUrl', title: 'Acknowledge', url: ACK },
            { type: 'Action.OpenUrl', title: 'Runbook', url: RUNBOOK },
        ]);
    });

    it('should post SMS once per recipient', async () => {
        const sms = await receiver();
        const { channels } = notifier(new MemoryStore(), [
            { kind: 'sms', name: 'sms', url: sms.url, severities: ['P1'], to: ['+4790000000', '+4791111111'] },
        ]).send(notificationOf(alertEvent()));

        expect((await channels)[0].status).toBe('sent');
        const text = [
            '[P1] tpt-temperature-drop on 3w-well-00011: 3w-well-00011: temperature at the TPT fell 5.2 degC within 5m',
            `Evidence: ${EVIDENCE}`,
            `Runbook: ${RUNBOOK}`,
            `Acknowledge: ${ACK}`,
        ].join('\n');
        expect(sms.bodies).toEqual([
            { to: '+4790000000', text },
            { to: '+4791111111', text },
        ]);
    });

    it('should dead-letter after three 500 statuses', async () => {
        const slack = await receiver([500, 500, 500]);
        const store = new MemoryStore();
        const { channels } = notifier(store, [{ kind: 'slack', name: 'slack', url: slack.url, severities: ['P1'] }]).send(notificationOf(alertEvent()));
        const [outcome] = await channels;

        expect(slack.bodies).toHaveLength(3);
        expect(slack.delivered).toHaveLength(0);
        expect(outcome).toMatchObject({ status: 'dead_letter', attempts: 3, quarantined: true });
        expect(store.quarantine).toHaveLength(1);
        const row = store.quarantine[0];
        expect(row).toMatchObject({ source: 'alert-channel:slack', code: 'delivery_failed', ref: alertEvent().event_id });
        expect(row.reason).toBe(
            'Slack message for alert 0b6f5a52-3c1d-5e8f-9a7b-2c4d6e8f0a1b (tpt-temperature-drop on 3w-well-00011) ' +
                'was not delivered: HTTP 500 (after 3 attempts). The event is stored; check the Slack URL of the alert router and that the receiver is up.',
        );
        expect(Number.isNaN(Date.parse(row.received_at))).toBe(false);
        // The webhook URL carries its secret; the dead letter must not.
        expect(JSON.stringify(row)).not.toContain('secret-token');
        expect((row.payload as { event: AlertEvent }).event.event_id).toBe(alertEvent().event_id);
    });

    it('should deliver once after one failure', async () => {
        const teams = await receiver([500]);
        const store = new MemoryStore();
        const { channels } = notifier(store, [{ kind: 'teams', name: 'teams', url: teams.url, severities: ['P1'] }]).send(notificationOf(alertEvent()));

        expect(await channels).toMatchObject([{ status: 'sent', attempts: 2 }]);
        expect(teams.bodies).toHaveLength(2);
        expect(teams.delivered).toHaveLength(1);
        expect(store.quarantine).toEqual([]);
    });

    it('should not retry a 400 status', async () => {
        const sms = await receiver([400]);
        const store = new MemoryStore();
        const { channels } = notifier(store, [
            { kind: 'sms', name: 'sms', url: sms.url, severities: ['P1'], to: ['+4790000000', '+4791111111'] },
        ]).send(notificationOf(alertEvent()));
        const [outcome] = await channels;

        expect(outcome.status).toBe('dead_letter');
        expect(sms.bodies).toHaveLength(2);
        expect(sms.delivered).toEqual([{ to: '+4791111111', text: expect.any(String) }]);
        expect(store.quarantine).toHaveLength(1);
        expect(store.quarantine[0].reason).toContain('SMS message to +4790000000 for alert');
        expect((store.quarantine[0].payload as { requests: { to: string }[] }).requests.map((request) => request.to)).toEqual(['+4790000000']);
    });

    it('should filter by severity and state', async () => {
        const slack = await receiver();
        const sms = await receiver();
        const subject = notifier(new MemoryStore(), [
            { kind: 'slack', name: 'slack', url: slack.url, severities: ['P1', 'P2'] },
            { kind: 'sms', name: 'sms', url: sms.url, severities: ['P1'], to: ['+4790000000'] },
        ]);
        const p2 = await subject.send(notificationOf(alertEvent({ event_id: 'p2-event', severity: 'P2' }))).channels;
        const acknowledged = await subject.send(notificationOf(alertEvent({ event_id: 'p2-event', severity: 'P2', state: 'acknowledged', acknowledged_by: 'ops' }))).channels;

        expect(p2.map((outcome) => [outcome.channel, outcome.status])).toEqual([
            ['slack', 'sent'],
            ['sms', 'skipped'],
        ]);
        expect(acknowledged.map((outcome) => outcome.status)).toEqual(['skipped', 'skipped']);
        expect(slack.bodies).toHaveLength(1);
        expect(sms.bodies).toHaveLength(0);
    });

    it('should dead-letter on close', async () => {
        const slack = await receiver([500, 500, 500]);
        const store = new MemoryStore();
        const subject = new AlertNotifier({
            quarantine: async () => store,
            mailer: noMail,
            emailSeverities: [],
            channels: [{ kind: 'slack', name: 'slack', url: slack.url, severities: ['P1'] }],
            retry: { attempts: 3, delayMs: 60_000, maxDelayMs: 60_000 },
        });
        const { channels } = subject.send(notificationOf(alertEvent()));
        await new Promise((resolve) => setTimeout(resolve, 100));
        await subject.close();
        const [outcome] = await channels;

        expect(outcome).toMatchObject({ status: 'dead_letter', attempts: 1 });
        expect(slack.bodies).toHaveLength(1);
        expect(store.quarantine).toHaveLength(1);
        expect(subject.pendingMessages).toBe(0);
    });

    it('should post a group as one message and dead-letter it with every event', async () => {
        const slack = await receiver([500, 500, 500]);
        const store = new MemoryStore();
        const second = alertEvent({ event_id: '0b6f5a52-3c1d-5e8f-9a7b-2c4d6e8f0a1c', asset_id: '3w-well-00012', severity: 'P2' });
        const group: Notification = {
            group: 'field:3W offshore (anonymised)',
            at: '2026-05-04T08:00:30.000Z',
            items: [
                { event: alertEvent(), kind: 'opened', repeatCount: 0 },
                { event: second, kind: 'opened', repeatCount: 0 },
            ],
        };
        const [outcome] = await notifier(store, [{ kind: 'slack', name: 'slack', url: slack.url, severities: ['P1', 'P2'] }]).send(group).channels;

        expect(outcome.status).toBe('dead_letter');
        expect((slack.bodies[0] as { text: string }).text.split('\n')[0]).toBe(
            '[P1] 2 alerts on 3W offshore (anonymised): [P1 opened] tpt-temperature-drop on 3w-well-00011: '
                + `3w-well-00011: temperature at the TPT fell 5.2 degC within 5m Acknowledge: ${ACK}`,
        );
        expect(store.quarantine).toHaveLength(1);
        expect(store.quarantine[0]).toMatchObject({ ref: 'group:field:3W offshore (anonymised)@2026-05-04T08:00:30.000Z' });
        expect(store.quarantine[0].reason).toContain('Slack message for 2 alerts on 3W offshore (anonymised) was not delivered: HTTP 500 (after 3 attempts). The events are stored;');
        expect((store.quarantine[0].payload as { events: AlertEvent[] }).events.map((event) => event.event_id)).toEqual([alertEvent().event_id, second.event_id]);
    });

    it('should write dead letters to a real store', async () => {
        const folder = mkdtempSync(join(tmpdir(), 'ul-channels-'));
        const store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
        try {
            const teams = await receiver([503, 503, 503]);
            const subject = new AlertNotifier({
                quarantine: async () => store,
                mailer: noMail,
                emailSeverities: [],
                channels: [{ kind: 'teams', name: 'teams', url: teams.url, severities: ['P1'] }],
                retry: { attempts: 3, delayMs: 5, maxDelayMs: 20 },
            });
            const { channels } = subject.send(notificationOf(alertEvent()));
            expect((await channels)[0].status).toBe('dead_letter');
            const rows = await store.listQuarantine({ source: 'alert-channel:teams' });
            expect(rows).toHaveLength(1);
            expect(rows[0]).toMatchObject({ code: 'delivery_failed', ref: alertEvent().event_id });
            expect(rows[0].reason).toContain('HTTP 503 (after 3 attempts)');
        } finally {
            await store.close();
            rmSync(folder, { recursive: true, force: true });
        }
    }, 60_000);
});
