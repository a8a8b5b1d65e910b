import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Node, NodeAPI, NodeDef } from 'node-red';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../../lib/paths';
import { closeAllStores, openStore, type StoreHandle } from '../../lib/store';
import type { Store } from '../../lib/store/types';
import type { AlertEvent, Asset, Rejection } from '../../lib/types';
import { startSmtpServer, type SmtpReceiver } from '../../test/support/smtp-receiver';
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

interface StoredMessage {
    payload: AlertEvent;
    topic: string;
    alert: { outcome: string; repeat_count?: number; silenced?: boolean };
}

const folder = mkdtempSync(join(tmpdir(), 'ul-router-node-'));
let store: StoreHandle;
/** When set, the store's openAlert fails with this error. */
let storeFailure: Error | undefined;

/** A ul-store config node whose getStore returns the embedded store of the test, or a failing view of it. */
function fakeStoreNode(RED: NodeAPI): void {
    function FakeStoreNode(this: Node & { getStore: () => Promise<Store> }, config: NodeDef): void {
        RED.nodes.createNode(this, config);
        this.getStore = async () => {
            if (!storeFailure) return store;
            const failure = storeFailure;
            return Object.assign(Object.create(store) as Store, {
                openAlert: async () => {
                    throw failure;
                },
            });
        };
    }
    RED.nodes.registerType('ul-store', FakeStoreNode);
}

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
    const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };
    await store.upsertAssets(registry.assets);
}, 60_000);

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

