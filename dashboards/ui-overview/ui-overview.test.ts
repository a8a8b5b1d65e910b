import { createRequire } from 'node:module';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { OverviewData } from '../lib/protocol';
import { alertEvent, completionNodes, deliver, fakeRuntime, reading, signIn, widgetState } from '../shared/test-support';
import pageNode from '../ui-page/ui-page';
import overviewNode from './ui-overview';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const ts = (minute: number): string => new Date(Date.UTC(2017, 2, 20, 14, minute)).toISOString();

function flow(options: Record<string, unknown> = {}): Record<string, unknown>[] {
    return [
        { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: '', interval: 50 },
        { id: 'overview', type: 'ul-ui-overview', page: 'page', activeWindowMinutes: 10, ...options },
        ...completionNodes('overview'),
    ];
}

async function overviewState(token = 'admin-token'): Promise<OverviewData> {
    const { client, state } = await signIn(`${helper.url()}/dashboard/ws`, token);
    client.close();
    return widgetState<OverviewData>(state, 'overview');
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

describe('ul-ui-overview', () => {
    it('should sum the latest rate per well', async () => {
        await helper.load([pageNode, overviewNode], flow());

        await deliver(helper, 'overview', [
            reading('3w-well-00001', 'oil_rate', 1000, ts(0)),
            reading('3w-well-00001', 'oil_rate', 1100, ts(2)),
            reading('3w-well-00001', 'oil_rate', 900, ts(1)),
            reading('volve-15-9-f-11', 'oil_rate', 500, ts(2)),
            reading('volve-15-9-f-11', 'gas_rate', 1.25, ts(2)),
            reading('3w-well-00003', 'gas_rate', 0.5, ts(2)),
            reading('volve-maersk-inspirer', 'oil_rate', 99_999, ts(2)),
        ]);
        const overview = await overviewState();

        expect(overview.total_oil_bopd).toBe(1600);
        expect(overview.total_gas_mmscfd).toBeCloseTo(1.75);
        expect(overview.last_reading_ts).toBe(ts(2));
        expect(overview.last_received_at).not.toBeNull();
    });

    it('should keep the last good value over null and BAD', async () => {
        await helper.load([pageNode, overviewNode], flow());

        await deliver(helper, 'overview', [
            reading('3w-well-00001', 'oil_rate', 1000, ts(0)),
            reading('3w-well-00001', 'oil_rate', null, ts(1)),
            { ...reading('3w-well-00001', 'oil_rate', 5, ts(2)), quality_flag: 'BAD' },
        ]);
        const overview = await overviewState();

        expect(overview.total_oil_bopd).toBe(1000);
    });

    it('should count wells active within the window', async () => {
        await helper.load([pageNode, overviewNode], flow({ activeWindowMinutes: 10 }));

        await deliver(helper, 'overview', [
            reading('3w-well-00001', 'pressure_tpt', 100, ts(30)),
            reading('3w-well-00003', 'pressure_tpt', 100, ts(21)),
            reading('3w-well-00004', 'pressure_tpt', 100, ts(5)),
        ]);
        const overview = await overviewState();

        expect(overview.active_wells).toBe(2);
        expect(overview.wells).toBe(21);
        expect(overview.active_window_minutes).toBe(10);
    });

    it('should use the data clock of the operator', async () => {
        await helper.load([pageNode, overviewNode], flow({ activeWindowMinutes: 10 }));

        await deliver(helper, 'overview', [
            reading('3w-well-00001', 'oil_rate', 100, ts(0)),
            reading('volve-15-9-f-11', 'oil_rate', 100, ts(59)),
        ]);
        const petrobras = await overviewState('petrobras-token');
        const regulator = await overviewState('admin-token');

        expect(petrobras.active_wells).toBe(1);
        expect(petrobras.wells).toBe(14);
        expect(petrobras.total_oil_bopd).toBe(100);
        expect(petrobras.last_reading_ts).toBe(ts(0));
        expect(regulator.active_wells).toBe(1);
        expect(regulator.total_oil_bopd).toBe(200);
    });

    it('should count open and acknowledged P1 alerts', async () => {
        await helper.load([pageNode, overviewNode], flow());

        await deliver(helper, 'overview', [
            alertEvent('ev-1', '3w-well-00001', 'P1', 'open', ts(0)),
            alertEvent('ev-2', '3w-well-00003', 'P1', 'open', ts(1)),
            alertEvent('ev-3', '3w-well-00004', 'P1', 'open', ts(1)),
            alertEvent('ev-4', '3w-well-00004', 'P2', 'open', ts(1)),
        ]);
        await deliver(helper, 'overview', alertEvent('ev-2', '3w-well-00003', 'P1', 'acknowledged', ts(1)));
        await deliver(helper, 'overview', alertEvent('ev-3', '3w-well-00004', 'P1', 'resolved', ts(1)));
        const overview = await overviewState();

        expect(overview.open_p1).toBe(1);
        expect(overview.acknowledged_p1).toBe(1);
    });

    it('should start from the runtime seed', async () => {
        helper.settings({
            upstreamLive: fakeRuntime({
                latestReadings: async () => [reading('3w-well-00001', 'oil_rate', 321, ts(0))],
                recentEvents: async () => [alertEvent('ev-9', '3w-well-00001', 'P1', 'open', ts(0))],
            }),
        });
        await helper.load([pageNode, overviewNode], flow());

        const overview = await overviewState();

        expect(overview.total_oil_bopd).toBe(321);
        expect(overview.open_p1).toBe(1);
        expect(overview.last_received_at).toBeNull();
    });

    it('should fail a message with invalid items', async () => {
        await helper.load([pageNode, overviewNode], flow());

        const error = await deliver(helper, 'overview', [reading('3w-well-00001', 'oil_rate', 10, ts(0)), { asset_id: '3w-well-00003', metric: 'oil_rate', value: 1, unit: 'bopd', ts: 'yesterday' }]);
        const overview = await overviewState();

        expect(error).toContain('msg.payload[1]');
        expect(error).toContain('"yesterday" is not an ISO 8601 time');
        expect(overview.total_oil_bopd).toBe(10);
    });

    it('should leave rates in other units out of the totals', async () => {
        await helper.load([pageNode, overviewNode], flow());

        const error = await deliver(helper, 'overview', [reading('3w-well-00001', 'oil_rate', 10, ts(0), 'm3/d')]);
        const overview = await overviewState();

        expect(error).toContain('not the canonical unit');
        expect(overview.total_oil_bopd).toBe(0);
    });

    it('should report an invalid window at deploy', async () => {
        await helper.load([pageNode, overviewNode], flow({ activeWindowMinutes: 'ten' }));
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        const node = helper.getNode('overview');

        expect(errors.length).toBe(1);
        expect(node._inputCallback ?? node._inputCallbacks).toBeNull();
    });

    it('should report a missing page at deploy', async () => {
        await helper.load([pageNode, overviewNode], [{ id: 'overview', type: 'ul-ui-overview', page: '', activeWindowMinutes: 10 }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors.map((call: unknown[]) => (call[0] as { msg: string }).msg)).toEqual(['ul-ui-overview.errors.missing-page']);
    });
});
