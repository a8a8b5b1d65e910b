// The alert router on the embedded store with an injected clock: sweeps run when the test calls
// them, so minutes of escalation and reminder time pass without waiting.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../paths';
import { closeAllStores, openStore, type StoreHandle } from '../store';
import type { AlertEvent, Asset } from '../types';
import type { AlertEmail } from './email';
import { alertEventId } from './event-id';
import type { Mailer } from './mailer';
import { AlertRouter, type AlertRouterOptions, type RouterStore, type SweepReport } from './router';

const T0 = Date.parse('2026-05-04T08:00:00.000Z');
const SECOND = 1_000;
const MINUTE = 60 * SECOND;

const folder = mkdtempSync(join(tmpdir(), 'ul-alert-router-'));
let store: StoreHandle;

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
    const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };
    await store.upsertAssets(registry.assets);
}, 60_000);

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

beforeEach(async () => {
    // Each test starts without alerts or silences, because a sweep reads all of them.
    await store.query('DELETE FROM events');
    await store.query('DELETE FROM silences');
});

/** Mailer that records every email. */
class RecordingMailer implements Mailer {
    readonly mode = 'outbox' as const;
    readonly sent: AlertEmail[] = [];

    async send(email: AlertEmail): Promise<string> {
        this.sent.push(email);
        return `/outbox/${email.fileName}`;
    }

    close(): void {}
}

/** Returns an open event on `asset` whose reading time is `minute` minutes into a 2016 replay. */
function opened(asset: string, minute = 0, overrides: Partial<AlertEvent> = {}): AlertEvent {
    const ruleId = overrides.rule_id ?? 'tpt-pressure-collapse';
    const metric = overrides.metric ?? 'pressure_tpt';
    const openedAt = new Date(Date.parse('2016-06-01T10:00:00.000Z') + minute * MINUTE).toISOString();
    return {
        event_id: alertEventId(ruleId, asset, metric, openedAt),
        rule_id: ruleId,
        asset_id: asset,
        metric,
        severity: 'P1',
        state: 'open',
        message: `${asset}: pressure at the TPT fell 120 psi within 5m`,
        runbook: 'docs/runbooks/tpt-pressure-collapse.md',
        opened_at: openedAt,
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        evidence: { value: 2850 },
        ...overrides,
    };
}

function resolved(event: AlertEvent, at = '2016-06-01T12:00:00.000Z'): AlertEvent {
    return { ...event, state: 'resolved', resolved_at: at, resolved_by: 'rule' };
}

interface Harness {
    router: AlertRouter;
    mailer: RecordingMailer;
    /** Moves the clock to `ms` after T0. */
    setClock(ms: number): void;
    /** Moves the clock to `ms` after T0, sweeps and waits for the emails of the sweep. */
    sweepAt(ms: number): Promise<SweepReport>;
}

function harness(options: Partial<AlertRouterOptions> = {}, routerStore: () => Promise<RouterStore> = async () => store): Harness {
    let clock = T0;
    const mailer = new RecordingMailer();
    const router = new AlertRouter({
        store: routerStore,
        mailer,
        emailSeverities: ['P1', 'P2', 'P3'],
        retry: { delayMs: 1, maxDelayMs: 5 },
        now: () => clock,
        sweepIntervalMs: 0,
        siteCacheMs: 0,
        ...options,
    });
    return {
        router,
        mailer,
        setClock(ms) {
            clock = T0 + ms;
        },
        async sweepAt(ms) {
            clock = T0 + ms;
            const report = await router.sweep();
            await Promise.all(report.sent.map((sent) => sent.email));
            return report;
        },
    };
}