beforeEach(async () => {
    storeFailure = undefined;
    helper.settings({});
    // Each test starts without alerts, silences or dead letters, because a sweep reads all alerts.
    await store.query('DELETE FROM events');
    await store.query('DELETE FROM silences');
    await store.query('DELETE FROM quarantine');
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

/** Loads the router with a group window of 0 s unless the test sets one, so that each alert is sent at once. */
async function load(config: Record<string, unknown>): Promise<{ router: TestNode; stored: TestNode; rejected: TestNode }> {
    await helper.load([fakeStoreNode, alertRouterNode], [
        { id: 'store-1', type: 'ul-store' },
        { id: 'router-1', type: 'ul-alert-router', store: 'store-1', retryDelayMs: '10', groupWindow: '0s', sweepInterval: '200ms', wires: [['stored'], ['rejected']], ...config },
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

/** Waits until `condition` holds, checking every 20 ms, for at most `timeoutMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

/** Undoes the quoted-printable encoding of a message body: soft line breaks and =XX escapes. */
function decodeQuotedPrintable(message: string): string {
    return message.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_whole, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function subjectOf(message: string): string {
    return /^Subject: (.*)$/m.exec(message)?.[1] ?? '';
}

describe('ul-alert-router', () => {
    it('should store an open event and write its email to the outbox', async () => {
        const outboxDir = join(mkdtempSync(join(tmpdir(), 'ul-router-')), 'outbox');
        const { router, stored } = await load({ outboxDir });
        const output = next<StoredMessage>(stored, 'input');
        const sent = next<Call>(router, 'call:debug', (call) => debugText(call) === 'ul-alert-router.log.sent');
        router.receive({ payload: alertEvent() });

        const msg = await output;
        expect(msg.topic).toBe('3w-well-00010');
        expect(msg.payload).toMatchObject({ event_id: alertEvent().event_id, state: 'open' });
        expect(msg.alert).toEqual({ outcome: 'inserted', repeat_count: 0, silenced: false, silence_id: null });
        const [storedAlert] = await store.listStoredAlerts({ event_ids: [alertEvent().event_id] });
        expect(storedAlert.state).toBe('open');

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
        const opened = next<StoredMessage>(stored, 'input');
        router.receive({ payload: alertEvent() });
        await opened;
        // The resolution is announced only after the opening was.
        await waitFor(() => readdirSync(outboxDir).length === 1);

        const resolved = next<StoredMessage>(stored, 'input');
        router.receive({ payload: alertEvent({ state: 'resolved', resolved_at: '2017-12-18T21:00:00.000Z', resolved_by: 'rule', evidence: { resolved: { value: 58 } } }) });

        // The output is the stored event, so it keeps the evidence of the opening.
        const output = await resolved;
        expect(output.payload).toMatchObject({ state: 'resolved', resolved_at: '2017-12-18T21:00:00.000Z', resolved_by: 'rule', evidence: { value: 52.5 } });
        expect(output.alert).toEqual({ outcome: 'updated' });
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
        const output = next<StoredMessage>(stored, 'input');
        router.receive({ payload: alertEvent({ severity: 'P3' }) });
        await output;
        // The sweep takes the notification and skips its email.
        await waitFor(async () => (await store.listStoredAlerts())[0]?.first_notified_at !== null);
        await helper.unload();

        expect(readdirSync(outboxDir)).toEqual([]);
    });

    it('should group alerts of one field and hold back a silenced asset', async () => {
        const smtp: SmtpReceiver = await startSmtpServer();
        try {
            const now = Date.now();
            // Maintenance of one Volve well, ending 2.5 s from now.
            await store.createSilence({
                asset_id: 'volve-15-9-f-12',
                starts_at: new Date(now - 60_000).toISOString(),
                ends_at: new Date(now + 2_500).toISOString(),
                reason: 'Well intervention',
                created_by: 'regulator-admin-1',
            });
            const { router, stored } = await load({ smtpHost: '127.0.0.1', smtpPort: String(smtp.port), to: 'control-room@example.com', groupWindow: '1s' });
            const outputs: StoredMessage[] = [];
            stored.on('input', (msg: never) => outputs.push(msg as StoredMessage));
            const volve = (asset: string, id: string): AlertEvent =>
                alertEvent({ event_id: id, asset_id: asset, rule_id: 'tpt-pressure-collapse', metric: 'pressure_tpt', severity: 'P2', message: `${asset}: pressure at the TPT fell` });
            router.receive({ payload: volve('volve-15-9-f-11', '6a1e0c52-0000-4000-8000-000000000011') });
            router.receive({ payload: volve('volve-15-9-f-12', '6a1e0c52-0000-4000-8000-000000000012') });
            router.receive({ payload: alertEvent() });
            router.receive({ payload: volve('volve-15-9-f-1-c', '6a1e0c52-0000-4000-8000-000000000001') });
            await waitFor(() => smtp.log.data.length >= 2);

            const subjects = smtp.log.data.map(subjectOf).sort();
            expect(subjects).toEqual(['[P1] tpt-temperature-drop on 3w-well-00010', '[P2] 2 alerts on VOLVE']);
            const group = decodeQuotedPrintable(smtp.log.data.find((message) => subjectOf(message) === '[P2] 2 alerts on VOLVE') as string);
            expect(group).toContain('[P2 opened] tpt-pressure-collapse on volve-15-9-f-11');
            expect(group).toContain('[P2 opened] tpt-pressure-collapse on volve-15-9-f-1-c');
            expect(group).not.toContain('volve-15-9-f-12');
            expect(outputs.find((msg) => msg.payload.asset_id === 'volve-15-9-f-12')?.alert).toMatchObject({ outcome: 'inserted', silenced: true });

            // When the maintenance ends, the still open alert is notified, a group window later.
            await waitFor(() => smtp.log.data.length >= 3);
            expect(subjectOf(smtp.log.data[2])).toBe('[P2] tpt-pressure-collapse on volve-15-9-f-12');
            expect(Date.now()).toBeGreaterThanOrEqual(now + 2_500);
            expect(smtp.log.data).toHaveLength(3);
        } finally {
            await helper.unload();
            await smtp.close();
        }
    });

    it('should escalate with the policy of the rules file', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'ul-router-rules-'));
        const rulesFile = join(dir, 'rules.yaml');
        writeFileSync(
            rulesFile,
            [
                'version: 1',
                'rules:',
                '  - id: tpt-temperature-drop',
                '    description: Temperature at the TPT fell fast.',
                '    severity: P2',
                '    runbook: docs/runbooks/tpt-temperature-drop.md',
                "    message: '{asset_id}: temperature fell'",
                '    scope:',
                '      metrics: [temp_tpt]',
                '    kind: rate_of_change',
                '    window: 5m',
                '    max_drop: 5',
                '    escalation: { after: 1s, to: P1 }',
                '',
            ].join('\n'),
        );
        const outboxDir = join(dir, 'outbox');
        const { router } = await load({ outboxDir, rulesFile, reminderP2: '' });
        const escalated = next<Call>(router, 'call:log', (call) => debugText(call) === 'ul-alert-router.log.escalated');
        router.receive({ payload: alertEvent({ severity: 'P2' }) });
        await escalated;
        await waitFor(() => readdirSync(outboxDir).length === 2);

        expect(readdirSync(outboxDir).sort()).toEqual([
            '2017-12-18T20-41-21.000Z-P1-tpt-temperature-drop-3w-well-00010-escalated.eml',
            '2017-12-18T20-41-21.000Z-P2-tpt-temperature-drop-3w-well-00010.eml',
        ]);
        expect(readFileSync(join(outboxDir, '2017-12-18T20-41-21.000Z-P1-tpt-temperature-drop-3w-well-00010-escalated.eml'), 'utf8')).toContain(
            'Subject: [P1, escalated from P2] tpt-temperature-drop on 3w-well-00010',
        );
    });

    it('should keep the event and warn when every email attempt fails', async () => {
        const port = await closedPort();
        const { router, stored } = await load({ smtpHost: '127.0.0.1', smtpPort: String(port), to: 'control-room@example.com' });
        const output = next<StoredMessage>(stored, 'input');
        const warned = next<Call>(router, 'call:warn');
        const yellow = next<Call>(router, 'call:status', (call) => (call.args[0] as { fill?: string }).fill === 'yellow');
        router.receive({ payload: alertEvent() });

        expect((await output).payload.state).toBe('open');
        const warning = String((await warned).args[0]);
        expect(warning).toContain(`Email for alert ${alertEvent().event_id} (tpt-temperature-drop on 3w-well-00010) failed:`);
        expect(warning).toContain('(after 3 attempts)');
        expect((await yellow).args[0]).toEqual({ fill: 'yellow', shape: 'ring', text: 'ul-alert-router.status.email-failed' });
        const [storedAlert] = await store.listStoredAlerts();
        expect(storedAlert.state).toBe('open');
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
        expect(await store.listStoredAlerts()).toEqual([]);
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
            const quarantine = await store.listQuarantine({ source: 'alert-channel:slack' });
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

    it('should report an invalid group window at deploy', async () => {
        await helper.load([fakeStoreNode, alertRouterNode], [
            { id: 'store-1', type: 'ul-store' },
            { id: 'router-4', type: 'ul-alert-router', store: 'store-1', groupWindow: '1h' },
        ]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toBe("Group window '1h' is not a duration from 0s to 10m; enter one such as 30s, or 0s to send each alert alone.");
    });

    it('should report a missing store at deploy', async () => {
        await helper.load([fakeStoreNode, alertRouterNode], [{ id: 'router-2', type: 'ul-alert-router', store: '' }]);
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toBe('ul-alert-router.errors.missing-store');
    });
});

/** Returns a loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise((resolve) => server.close(resolve));
    return typeof address === 'object' && address ? address.port : 0;
}
