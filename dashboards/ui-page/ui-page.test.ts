import type { Server } from 'node:http';
import { createRequire } from 'node:module';

import type { Express, NextFunction, Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { PROJECT_ROOT } from '../../lib/paths';
import { buildClient } from '../client/build.mjs';
import type { AlertsData, MapData, OverviewData, TrendData } from '../lib/protocol';
import { alertEvent, fakeRuntime, reading, signIn, TestClient, widgetState } from '../shared/test-support';
import alertsNode from '../ui-alerts/ui-alerts';
import mapNode from '../ui-map/ui-map';
import overviewNode from '../ui-overview/ui-overview';
import trendNode from '../ui-trend/ui-trend';
import pageNode from './ui-page';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

/** The RED.httpNode app of the flow loaded last. */
let httpNode: Express | undefined;

function capturingPageNode(RED: NodeAPI): void {
    httpNode = RED.httpNode;
    pageNode(RED);
}

const NODES = [capturingPageNode, overviewNode, mapNode, trendNode, alertsNode];

function dashboardFlow(pageOptions: Record<string, unknown> = {}): Record<string, unknown>[] {
    return [
        { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: 'Ops room', interval: 50, ...pageOptions },
        { id: 'overview', type: 'ul-ui-overview', page: 'page', activeWindowMinutes: 10 },
        { id: 'map', type: 'ul-ui-map', page: 'page', activeWindowMinutes: 10 },
        { id: 'trend', type: 'ul-ui-trend', page: 'page', points: 900, metric: 'oil_rate' },
        { id: 'alerts', type: 'ul-ui-alerts', page: 'page', maxEvents: 200 },
    ];
}

function wsUrl(path = '/dashboard'): string {
    return `${helper.url()}${path}/ws`;
}

function server(): Server {
    return helper._server as Server;
}

/** Log calls at a level: 20 error, 30 warn, 40 info. */
function logged(level: number): string[] {
    return helper
        .log()
        .args.filter((call: unknown[]) => (call[0] as { level: number }).level === level)
        .map((call: unknown[]) => String((call[0] as { msg: unknown }).msg));
}

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    await buildClient({ root: PROJECT_ROOT, minify: false });
    await helper.startServer();
    // NOTE: node-red-node-test-helper 0.3.6 serves HTTP requests from its own express app, not from
    // the RED.httpNode app it gives to nodes, so this forwards requests to the latter.
    helper._app.use((req: Request, res: Response, next: NextFunction) => (httpNode ? httpNode(req, res, next) : next()));
}, 60_000);

beforeEach(() => {
    helper.settings({ upstreamLive: fakeRuntime() });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await helper.stopServer();
});