describe('AlertRouter', () => {
    it('should count a repeated open instead of notifying again', async () => {
        const { router, mailer, setClock, sweepAt } = harness();
        const first = await router.route(opened('volve-15-9-f-11'));
        await sweepAt(30 * SECOND);
        // The rules node restarted and opened the same condition again with a new reading time.
        setClock(40 * SECOND);
        const again = await router.route(opened('volve-15-9-f-11', 7));
        await sweepAt(2 * MINUTE);

        expect(first.outcome).toBe('inserted');
        expect(again.outcome).toBe('repeated');
        expect(again.stored.event_id).toBe(first.stored.event_id);
        expect(again.alert?.repeat_count).toBe(1);
        expect(mailer.sent.map((email) => email.subject)).toEqual(['[P1] tpt-pressure-collapse on volve-15-9-f-11']);
        expect(await store.listStoredAlerts()).toHaveLength(1);
    });

    it('should resolve the repeated alert when the repeat clears', async () => {
        const { router } = harness();
        const original = opened('volve-15-9-f-11');
        const repeat = opened('volve-15-9-f-11', 7);
        await router.route(original);
        await router.route(repeat);
        const result = await router.route(resolved(repeat));

        expect(result.outcome).toBe('updated');
        expect(result.stored).toMatchObject({ event_id: original.event_id, state: 'resolved', resolved_by: 'rule' });
        expect(await store.listStoredAlerts({ event_ids: [repeat.event_id] })).toEqual([]);
    });

    it('should send alerts of one field within the window as one email', async () => {
        const { router, mailer, setClock, sweepAt } = harness();
        await router.route(opened('volve-15-9-f-11', 0, { severity: 'P2' }));
        await router.route(opened('volve-15-9-f-1-c', 0, { severity: 'P3' }));
        setClock(10 * SECOND);
        await router.route(opened('volve-15-9-f-12', 0, { severity: 'P2' }));

        const early = await sweepAt(29 * SECOND);
        const volve = await sweepAt(30 * SECOND);
        const later = await sweepAt(45 * SECOND);

        expect(early.sent).toEqual([]);
        expect(volve.sent).toHaveLength(1);
        expect(later.sent).toEqual([]);
        expect(mailer.sent.map((email) => email.subject)).toEqual(['[P2] 3 alerts on VOLVE']);
        const lines = mailer.sent[0].text.split('\n').filter((line) => line.startsWith('['));
        // Highest severity first, then by opening time and event id.
        expect(lines).toEqual([
            '[P2 opened] tpt-pressure-collapse on volve-15-9-f-12',
            '[P2 opened] tpt-pressure-collapse on volve-15-9-f-11',
            '[P3 opened] tpt-pressure-collapse on volve-15-9-f-1-c',
        ]);
    });

    it('should send a P1 opening at once', async () => {
        const { router, mailer, setClock, sweepAt } = harness();
        await router.route(opened('volve-15-9-f-11', 0, { severity: 'P2' }));
        await sweepAt(0);
        setClock(2 * SECOND);
        await router.route(opened('3w-well-00001'));
        const threeW = await sweepAt(2 * SECOND);
        setClock(5 * SECOND);
        await router.route(opened('volve-15-9-f-12'));
        const volve = await sweepAt(5 * SECOND);
        // A P1 opening 10 s after its field's last message waits for the window.
        setClock(15 * SECOND);
        await router.route(opened('volve-15-9-f-1-c'));
        const held = await sweepAt(15 * SECOND);
        const windowEnd = await sweepAt(45 * SECOND);

        expect(threeW.sent).toHaveLength(1);
        expect(volve.sent).toHaveLength(1);
        expect(held.sent).toEqual([]);
        expect(windowEnd.sent).toHaveLength(1);
        expect(mailer.sent.map((email) => email.subject)).toEqual([
            '[P1] tpt-pressure-collapse on 3w-well-00001',
            '[P1] 2 alerts on VOLVE',
            '[P1] tpt-pressure-collapse on volve-15-9-f-1-c',
        ]);
    });

    it('should not send a storm for a flapping signal', async () => {
        const { router, mailer, setClock, sweepAt } = harness();
        // The condition opens at even seconds and clears at odd ones for two minutes, with a
        // sweep every second as the router's timers would run them.
        let open: AlertEvent | undefined;
        for (let second = 0; second < 120; second++) {
            setClock(second * SECOND);
            if (second % 2 === 0) {
                open = opened('volve-15-9-f-11', second / 60);
                await router.route(open);
            } else if (open) {
                await router.route(resolved(open, new Date(Date.parse(open.opened_at) + SECOND).toISOString()));
            }
            await sweepAt(second * SECOND);
        }
        await sweepAt(10 * MINUTE);

        // 60 openings and 60 resolutions. By hand: the first opening is a P1 in a group without a
        // message yet, so it goes out at once. After that the group has always sent a message
        // less than a window before, so each message goes out a window after its oldest waiting
        // notification, the resolution announced 1 s after the previous message. Each such message
        // lists that resolution, the 14 openings that opened and resolved meanwhile, and the
        // opening just before it: 16 lines. The last one, after the loop, lists the resolution
        // and 14 openings. Openings: 1 + 15 + 15 + 15 + 14 = 60.
        const lines = mailer.sent.map((email) => email.text.split('\n').filter((line) => line.startsWith('[')).length);
        expect(mailer.sent.map((email) => email.subject)).toEqual([
            '[P1] tpt-pressure-collapse on volve-15-9-f-11',
            '[P1] 16 alerts on VOLVE',
            '[P1] 16 alerts on VOLVE',
            '[P1] 16 alerts on VOLVE',
            '[P1 resolved] 15 alerts on VOLVE',
        ]);
        expect(lines.slice(1)).toEqual([16, 16, 16, 15]);
    });

    it('should escalate an unacknowledged alert until it is acknowledged', async () => {
        const { router, mailer, sweepAt } = harness({
            defaultEscalation: [
                { afterMs: 15 * MINUTE, to: 'P2' },
                { afterMs: 30 * MINUTE, to: 'P1' },
            ],
            reminders: {},
        });
        const event = opened('volve-15-9-f-11', 0, { severity: 'P3' });
        await router.route(event);
        await sweepAt(30 * SECOND);

        // First notified at 30 s, so the P2 step is due at 15 min 30 s and the P1 step at 45 min 30 s.
        expect((await sweepAt(15 * MINUTE + 29 * SECOND)).escalated).toEqual([]);
        const step = await sweepAt(15 * MINUTE + 30 * SECOND);
        await sweepAt(16 * MINUTE);
        expect(step.escalated.map((alert) => [alert.severity, alert.escalation_step])).toEqual([['P2', 1]]);
        expect(step.nextDueMs).toBe(T0 + 16 * MINUTE);
        const [audit] = await store.listAudit(1);
        expect(audit).toMatchObject({ actor: 'escalation', action: 'alert.escalate', subject: event.event_id });

        await store.updateEventState(event.event_id, 'acknowledged', 'equinor-ops', new Date(T0 + 20 * MINUTE).toISOString());
        const later = await sweepAt(3 * 60 * MINUTE);

        expect(later.escalated).toEqual([]);
        expect(mailer.sent.map((email) => email.subject)).toEqual([
            '[P3] tpt-pressure-collapse on volve-15-9-f-11',
            '[P2, escalated from P3] tpt-pressure-collapse on volve-15-9-f-11',
        ]);
        const [alert] = await store.listStoredAlerts({ event_ids: [event.event_id] });
        expect(alert).toMatchObject({ severity: 'P2', opened_severity: 'P3', state: 'acknowledged' });
    });

    it('should take the policy of the rule before the default', async () => {
        const { router, sweepAt } = harness({
            defaultEscalation: [{ afterMs: 5 * MINUTE, to: 'P1' }],
            ruleEscalations: () => new Map([['stuck-transmitter', [{ afterMs: 60 * MINUTE, to: 'P2' as const }]]]),
            reminders: {},
        });
        await router.route(opened('volve-15-9-f-11', 0, { severity: 'P3', rule_id: 'stuck-transmitter' }));
        await router.route(opened('volve-15-9-f-12', 0, { severity: 'P3' }));
        await sweepAt(30 * SECOND);
        const report = await sweepAt(5 * MINUTE + 30 * SECOND);

        expect(report.escalated.map((alert) => [alert.rule_id, alert.severity])).toEqual([['tpt-pressure-collapse', 'P1']]);
    });

    it('should remind every interval until the alert is acknowledged', async () => {
        const { router, mailer, sweepAt } = harness({ reminders: { P1: 30 * MINUTE } });
        const event = opened('3w-well-00001');
        await router.route(event);
        await sweepAt(30 * SECOND);
        // Reminders wait a group window like every other notification.
        const due = await sweepAt(30 * MINUTE + 30 * SECOND);
        await sweepAt(31 * MINUTE);
        await sweepAt(61 * MINUTE);
        await sweepAt(61 * MINUTE + 30 * SECOND);
        await store.updateEventState(event.event_id, 'acknowledged', 'petrobras-ops', new Date(T0 + 70 * MINUTE).toISOString());
        await sweepAt(5 * 60 * MINUTE);

        expect(due.reminded.map((alert) => alert.event_id)).toEqual([event.event_id]);
        expect(mailer.sent.map((email) => email.subject)).toEqual([
            '[P1] tpt-pressure-collapse on 3w-well-00001',
            '[P1 reminder] tpt-pressure-collapse on 3w-well-00001',
            '[P1 reminder] tpt-pressure-collapse on 3w-well-00001',
        ]);
    });

    it('should hold back a silenced alert and notify it when the silence ends', async () => {
        const { router, mailer, setClock, sweepAt } = harness();
        await store.createSilence({ field: 'VOLVE', starts_at: new Date(T0).toISOString(), ends_at: new Date(T0 + 60 * MINUTE).toISOString(), reason: 'Turnaround', created_by: 'admin' });
        setClock(MINUTE);
        const silenced = await router.route(opened('volve-15-9-f-11'));
        const short = opened('volve-15-9-f-12');
        await router.route(short);
        setClock(2 * MINUTE);
        await router.route(resolved(short));
        const during = await sweepAt(30 * MINUTE);

        expect(silenced.alert).toMatchObject({ silenced: true, notify_pending_since: null });
        expect(during.sent).toEqual([]);

        const ended = await sweepAt(60 * MINUTE);
        await sweepAt(60 * MINUTE + 30 * SECOND);

        expect(ended.unsilenced.map((alert) => alert.event_id)).toEqual([silenced.stored.event_id]);
        // The alert resolved during the silence is never announced.
        expect(mailer.sent.map((email) => email.subject)).toEqual(['[P1] tpt-pressure-collapse on volve-15-9-f-11']);
    });

    it('should pick up reminders and group windows after a restart', async () => {
        const before = harness({ reminders: { P1: 30 * MINUTE } });
        const event = opened('3w-well-00001');
        await before.router.route(event);
        await before.sweepAt(30 * SECOND);
        before.setClock(40 * MINUTE);
        await before.router.route(opened('volve-15-9-f-11'));
        await before.router.close();

        // A new router on the same store, as after a restart of the runtime.
        const after = harness({ reminders: { P1: 30 * MINUTE } });
        const report = await after.sweepAt(40 * MINUTE + 30 * SECOND);

        expect(before.mailer.sent).toHaveLength(1);
        // The reminder of the first alert was due at 30 min 30 s, so it waits from now, 40 min 30 s.
        // The second alert has waited since 40 min, so its group is due now.
        expect(report.reminded.map((alert) => alert.event_id)).toEqual([event.event_id]);
        expect(after.mailer.sent.map((email) => email.subject)).toEqual(['[P1] tpt-pressure-collapse on volve-15-9-f-11']);
        await after.sweepAt(41 * MINUTE);
        expect(after.mailer.sent.map((email) => email.subject)[1]).toBe('[P1 reminder] tpt-pressure-collapse on 3w-well-00001');
    });

    it('should not notify when the store write fails', async () => {
        const failing: RouterStore = Object.assign(Object.create(store) as RouterStore, {
            openAlert: async () => {
                throw new Error('database is down');
            },
        });
        const { router, mailer } = harness({}, async () => failing);

        await expect(router.route(opened('volve-15-9-f-11'))).rejects.toThrow('database is down');
        expect(mailer.sent).toEqual([]);
    });

    it('should sweep by itself on its timers', async () => {
        const mailer = new RecordingMailer();
        const router = new AlertRouter({ store: async () => store, mailer, emailSeverities: ['P1'], groupWindowMs: 50, sweepIntervalMs: 60_000 });
        try {
            router.start();
            await router.route(opened('volve-15-9-f-11'));
            // The route sets a timer for the end of the group window, 50 ms on.
            const deadline = Date.now() + 5_000;
            while (mailer.sent.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

            expect(mailer.sent.map((email) => email.subject)).toEqual(['[P1] tpt-pressure-collapse on volve-15-9-f-11']);
        } finally {
            await router.close();
        }
    });
});
