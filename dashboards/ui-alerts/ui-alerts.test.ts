import { createRequire } from 'node:module';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { AlertsData } from '../lib/protocol';
import { alertEvent, completionNodes, deliver, fakeRuntime, reading, signIn, widgetState } from '../shared/test-support';
import pageNode from '../ui-page/ui-page';
import alertsNode from './ui-alerts';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const ts = (minute: number): string => new Date(Date.UTC(2017, 2, 20, 14, minute)).toISOString();
const WS_PATH = '/dashboard/ws';

function flow(options: Record<string, unknown> = {}): Record<string, unknown>[] {
    return [
        { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: '', interval: 50 },
        { id: 'alerts', type: 'ul-ui-alerts', page: 'page', maxEvents: 200, ...options },
        ...completionNodes('alerts'),
    ];
}

async function alertsState(token = 'admin-token'): Promise<AlertsData> {
    const { client, state } = await signIn(`${helper.url()}${WS_PATH}`, token);
    client.close();
    return widgetState<AlertsData>(state, 'alerts');
}

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    await helper.startServer();
});

beforeEach(() => {
    helper.settings({ upstreamLive: fakeRuntime() });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await helper.stopServer();
});

describe('ul-ui-alerts', () => {
    it('should list open alerts first, newest first', async () => {
        await helper.load([pageNode, alertsNode], flow());

        await deliver(helper, 'alerts', [
            alertEvent('old-open', '3w-well-00001', 'P2', 'open', ts(1)),
            alertEvent('resolved', '3w-well-00001', 'P1', 'resolved', ts(9)),
            alertEvent('new-open', '3w-well-00003', 'P3', 'open', ts(5)),
            alertEvent('acknowledged', '3w-well-00004', 'P1', 'acknowledged', ts(8)),
        ]);
        const alerts = await alertsState();

        expect(alerts.events.map((event) => event.event_id)).toEqual(['new-open', 'old-open', 'acknowledged', 'resolved']);
    });

    it('should update an alert in place', async () => {
        await helper.load([pageNode, alertsNode], flow());
        await deliver(helper, 'alerts', alertEvent('ev-1', '3w-well-00001', 'P1', 'open', ts(0)));
        const { client } = await signIn(`${helper.url()}${WS_PATH}`, 'admin-token');

        await deliver(helper, 'alerts', { ...alertEvent('ev-1', '3w-well-00001', 'P1', 'acknowledged', ts(0)), acknowledged_by: 'ada' });
        const update = await client.next('update');
        client.close();
        const alerts = await alertsState();

        expect(update.updates[0].data).toEqual({ events: [expect.objectContaining({ event_id: 'ev-1', state: 'acknowledged', acknowledged_by: 'ada' })] });
        expect(alerts.events.length).toBe(1);
        expect(alerts.events[0].state).toBe('acknowledged');
    });

    it('should drop resolved alerts first when full', async () => {
        await helper.load([pageNode, alertsNode], flow({ maxEvents: 10 }));
        const open = Array.from({ length: 8 }, (_, index) => alertEvent(`open-${index}`, '3w-well-00001', 'P2', 'open', ts(index)));
        const resolved = Array.from({ length: 4 }, (_, index) => alertEvent(`resolved-${index}`, '3w-well-00001', 'P2', 'resolved', ts(30 + index)));

        await deliver(helper, 'alerts', [...open, ...resolved]);
        const alerts = await alertsState();
        const ids = alerts.events.map((event) => event.event_id);

        expect(ids.length).toBe(10);
        expect(ids.filter((id) => id.startsWith('open-')).length).toBe(8);
        expect(ids).toContain('resolved-3');
        expect(ids).not.toContain('resolved-0');
    });

    it('should show an operator only its alerts', async () => {
        await helper.load([pageNode, alertsNode], flow());

        await deliver(helper, 'alerts', [alertEvent('mine', 'volve-15-9-f-11', 'P1', 'open', ts(0)), alertEvent('theirs', '3w-well-00001', 'P1', 'open', ts(0))]);
        const alerts = await alertsState('equinor-token');

        expect(alerts.events.map((event) => event.event_id)).toEqual(['mine']);
    });

    it('should start from the recent events of the runtime', async () => {
        helper.settings({ upstreamLive: fakeRuntime({ recentEvents: async () => [alertEvent('seeded', '3w-well-00001', 'P3', 'open', ts(0))] }) });
        await helper.load([pageNode, alertsNode], flow());

        const alerts = await alertsState();

        expect(alerts.events.map((event) => event.event_id)).toEqual(['seeded']);
    });

    it('should fail readings', async () => {
        await helper.load([pageNode, alertsNode], flow());

        const error = await deliver(helper, 'alerts', [reading('3w-well-00001', 'oil_rate', 1, ts(0))]);

        expect(error).toContain('does not accept readings');
    });

    it('should fail an event with an unknown severity', async () => {
        await helper.load([pageNode, alertsNode], flow());

        const error = await deliver(helper, 'alerts', { ...alertEvent('ev-1', '3w-well-00001', 'P1', 'open', ts(0)), severity: 'P0' });

        expect(error).toContain('severity "P0" is not P1, P2 or P3');
    });
});
