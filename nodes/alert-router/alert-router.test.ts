import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Node, NodeAPI, NodeDef } from 'node-red';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { Store } from '../../lib/store/types';
import type { AlertEvent, Rejection } from '../../lib/types';
import alertRouterNode from './alert-router';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

interface Call {
    args: unknown[];
}

interface TestNode {
    on(event: string, listener: (value: never) => void): void;
    receive(msg: unknown): void;
}

/** Events table of the fake store, shared with the fake ul-store config node. */
const events = new Map<string, AlertEvent>();
const quarantine: Rejection[] = [];
let storeFailure: Error | undefined;

const fakeStore = {
    async writeQuarantine(rows: Rejection[]): Promise<number> {
        quarantine.push(...rows);
        return rows.length;
    },
    async insertEvent(event: AlertEvent): Promise<void> {
        if (storeFailure) throw storeFailure;
        if (!events.has(event.event_id)) events.set(event.event_id, { ...event });
    },
    async updateEventState(eventId: string, state: 'acknowledged' | 'resolved', by: string, at?: string): Promise<AlertEvent | undefined> {
        const event = events.get(eventId);
        if (!event) return undefined;
        const updated = state === 'resolved' ? { ...event, state, resolved_by: by, resolved_at: at ?? null } : { ...event, state, acknowledged_by: by, acknowledged_at: at ?? null };
        events.set(eventId, updated);
        return updated;
    },
} as unknown as Store;

/** A ul-store config node whose getStore returns the in-memory fake. */
function fakeStoreNode(RED: NodeAPI): void {
    function FakeStoreNode(this: Node & { getStore: () => Promise<Store> }, config: NodeDef): void {
        RED.nodes.createNode(this, config);
        this.getStore = async () => fakeStore;
    }
    RED.nodes.registerType('ul-store', FakeStoreNode);
}

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

beforeEach(() => {
    events.clear();
    quarantine.length = 0;
    storeFailure = undefined;
    helper.settings({});
});

afterEach(async () => {
    await helper.unload();
});

function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
    return {
        event_id: '3b0a9a1e-8f0d-4a57-b2b1-8cfa41d2c7e5',
        rule_id: 'tpt-temperature-drop',
        asset_id: '3w-well-00010',
        metric: 'temp_tpt',
        severity: 'P1',
        state: 'open',
        message: '3w-well-00010: temperature at the TPT fell 5.1 degC within 5m to 52.5 degC',
        runbook: 'docs/runbooks/tpt-temperature-drop.md',
        opened_at: '2017-12-18T20:41:21.000Z',
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        evidence: { value: 52.5, reference: 57.6, change: 5.1 },
        ...overrides,
    };
}

