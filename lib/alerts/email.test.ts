import { describe, expect, it } from 'vitest';

import type { AlertEvent } from '../types';
import { composeAlertEmail, outboxFileName } from './email';

function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
    return {
        event_id: '7d1c6a56-2f4c-4f55-9a1e-0c3f2b1a9e01',
        rule_id: 'choke-upstream-pressure-rise',
        asset_id: '3w-well-00004',
        metric: 'pressure_upstream_choke',
        severity: 'P2',
        state: 'open',
        message: '3w-well-00004: pressure upstream of the production choke rose 20.3 psi within 5m to 864.1 psi',
        runbook: 'https://runbooks.example.com/choke <restriction>',
        opened_at: '2017-10-31T19:40:46.000Z',
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        evidence: { rule_kind: 'rate_of_change', value: 864.123456, reference: 843.8, window: '5m', resolved: { reason: 'x' } },
        ...overrides,
    };
}

describe('outboxFileName', () => {
    it('should use opened_at, severity, rule and asset in safe characters', () => {
        expect(outboxFileName(alertEvent())).toBe('2017-10-31T19-40-46.000Z-P2-choke-upstream-pressure-rise-3w-well-00004.eml');
    });

    it('should mark resolutions and replace unsafe characters', () => {
        const name = outboxFileName(alertEvent({ state: 'resolved', asset_id: '../etc/pass wd', rule_id: 'a/b' }));

        expect(name).toBe('2017-10-31T19-40-46.000Z-P2-a-b-..-etc-pass-wd-resolved.eml');
        expect(name).toMatch(/^[A-Za-z0-9._-]+$/);
    });
});

describe('composeAlertEmail', () => {
    it('should carry severity, asset, rule, message, evidence and runbook', () => {
        const email = composeAlertEmail(alertEvent());

        expect(email.subject).toBe('[P2] choke-upstream-pressure-rise on 3w-well-00004');
        expect(email.text).toContain('Severity:  P2');
        expect(email.text).toContain('Asset:     3w-well-00004');
        expect(email.text).toContain('Rule:      choke-upstream-pressure-rise');
        expect(email.text).toContain('rose 20.3 psi within 5m');
        expect(email.text).toContain('  value: 864.1235');
        expect(email.text).toContain('  resolved: {"reason":"x"}');
        expect(email.text).toContain('Runbook: https://runbooks.example.com/choke <restriction>');
        expect(email.html).toContain('<a href="https://runbooks.example.com/choke &lt;restriction&gt;">');
        expect(email.headers['X-Upstream-Live-Event']).toBe('7d1c6a56-2f4c-4f55-9a1e-0c3f2b1a9e01');
    });

    it('should carry the acknowledge link of an unresolved alert', () => {
        const open = composeAlertEmail(alertEvent(), undefined, 'https://regulator.example.com/');
        const resolved = composeAlertEmail(alertEvent({ state: 'resolved', resolved_at: '2017-10-31T19:50:00.000Z' }), undefined, 'https://regulator.example.com');

        expect(open.text).toContain('Acknowledge: POST https://regulator.example.com/v1/alerts/7d1c6a56-2f4c-4f55-9a1e-0c3f2b1a9e01/ack');
        expect(open.html).toContain('<code>https://regulator.example.com/v1/alerts/7d1c6a56-2f4c-4f55-9a1e-0c3f2b1a9e01/ack</code>');
        expect(resolved.text).not.toContain('Acknowledge');
    });

    it('should show the resolution and a repository runbook path', () => {
        const email = composeAlertEmail(alertEvent({ state: 'resolved', resolved_at: '2017-10-31T19:50:00.000Z', resolved_by: 'rule', runbook: 'docs/runbooks/x.md' }));

        expect(email.subject).toBe('[P2 resolved] choke-upstream-pressure-rise on 3w-well-00004');
        expect(email.text).toContain('Resolved at: 2017-10-31T19:50:00.000Z');
        expect(email.html).toContain('Runbook: <code>docs/runbooks/x.md</code>');
    });
});
