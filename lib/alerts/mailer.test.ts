import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { startSmtpServer } from '../../test/support/smtp-receiver';
import type { AlertEvent } from '../types';
import { composeAlertEmail } from './email';
import { createMailer } from './mailer';

const event: AlertEvent = {
    event_id: '0f0e2a4c-1b7d-4a8e-9c61-5d2f3e4a5b6c',
    rule_id: 'tpt-pressure-collapse',
    asset_id: '3w-well-00012',
    metric: 'pressure_tpt',
    severity: 'P1',
    state: 'open',
    message: '3w-well-00012: pressure at the TPT fell 104.6 psi within 5m to 2850.2 psi',
    runbook: 'https://runbooks.example.com/tpt-pressure-collapse',
    opened_at: '2017-03-20T15:02:56.000Z',
    evidence: { value: 2850.2, reference: 2954.8 },
};

const servers: Server[] = [];

afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('outbox mailer', () => {
    it('should write an .eml file a mail program can open', async () => {
        const outboxDir = join(mkdtempSync(join(tmpdir(), 'ul-outbox-')), 'outbox');
        const mailer = createMailer({ to: ['control-room@example.com'], from: 'upstream-live@localhost', outboxDir });
        const path = await mailer.send(composeAlertEmail(event));
        mailer.close();

        expect(path).toBe(join(outboxDir, '2017-03-20T15-02-56.000Z-P1-tpt-pressure-collapse-3w-well-00012.eml'));
        expect(readdirSync(outboxDir)).toEqual(['2017-03-20T15-02-56.000Z-P1-tpt-pressure-collapse-3w-well-00012.eml']);
        const eml = readFileSync(path, 'utf8');
        expect(eml).toContain('Subject: [P1] tpt-pressure-collapse on 3w-well-00012');
        expect(eml).toContain('To: control-room@example.com');
        expect(eml).toContain('X-Upstream-Live-Event: 0f0e2a4c-1b7d-4a8e-9c61-5d2f3e4a5b6c');
        expect(eml).toContain('Content-Type: multipart/alternative');
        expect(eml).toContain('https://runbooks.example.com/tpt-pressure-collapse');
    });
});

describe('SMTP mailer', () => {
    it('should deliver through the configured server', async () => {
        const { server, port, log } = await startSmtpServer();
        servers.push(server);
        const mailer = createMailer({
            to: ['control-room@example.com', 'duty@example.com'],
            from: 'upstream-live@localhost',
            smtp: { host: '127.0.0.1', port, secure: false },
            outboxDir: '/nonexistent',
        });
        const messageId = await mailer.send(composeAlertEmail(event));
        mailer.close();

        expect(messageId).toMatch(/^<.+>$/);
        expect(log.commands).toContain('RCPT TO:<control-room@example.com>');
        expect(log.commands).toContain('RCPT TO:<duty@example.com>');
        expect(log.data).toHaveLength(1);
        expect(log.data[0]).toContain('Subject: [P1] tpt-pressure-collapse on 3w-well-00012');
    });

    it('should report a rejected recipient with its SMTP code', async () => {
        const { server, port } = await startSmtpServer(true);
        servers.push(server);
        const mailer = createMailer({ to: ['nobody@example.com'], from: 'upstream-live@localhost', smtp: { host: '127.0.0.1', port, secure: false }, outboxDir: '/nonexistent' });

        await expect(mailer.send(composeAlertEmail(event))).rejects.toMatchObject({ responseCode: 550 });
        mailer.close();
    });
});