describe('ul-ui-page HTTP', () => {
    it('should serve index.html with the page title', async () => {
        await helper.load(NODES, dashboardFlow());

        const response = await fetch(`${helper.url()}/dashboard/`);
        const html = await response.text();

        expect(response.status).toBe(200);
        expect(html).toContain('<title>Ops room</title>');
        expect(html).toContain('src="app.js"');
        expect(html).not.toMatch(/(src|href)="https?:/);
    });

    it('should redirect the bare path to the folder', async () => {
        await helper.load(NODES, dashboardFlow());

        const response = await fetch(`${helper.url()}/dashboard`, { redirect: 'manual' });

        expect(response.status).toBe(301);
        expect(response.headers.get('location')).toBe('/dashboard/');
    });

    it('should serve the bundle without outside hosts', async () => {
        await helper.load(NODES, dashboardFlow());

        const script = await fetch(`${helper.url()}/dashboard/app.js`);
        const styles = await fetch(`${helper.url()}/dashboard/app.css`);
        const css = await styles.text();

        expect(script.status).toBe(200);
        expect(script.headers.get('content-type')).toContain('javascript');
        expect(styles.status).toBe(200);
        expect(css).toContain('.leaflet-container');
        expect(css).toContain('.uplot');
        expect(css).not.toMatch(/url\(\s*['"]?(https?:)?\/\//);
        expect(css).not.toMatch(/@import/);
    });

    it('should serve the current page after a redeploy', async () => {
        await helper.load(NODES, dashboardFlow());
        const listeners = server().listeners('upgrade').length;

        await helper.setFlows(dashboardFlow({ title: 'Night shift' }));
        const html = await (await fetch(`${helper.url()}/dashboard/`)).text();

        expect(html).toContain('<title>Night shift</title>');
        expect(server().listeners('upgrade').length).toBe(listeners);
    });

    it('should release the path and the upgrade listener on close', async () => {
        const before = server().listeners('upgrade').length;
        await helper.load(NODES, dashboardFlow());
        const { client } = await signIn(wsUrl(), 'admin-token');
        expect(server().listeners('upgrade').length).toBe(before + 1);

        await helper.unload();
        const closed = await client.closed;
        const response = await fetch(`${helper.url()}/dashboard/`);

        expect(closed.code).toBe(1012);
        expect(server().listeners('upgrade').length).toBe(before);
        expect(response.status).toBe(404);
    });

    it('should report an invalid path at deploy', async () => {
        await helper.load(NODES, [{ id: 'page', type: 'ul-ui-page', path: '/bad path', title: '', interval: 250 }]);

        expect(logged(20)).toEqual(['ul-ui-page.errors.invalid-path']);
    });

    it('should reject a second page on the same path', async () => {
        await helper.load(NODES, [
            { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: '', interval: 250 },
            { id: 'page-2', type: 'ul-ui-page', path: 'dashboard/', title: '', interval: 250 },
        ]);

        const errors = logged(20);
        expect(errors.length).toBe(1);
        expect(errors[0]).toContain('already served by page node');
    });
});

describe('ul-ui-page WebSocket authentication', () => {
    it('should close with 4401 for an invalid token', async () => {
        await helper.load(NODES, dashboardFlow());
        const client = await TestClient.open(wsUrl());

        client.send({ type: 'auth', token: 'forged' });
        const closed = await client.closed;

        expect(closed.code).toBe(4401);
        expect(closed.reason).toContain('token signature is invalid');
        expect(client.messages).toEqual([]);
    });

    it('should close with 4401 when the first message is not auth', async () => {
        await helper.load(NODES, dashboardFlow());
        const client = await TestClient.open(wsUrl());

        client.send({ type: 'select', widget: 'trend', asset_id: 'x', metric: 'oil_rate' });
        const closed = await client.closed;

        expect(closed.code).toBe(4401);
        expect(closed.reason).toContain('first message');
    });

    it('should close with 4403 for the public role', async () => {
        await helper.load(NODES, dashboardFlow());
        const client = await TestClient.open(wsUrl());

        client.send({ type: 'auth', token: 'public-token' });
        const closed = await client.closed;

        expect(closed.code).toBe(4403);
        expect(closed.reason).toContain('public');
    });

    it('should accept the token in the access_token query', async () => {
        await helper.load(NODES, dashboardFlow());
        const client = await TestClient.open(`${wsUrl()}?access_token=analyst-token`);

        const hello = await client.next('hello');
        client.close();

        expect(hello.principal).toEqual({ sub: 'ana', roles: ['analyst'] });
    });

    it('should send hello with the widgets', async () => {
        await helper.load(NODES, dashboardFlow());

        const { client, hello } = await signIn(wsUrl(), 'admin-token');
        client.close();

        expect(hello.auth).toBe(true);
        expect(hello.title).toBe('Ops room');
        expect(hello.apiBase).toBe('/v1');
        expect(hello.principal.sub).toBe('ada');
        expect(hello.widgets.map((widget) => [widget.id, widget.kind])).toEqual([
            ['overview', 'overview'],
            ['map', 'map'],
            ['trend', 'trend'],
            ['alerts', 'alerts'],
        ]);
        expect(hello.widgets[2].options).toEqual({ points: 900, metric: 'oil_rate' });
    });

    it('should serve everyone without a verifier and warn once', async () => {
        helper.settings({ upstreamLive: undefined });
        await helper.load(NODES, dashboardFlow({ path: '/open-dashboard' }));

        const { client, hello } = await signIn(wsUrl('/open-dashboard'), '');
        client.close();
        const warnings = logged(30).filter((text) => text === 'ul-ui-page.warnings.no-auth');

        expect(hello.auth).toBe(false);
        expect(hello.principal).toEqual({ sub: 'anonymous', roles: ['analyst'] });
        expect(warnings.length).toBe(1);
    });

    it('should leave upgrades for other paths alone', async () => {
        const other = new WebSocketServer({ noServer: true });
        const onUpgrade = (request: Request, socket: never, head: Buffer): void => {
            if (request.url === '/v1/stream/readings') other.handleUpgrade(request, socket, head, (ws) => ws.send('stream'));
        };
        server().on('upgrade', onUpgrade as never);
        try {
            await helper.load(NODES, dashboardFlow());
            const client = new WebSocket(`${helper.url().replace('http', 'ws')}/v1/stream/readings`);
            const first = await new Promise<string>((resolve, reject) => {
                client.once('message', (data) => resolve(data.toString()));
                client.once('error', reject);
            });
            client.close();

            expect(first).toBe('stream');
        } finally {
            server().off('upgrade', onUpgrade as never);
            other.close();
        }
    });
});

describe('ul-ui-page state and pushes', () => {
    const ts = (minute: number): string => new Date(Date.UTC(2017, 2, 20, 14, minute)).toISOString();

    it('should replay the current state after a reconnect', async () => {
        await helper.load(NODES, dashboardFlow());
        const readings = [reading('3w-well-00001', 'oil_rate', 1200, ts(0)), reading('volve-15-9-f-11', 'oil_rate', 800, ts(1))];
        helper.getNode('overview').receive({ payload: readings });
        helper.getNode('trend').receive({ payload: readings });
        const event = alertEvent('ev-1', '3w-well-00001', 'P1', 'open', ts(1));
        helper.getNode('overview').receive({ payload: event });
        helper.getNode('alerts').receive({ payload: event });
        const first = await signIn(wsUrl(), 'admin-token');
        first.client.close();
        await first.client.closed;

        const { client, state } = await signIn(wsUrl(), 'admin-token');
        client.close();

        expect(widgetState<OverviewData>(state, 'overview').total_oil_bopd).toBe(2000);
        expect(widgetState<OverviewData>(state, 'overview').open_p1).toBe(1);
        expect(widgetState<TrendData>(state, 'trend').series?.map((series) => series.asset_id).sort()).toEqual(['3w-well-00001', 'volve-15-9-f-11']);
        expect(widgetState<AlertsData>(state, 'alerts').events.map((event) => event.event_id)).toEqual(['ev-1']);
        expect(widgetState<MapData>(state, 'map').assets?.length).toBe(22);
    });

    it('should send an operator only its own assets', async () => {
        // A long interval puts all inputs of this test into one push.
        await helper.load(NODES, dashboardFlow({ interval: 300 }));
        const { client, hello, state } = await signIn(wsUrl(), 'petrobras-token');
        const mine = reading('3w-well-00001', 'oil_rate', 1200, ts(0));
        const theirs = reading('volve-15-9-f-11', 'oil_rate', 800, ts(1));
        const unknown = reading('unregistered-well', 'oil_rate', 50, ts(1));

        const events = [alertEvent('ev-mine', mine.asset_id, 'P1', 'open', ts(0)), alertEvent('ev-theirs', theirs.asset_id, 'P1', 'open', ts(1))];
        for (const id of ['overview', 'map', 'trend']) helper.getNode(id).receive({ payload: [mine, theirs, unknown] });
        for (const id of ['overview', 'map', 'alerts']) helper.getNode(id).receive({ payload: events });
        const update = await client.next('update');
        client.send({ type: 'select', widget: 'trend', asset_id: theirs.asset_id, metric: 'oil_rate' });
        const refused = await client.next('error');
        client.close();

        const data = (widget: string): unknown => update.updates.find((entry) => entry.widget === widget)?.data;
        const overview = data('overview') as OverviewData;
        const map = data('map') as MapData;
        const trend = data('trend') as TrendData;
        const alerts = data('alerts') as AlertsData;
        expect(hello.principal.operator).toBe('petrobras');
        expect(widgetState<MapData>(state, 'map').assets?.every((asset) => asset.operator === 'petrobras')).toBe(true);
        expect(widgetState<MapData>(state, 'map').assets?.length).toBe(14);
        expect(overview.total_oil_bopd).toBe(1200);
        expect(overview.open_p1).toBe(1);
        expect(overview.last_reading_ts).toBe(ts(0));
        expect(Object.keys(map.status).every((assetId) => assetId.startsWith('3w-'))).toBe(true);
        expect(trend.series?.map((series) => series.asset_id)).toEqual(['3w-well-00001']);
        expect(alerts.events.map((event) => event.event_id)).toEqual(['ev-mine']);
        expect(JSON.stringify(update)).not.toContain('volve');
        expect(JSON.stringify(update)).not.toContain('unregistered-well');
        expect(refused.message).toContain('belongs to another operator');
    });

    it('should batch a burst of readings into few frames', async () => {
        await helper.load(NODES, dashboardFlow({ interval: 200 }));
        const trend = helper.getNode('trend');
        trend.receive({ payload: [reading('3w-well-00001', 'oil_rate', 0, ts(0))] });
        const { client } = await signIn(wsUrl(), 'admin-token');
        client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00001', metric: 'oil_rate' });
        await client.next('series');

        const start = Date.UTC(2017, 2, 20, 15, 0);
        for (let index = 0; index < 1000; index += 1) {
            trend.receive({ payload: [reading('3w-well-00001', 'oil_rate', index, new Date(start + index * 1000).toISOString())] });
        }
        const received = new Set<number>();
        let frames = 0;
        while (received.size < 1000) {
            const update = await client.next('update');
            frames += 1;
            for (const entry of update.updates) {
                for (const [time] of (entry.data as TrendData).points?.points ?? []) if (time >= start) received.add(time);
            }
        }
        client.close();

        expect(received.size).toBe(1000);
        expect(frames).toBeLessThanOrEqual(5);
    });

    it('should answer a trend selection with its points', async () => {
        await helper.load(NODES, dashboardFlow());
        helper.getNode('trend').receive({ payload: [reading('3w-well-00003', 'oil_rate', 10, ts(0)), reading('3w-well-00003', 'oil_rate', 12, ts(1))] });
        const { client } = await signIn(wsUrl(), 'analyst-token');

        client.send({ type: 'select', widget: 'trend', asset_id: '3w-well-00003', metric: 'oil_rate' });
        const series = await client.next('series');
        client.close();

        expect(series.widget).toBe('trend');
        expect(series.data.unit).toBe('bopd');
        expect(series.data.points).toEqual([
            [Date.parse(ts(0)), 10],
            [Date.parse(ts(1)), 12],
        ]);
    });

    it('should send a new hello when a widget is removed', async () => {
        await helper.load(NODES, dashboardFlow());
        const { client } = await signIn(wsUrl(), 'admin-token');

        await helper.setFlows(dashboardFlow().filter((node) => node.id !== 'alerts'), 'nodes');
        const hello = await client.next('hello');
        client.close();

        expect(hello.widgets.map((widget) => widget.id)).toEqual(['overview', 'map', 'trend']);
    });
});
