// Alert lifecycle columns and silences on the embedded engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AlertEvent } from '../types';
import { closeAllStores, openStore } from './index';
import type { Store } from './types';

const folder = mkdtempSync(join(tmpdir(), 'ul-alert-lifecycle-'));
let store: Store;

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
}, 60_000);

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

const T0 = '2026-05-04T08:00:00.000Z';
const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1_000).toISOString();

function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
    return {
        event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e01',
        rule_id: 'tpt-pressure-collapse',
        asset_id: 'volve-15-9-f-1',
        metric: 'pressure_tpt',
        severity: 'P2',
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

describe('alert lifecycle in the store', () => {
    it('should store a new alert with a waiting notification', async () => {
        const result = await store.openAlert(alertEvent(), { at: at(0), group_key: 'field:VOLVE' });

        expect(result.outcome).toBe('inserted');
        expect(result.alert).toMatchObject({
            event_id: alertEvent().event_id,
            state: 'open',
            severity: 'P2',
            opened_severity: 'P2',
            repeat_count: 0,
            group_key: 'field:VOLVE',
            silenced: false,
            silence_id: null,
            notify_pending_since: at(0),
            first_notified_at: null,
        });
        const [audit] = await store.listAudit(1);
        expect(audit).toMatchObject({ actor: 'rule', action: 'alert.open', subject: alertEvent().event_id });
    });

    it('should count a repeated open of the same condition', async () => {
        // A second incident id for the same rule, asset and metric, as after a restart of the rules node.
        const repeat = alertEvent({ event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e02', opened_at: '2016-06-01T10:07:00.000Z' });
        const first = await store.openAlert(repeat, { at: at(5), group_key: 'field:VOLVE' });
        const second = await store.openAlert({ ...repeat, event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e03' }, { at: at(9), group_key: 'field:VOLVE' });

        expect(first.outcome).toBe('repeated');
        expect(second.outcome).toBe('repeated');
        expect(second.alert.event_id).toBe(alertEvent().event_id);
        expect(second.alert.repeat_count).toBe(2);
        expect(second.alert.last_repeated_at).toBe(at(9));
        const stored = await store.listStoredAlerts({ condition: { rule_id: 'tpt-pressure-collapse', asset_id: 'volve-15-9-f-1', metric: 'pressure_tpt' } });
        expect(stored).toHaveLength(1);
    });

    it('should report a redelivered event as a duplicate', async () => {
        const result = await store.openAlert(alertEvent(), { at: at(12), group_key: 'field:VOLVE' });

        expect(result.outcome).toBe('duplicate');
        expect(result.alert.repeat_count).toBe(2);
    });

    it('should claim a waiting notification once', async () => {
        const id = alertEvent().event_id;
        const first = await store.claimAlertNotifications([id], at(30));
        const second = await store.claimAlertNotifications([id], at(31));
        const [alert] = await store.listStoredAlerts({ event_ids: [id] });

        expect(first).toEqual([id]);
        expect(second).toEqual([]);
        expect(alert).toMatchObject({ notify_pending_since: null, first_notified_at: at(30), last_notified_at: at(30), notified_severity: 'P2', notified_state: 'open' });
    });

    it('should drop the waiting notification of an acknowledged alert', async () => {
        const event = alertEvent({ event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e05', rule_id: 'stuck-c', asset_id: 'volve-d' });
        await store.openAlert(event, { at: at(0), group_key: 'field:VOLVE' });
        await store.updateEventState(event.event_id, 'acknowledged', 'equinor-ops', at(5));

        expect(await store.claimAlertNotifications([event.event_id], at(30))).toEqual([event.event_id]);
        const [alert] = await store.listStoredAlerts({ event_ids: [event.event_id] });
        expect(alert).toMatchObject({ notify_pending_since: null, first_notified_at: null, last_notified_at: null, notified_state: null });
    });

    it('should escalate with a compare-and-set and audit it', async () => {
        const id = alertEvent().event_id;
        const change = { from_step: 0, from_severity: 'P2' as const, to_step: 1, to_severity: 'P1' as const, at: at(900) };
        const escalated = await store.escalateAlert(id, change);
        const again = await store.escalateAlert(id, change);

        expect(escalated).toMatchObject({ severity: 'P1', opened_severity: 'P2', escalation_step: 1, escalated_at: at(900), notify_pending_since: at(900) });
        expect(again).toBeUndefined();
        const [audit] = await store.listAudit(1);
        expect(audit).toMatchObject({ actor: 'escalation', action: 'alert.escalate', subject: id, at: at(900) });
        expect(audit.details).toMatchObject({ from: 'P2', to: 'P1', step: 1 });
        expect(await store.verifyAudit()).toBeUndefined();
    });

    it('should not escalate an acknowledged alert', async () => {
        const event = alertEvent({ event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e10', rule_id: 'choke-upstream-pressure-rise', metric: 'pressure_upstream_choke' });
        await store.openAlert(event, { at: at(0), group_key: 'field:VOLVE' });
        await store.updateEventState(event.event_id, 'acknowledged', 'petrobras-ops', at(60));

        expect(await store.escalateAlert(event.event_id, { from_step: 0, from_severity: 'P2', to_step: 1, to_severity: 'P1', at: at(900) })).toBeUndefined();
    });

    it('should list only alerts with work left as active', async () => {
        const resolvedUnannounced = alertEvent({ event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e20', rule_id: 'stuck-a', asset_id: 'volve-a' });
        await store.openAlert(resolvedUnannounced, { at: at(0), group_key: 'field:VOLVE' });
        await store.claimAlertNotifications([resolvedUnannounced.event_id], at(30));
        await store.updateEventState(resolvedUnannounced.event_id, 'resolved', 'rule', at(40));
        const resolvedAnnounced = alertEvent({ event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e21', rule_id: 'stuck-b', asset_id: 'volve-b' });
        await store.openAlert(resolvedAnnounced, { at: at(0), group_key: 'field:VOLVE' });
        await store.updateEventState(resolvedAnnounced.event_id, 'resolved', 'rule', at(10));
        await store.claimAlertNotifications([resolvedAnnounced.event_id], at(30));

        const active = (await store.listStoredAlerts({ active: true })).map((alert) => alert.event_id);

        expect(active).toContain(resolvedUnannounced.event_id);
        expect(active).not.toContain(resolvedAnnounced.event_id);
        // The acknowledged alert of the test before is unresolved, so the router still watches it.
        expect(active).toContain('5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e10');
    });

    it('should request a notification unless one waits', async () => {
        const id = alertEvent().event_id;
        await store.claimAlertNotifications([id], at(930));

        expect(await store.requestAlertNotification(id, at(2_730))).toBe(true);
        expect(await store.requestAlertNotification(id, at(2_731))).toBe(false);
        const [alert] = await store.listStoredAlerts({ event_ids: [id] });
        expect(alert.notify_pending_since).toBe(at(2_730));
    });
});

describe('silences in the store', () => {
    it('should create, list and expire a silence with audit entries', async () => {
        const silence = await store.createSilence({
            field: 'VOLVE',
            starts_at: at(0),
            ends_at: at(7_200),
            reason: 'Turnaround of the Volve process train',
            created_by: 'regulator-admin-1',
        });

        expect(silence).toMatchObject({ field: 'VOLVE', asset_id: null, operator: null, rule_id: null, ends_at: at(7_200), expired_at: null });
        expect(silence.silence_id).toMatch(/^[0-9a-f-]{36}$/);
        expect((await store.listSilences({ active_at: at(3_600) })).map((s) => s.silence_id)).toEqual([silence.silence_id]);
        expect(await store.listSilences({ active_at: at(7_200) })).toEqual([]);

        const expired = await store.expireSilence(silence.silence_id, 'equinor-ops', at(1_800));
        const again = await store.expireSilence(silence.silence_id, 'equinor-ops', at(1_900));

        expect(expired.changed).toBe(true);
        expect(expired.silence).toMatchObject({ ends_at: at(1_800), expired_at: at(1_800), expired_by: 'equinor-ops' });
        expect(again.changed).toBe(false);
        expect(await store.listSilences({ active_at: at(1_801) })).toEqual([]);
        const [expireEntry, createEntry] = await store.listAudit(2);
        expect([createEntry.action, createEntry.actor]).toEqual(['silence.create', 'regulator-admin-1']);
        expect([expireEntry.action, expireEntry.actor]).toEqual(['silence.expire', 'equinor-ops']);
        expect(createEntry.details).toMatchObject({ field: 'VOLVE', reason: 'Turnaround of the Volve process train' });
    });

    it('should end a silence that has not started at its start', async () => {
        const silence = await store.createSilence({ rule_id: 'stuck-a', starts_at: at(3_600), ends_at: at(7_200), reason: 'Planned transmitter swap', created_by: 'admin' });
        const { silence: expired } = await store.expireSilence(silence.silence_id, 'admin', at(60));

        expect(expired?.ends_at).toBe(at(3_600));
    });

    it('should store a silenced alert without a waiting notification', async () => {
        const silence = await store.createSilence({ asset_id: 'volve-c', starts_at: at(0), ends_at: at(600), reason: 'Well test', created_by: 'admin' });
        const event = alertEvent({ event_id: '5d0c3a6e-0c0e-5b6a-8f55-0a1b2c3d4e30', asset_id: 'volve-c' });
        const { alert } = await store.openAlert(event, { at: at(10), group_key: 'field:VOLVE', silence_id: silence.silence_id });

        expect(alert).toMatchObject({ silenced: true, silence_id: silence.silence_id, notify_pending_since: null });
        expect(await store.requestAlertNotification(event.event_id, at(20))).toBe(false);
        expect((await store.listStoredAlerts({ silence_id: silence.silence_id })).map((a) => a.event_id)).toEqual([event.event_id]);

        // The end of the silence makes the open alert's notification wait to be sent.
        const cleared = await store.setAlertSilence(event.event_id, null, at(600));
        expect(cleared).toMatchObject({ silenced: false, silence_id: null, notify_pending_since: at(600) });
        expect(await store.setAlertSilence(event.event_id, null, at(601))).toBeUndefined();
    });

    it('should reject a time that is not ISO 8601', async () => {
        await expect(store.createSilence({ asset_id: 'x', starts_at: 'now', ends_at: at(60), reason: 'r', created_by: 'admin' })).rejects.toThrow('Invalid starts_at "now"');
    });
});
