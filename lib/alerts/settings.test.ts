import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { parseChannelSettings, parseLifecycleSettings, parseRouterSettings } from './settings';

describe('parseRouterSettings', () => {
    it('should default to the outbox under the data folder and P1,P2', () => {
        const settings = parseRouterSettings({}, {}, '/var/lib/upstream-live');

        expect(settings).toEqual({
            mail: { to: [], from: 'upstream-live@localhost', outboxDir: '/var/lib/upstream-live/outbox' },
            emailSeverities: ['P1', 'P2'],
            retryDelayMs: 1000,
            channels: [],
            baseUrl: 'http://127.0.0.1:1880',
            lifecycle: {
                groupWindowMs: 30_000,
                reminders: { P1: 1_800_000, P2: 7_200_000 },
                defaultEscalation: [],
                rulesFile: '',
                sweepIntervalMs: 10_000,
            },
        });
    });

    it('should configure SMTP with credentials and the implicit TLS port', () => {
        const settings = parseRouterSettings(
            { smtpHost: ' mail.example.com ', smtpPort: '', smtpSecure: true, to: 'a@example.com, b@example.com', severities: 'P1', outboxDir: '/tmp/out' },
            { user: 'alerts', password: 'secret' },
            '/data',
        );

        expect(settings.mail).toEqual({
            to: ['a@example.com', 'b@example.com'],
            from: 'upstream-live@localhost',
            smtp: { host: 'mail.example.com', port: 465, secure: true, user: 'alerts', password: 'secret' },
            outboxDir: '/tmp/out',
        });
        expect(settings.emailSeverities).toEqual(['P1']);
    });

    it('should send no email for an empty severity list', () => {
        expect(parseRouterSettings({ severities: '' }, {}, '/data').emailSeverities).toEqual([]);
    });

    it.each([
        [{ severities: 'P1,P4' }, "Email severities list 'P4', which is not P1, P2 or P3; enter a list such as P1,P2."],
        [{ smtpHost: 'mail', to: 'a@example.com', smtpPort: '99999' }, "SMTP port '99999' is not a port number; enter a whole number from 1 to 65535, such as 587."],
        [{ smtpHost: 'mail' }, 'No recipients are set for the mail server mail; enter one or more addresses in To, separated by commas.'],
        [{ retryDelayMs: 'soon' }, "Retry delay 'soon' is not a number of milliseconds; enter a value such as 1000."],
    ])('should reject %j', (config, message) => {
        expect(() => parseRouterSettings(config, {}, '/data')).toThrow(new ConfigError(message));
    });
});

describe('parseChannelSettings', () => {
    const env = { TEAMS_URL: 'https://teams.example.com/hook/abc', SLACK_TOKEN: 'T0/B0/xyz', ONCALL: '+4790000000' };

    it('should expand environment variables', () => {
        const settings = parseChannelSettings(
            {
                teamsUrl: '${TEAMS_URL}',
                slackUrl: 'https://hooks.slack.example.com/services/${SLACK_TOKEN}',
                smsUrl: 'http://127.0.0.1:9000/sms',
                smsTo: '${ONCALL}, +4791111111',
                webhookSeverities: 'P1',
                baseUrl: 'https://live.example.com/',
            },
            env,
        );
        expect(settings).toEqual({
            channels: [
                { kind: 'teams', name: 'teams', url: 'https://teams.example.com/hook/abc', severities: ['P1'] },
                { kind: 'slack', name: 'slack', url: 'https://hooks.slack.example.com/services/T0/B0/xyz', severities: ['P1'] },
                { kind: 'sms', name: 'sms', url: 'http://127.0.0.1:9000/sms', severities: ['P1'], to: ['+4790000000', '+4791111111'] },
            ],
            baseUrl: 'https://live.example.com',
        });
    });

    it('should report invalid channel settings', () => {
        expect(() => parseChannelSettings({ slackUrl: '${MISSING_HOOK}' }, env)).toThrow(
            'Slack webhook URL uses ${MISSING_HOOK}, but the environment variable MISSING_HOOK is not set; set it before starting Node-RED or enter the value directly.',
        );
        expect(() => parseChannelSettings({ teamsUrl: 'ftp://example.com/x' }, env)).toThrow("Teams webhook URL 'ftp://example.com/x' is not an http(s) URL");
        expect(() => parseChannelSettings({ smsUrl: 'http://127.0.0.1:9000/sms' }, env)).toThrow(ConfigError);
        expect(() => parseChannelSettings({ smsSeverities: 'P4' }, env)).toThrow("SMS severities lists 'P4'");
    });
});

describe('parseLifecycleSettings', () => {
    it('should read the group window, reminders, escalation and rules file', () => {
        const settings = parseLifecycleSettings({
            groupWindow: '0s',
            reminderP1: '15m',
            reminderP2: '',
            reminderP3: '8h',
            escalation: '10m P2, 20m P1',
            rulesFile: ' flows/rules.yaml ',
            sweepInterval: '500ms',
        });

        expect(settings).toEqual({
            groupWindowMs: 0,
            reminders: { P1: 900_000, P3: 28_800_000 },
            defaultEscalation: [
                { afterMs: 600_000, to: 'P2' },
                { afterMs: 1_200_000, to: 'P1' },
            ],
            rulesFile: 'flows/rules.yaml',
            sweepIntervalMs: 500,
        });
    });

    it.each([
        [{ groupWindow: '11m' }, "Group window '11m' is not a duration from 0s to 10m; enter one such as 30s, or 0s to send each alert alone."],
        [{ groupWindow: 'half a minute' }, "Group window 'half a minute' is not a duration from 0s to 10m; enter one such as 30s, or 0s to send each alert alone."],
        [{ sweepInterval: '10ms' }, "Check interval '10ms' is not a duration from 100ms to 10m; enter one such as 10s."],
        [{ reminderP1: '10s' }, "Reminder interval for P1 '10s' is shorter than 1m; enter 1m or more, or leave it empty for no reminders."],
        [{ escalation: 'P2 after 15m' }, "Default escalation step 'P2 after 15m' is not a duration and a severity; enter steps such as '15m P2, 30m P1'."],
    ])('should reject %j', (config, message) => {
        expect(() => parseLifecycleSettings(config)).toThrow(new ConfigError(message));
    });
});