async function load(config: Record<string, unknown>): Promise<{ router: TestNode; stored: TestNode; rejected: TestNode }> {
    await helper.load([fakeStoreNode, alertRouterNode], [
        { id: 'store-1', type: 'ul-store' },
        { id: 'router-1', type: 'ul-alert-router', store: 'store-1', retryDelayMs: '10', wires: [['stored'], ['rejected']], ...config },
        { id: 'stored', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ]);
    return { router: helper.getNode('router-1'), stored: helper.getNode('stored'), rejected: helper.getNode('rejected') };
}

function next<T>(node: TestNode, event: string, predicate: (value: T) => boolean = () => true): Promise<T> {
    return new Promise((resolve) => {
        node.on(event, (value: never) => {
            if (predicate(value as T)) resolve(value as T);
        });
    });
}

function debugText(call: Call): string {
    return String(call.args[0]);
}

describe('ul-alert-router', () => {
    it('should store an open event and write its email to the outbox', async () => {
        const outboxDir = join(mkdtempSync(join(tmpdir(), 'ul-router-')), 'outbox');
        const { router, stored } = await load({ outboxDir });
        const output = next<{ payload: AlertEvent; topic: string }>(stored, 'input');
        const sent = next<Call>(router, 'call:debug', (call) => debugText(call) === 'ul-alert-router.log.sent');
        router.receive({ payload: alertEvent() });

        const msg = await output;
        expect(msg.topic).toBe('3w-well-00010');
        expect(msg.payload).toMatchObject({ event_id: alertEvent().event_id, state: 'open' });
        expect(events.get(alertEvent().event_id)?.state).toBe('open');

        await sent;
        const path = join(outboxDir, '2017-12-18T20-41-21.000Z-P1-tpt-temperature-drop-3w-well-00010.eml');
        expect(existsSync(path)).toBe(true);
        const eml = readFileSync(path, 'utf8');
        expect(eml).toContain('Subject: [P1] tpt-temperature-drop on 3w-well-00010');
        expect(eml).toContain('Severity:  P1');
        expect(eml).toContain('Asset:     3w-well-00010');
        expect(eml).toContain('Runbook: docs/runbooks/tpt-temperature-drop.md');
    });

    it('should resolve the stored event and output it as stored', async () => {
        const outboxDir = mkdtempSync(join(tmpdir(), 'ul-router-'));
        const { router, stored } = await load({ outboxDir, severities: 'P1' });
        let sentCount = 0;
        const sent = next<Call>(router, 'call:debug', (call) => debugText(call) === 'ul-alert-router.log.sent' && ++sentCount === 2);
        const opened = next<{ payload: AlertEvent }>(stored, 'input');
        router.receive({ payload: alertEvent() });
        await opened;

        const resolved = next<{ payload: AlertEvent }>(stored, 'input');
        router.receive({ payload: alertEvent({ state: 'resolved', resolved_at: '2017-12-18T21:00:00.000Z', resolved_by: 'rule', evidence: { resolved: { value: 58 } } }) });

        // The output is the stored event, so it keeps the evidence of the opening.
        expect((await resolved).payload).toMatchObject({ state: 'resolved', resolved_at: '2017-12-18T21:00:00.000Z', resolved_by: 'rule', evidence: { value: 52.5 } });
        await sent;
        expect(readdirSync(outboxDir).sort()).toEqual([
            '2017-12-18T20-41-21.000Z-P1-tpt-temperature-drop-3w-well-00010-resolved.eml',
            '2017-12-18T20-41-21.000Z-P1-tpt-temperature-drop-3w-well-00010.eml',
        ]);
    });

    it('should put the outbox under the runtime data folder', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'ul-router-data-'));
        helper.settings({ upstreamLive: { dataDir } });
        const { router } = await load({});
        const sent = next<Call>(router, 'call:debug', (call) => debugText(call) === 'ul-alert-router.log.sent');
        router.receive({ payload: alertEvent({ severity: 'P2' }) });
        await sent;

        expect(readdirSync(join(dataDir, 'outbox'))).toEqual(['2017-12-18T20-41-21.000Z-P2-tpt-temperature-drop-3w-well-00010.eml']);
    });

    it('should not email severities outside the list', async () => {
        const outboxDir = mkdtempSync(join(tmpdir(), 'ul-router-'));
        const { router, stored } = await load({ outboxDir, severities: 'P1,P2' });
        const output = next<{ payload: AlertEvent }>(stored, 'input');
        router.receive({ payload: alertEvent({ severity: 'P3' }) });
        await output;
        await unloadFlow();

        expect(events.size).toBe(1);
        expect(readdirSync(outboxDir)).toEqual([]);
    });

    it('should keep the event and warn when every email attempt fails', async () => {
        const port = await closedPort();
        const { router, stored } = await load({ smtpHost: '127.0.0.1', smtpPort: String(port), to: 'control-room@example.com' });
        const output = next<{ payload: AlertEvent }>(stored, 'input');
        const warned = next<Call>(router, 'call:warn');
        const yellow = next<Call>(router, 'call:status', (call) => (call.args[0] as { fill?: string }).fill === 'yellow');
        router.receive({ payload: alertEvent() });

        expect((await output).payload.state).toBe('open');
        const warning = String((await warned).args[0]);
        expect(warning).toContain(`Email for alert ${alertEvent().event_id} (tpt-temperature-drop on 3w-well-00010) failed:`);
        expect(warning).toContain('(after 3 attempts)');
        expect((await yellow).args[0]).toEqual({ fill: 'yellow', shape: 'ring', text: 'ul-alert-router.status.email-failed' });
        expect(events.get(alertEvent().event_id)?.state).toBe('open');
    });

    it('should fail the message when the store write fails', async () => {
        storeFailure = new Error('database unavailable');
        const { router, stored } = await load({ outboxDir: mkdtempSync(join(tmpdir(), 'ul-router-')) });
        let outputs = 0;
        stored.on('input', () => outputs++);
        const failed = next<Call>(router, 'call:error');
        const red = next<Call>(router, 'call:status', (call) => (call.args[0] as { fill?: string }).fill === 'red');
        router.receive({ payload: alertEvent() });

        expect(String((await failed).args[0])).toContain('database unavailable');
        expect((await red).args[0]).toEqual({ fill: 'red', shape: 'ring', text: 'ul-alert-router.status.store-failed' });
        expect(outputs).toBe(0);
    });

    it('should reject a payload that is not an alert event', async () => {
        const { router, rejected } = await load({ outboxDir: mkdtempSync(join(tmpdir(), 'ul-router-')) });
        const output = next<{ payload: Rejection[] }>(rejected, 'input');
        router.receive({ topic: 'x', payload: { ...alertEvent(), severity: 'P0' } });
        const rejections = (await output).payload;

        expect(rejections).toHaveLength(1);
        expect(rejections[0]).toMatchObject({ code: 'invalid_alert_event', field: 'severity', value: 'P0', source: 'alert-router:router-1' });
        expect(events.size).toBe(0);
    });

    it('should dead-letter a failing Slack URL from the environment', async () => {
        const bodies: { text: string }[] = [];
        const server = createHttpServer((request, response) => {
            const chunks: Buffer[] = [];
            request.on('data', (chunk: Buffer) => chunks.push(chunk));
            request.on('end', () => {
                bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string });
                response.writeHead(500).end();
            });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        process.env.UL_TEST_ROUTER_SLACK_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/secret`;
        try {
            const { router } = await load({ severities: '', slackUrl: '${UL_TEST_ROUTER_SLACK_URL}', baseUrl: 'https://live.example.com' });
            const warned = next<Call>(router, 'call:warn');
            const yellow = next<Call>(router, 'call:status', (call) => (call.args[0] as { fill?: string }).fill === 'yellow');
            router.receive({ payload: alertEvent() });

            expect(String((await warned).args[0])).toContain('Slack message for alert 3b0a9a1e-8f0d-4a57-b2b1-8cfa41d2c7e5');
            expect((await yellow).args[0]).toEqual({ fill: 'yellow', shape: 'ring', text: 'ul-alert-router.status.channel-failed' });
            expect(bodies).toHaveLength(3);
            expect(bodies[0].text).toContain('Acknowledge: https://live.example.com/v1/alerts/3b0a9a1e-8f0d-4a57-b2b1-8cfa41d2c7e5/ack');
            expect(quarantine).toHaveLength(1);
            expect(quarantine[0]).toMatchObject({ source: 'alert-channel:slack', code: 'delivery_failed', ref: '3b0a9a1e-8f0d-4a57-b2b1-8cfa41d2c7e5' });
        } finally {
            delete process.env.UL_TEST_ROUTER_SLACK_URL;
            await new Promise((resolve) => server.close(resolve));
        }
    });

    it('should report an unset URL variable', async () => {
        await helper.load([fakeStoreNode, alertRouterNode], [
            { id: 'store-1', type: 'ul-store' },
            { id: 'router-3', type: 'ul-alert-router', store: 'store-1', teamsUrl: '${UL_TEST_UNSET_TEAMS_URL}' },
        ]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toBe(
            'Teams webhook URL uses ${UL_TEST_UNSET_TEAMS_URL}, but the environment variable UL_TEST_UNSET_TEAMS_URL is not set; set it before starting Node-RED or enter the value directly.',
        );
    });

    it('should report a missing store at deploy', async () => {
        await helper.load([fakeStoreNode, alertRouterNode], [{ id: 'router-2', type: 'ul-alert-router', store: '' }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toBe('ul-alert-router.errors.missing-store');
    });
});

/** Unloads the flow; closing the router waits for emails in flight. */
async function unloadFlow(): Promise<void> {
    await helper.unload();
}

/** Returns a loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise((resolve) => server.close(resolve));
    return typeof address === 'object' && address ? address.port : 0;
}
