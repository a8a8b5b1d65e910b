import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import type { NodeAPI } from 'node-red';

import type { AlertEvent, Asset, Reading, Rejection } from '../../lib/types';
import rulesNode from './rules';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

interface Call {
    args: unknown[];
}

interface TestNode {
    on(event: string, listener: (value: never) => void): void;
    receive(msg: unknown): void;
}

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

const ASSETS = [{ asset_id: 'well-1', type: 'well', operator: 'acme' }] as Asset[];

beforeEach(() => {
    helper.settings({ upstreamLive: { listAssets: async () => ASSETS } });
});

function rulesYaml(limit: number): string {
    return [
        'version: 1',
        'rules:',
        '  - id: tpt-high',
        '    description: TPT pressure above the limit.',
        '    severity: P1',
        '    runbook: docs/runbooks/tpt-high.md',
        '    message: "{asset_id}: {metric} at {value} {unit}, above {threshold}"',
        '    scope: { metrics: [pressure_tpt], asset_types: [well] }',
        '    kind: threshold',
        `    above: ${limit}`,
        '    hold: 0s',
        '    clear_hysteresis: 5',
        '',
    ].join('\n');
}

function writeRules(text: string): string {
    const path = join(mkdtempSync(join(tmpdir(), 'ul-rules-node-')), 'rules.yaml');
    writeFileSync(path, text);
    return path;
}

function reading(seconds: number, value: number): Reading {
    return { asset_id: 'well-1', metric: 'pressure_tpt', value, unit: 'psi', ts: new Date(Date.UTC(2024, 0, 1, 0, 0, seconds)).toISOString(), quality_flag: 'GOOD' };
}

async function load(rulesFile: string): Promise<{ node: TestNode; alerts: TestNode; rejected: TestNode }> {
    await helper.load([rulesNode], [
        { id: 'rules-1', type: 'ul-rules', rulesFile, wires: [['alerts'], ['rejected']] },
        { id: 'alerts', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ]);
    return { node: helper.getNode('rules-1'), alerts: helper.getNode('alerts'), rejected: helper.getNode('rejected') };
}

/** Resolves with the first value of `event` on `node` that matches `predicate`. */
function next<T>(node: TestNode, event: string, predicate: (value: T) => boolean = () => true): Promise<T> {
    return new Promise((resolve) => {
        node.on(event, (value: never) => {
            if (predicate(value as T)) resolve(value as T);
        });
    });
}

function statusText(call: Call): string {
    return String((call.args[0] as { text?: string }).text);
}

describe('ul-rules', () => {
    it('should emit open and resolved alert events', async () => {
        const { node, alerts } = await load(writeRules(rulesYaml(100)));
        const opened = next<{ payload: AlertEvent; topic: string }>(alerts, 'input');
        node.receive({ payload: [reading(0, 100), reading(1, 104.5)] });
        const open = await opened;

        expect(open.topic).toBe('well-1');
        expect(open.payload).toMatchObject({ rule_id: 'tpt-high', state: 'open', severity: 'P1', opened_at: reading(1, 0).ts, message: 'well-1: pressure_tpt at 104.5 psi, above 100' });
        expect(open.payload.event_id).toMatch(/^[0-9a-f-]{36}$/);

        const resolved = next<{ payload: AlertEvent }>(alerts, 'input');
        const cleared = next<Call>(node, 'call:status', (call) => statusText(call) === 'ul-rules.status.open');
        node.receive({ payload: [reading(2, 95)] });

        expect((await resolved).payload).toMatchObject({ event_id: open.payload.event_id, state: 'resolved', resolved_at: reading(2, 0).ts, resolved_by: 'rule' });
        // Locale texts are not loaded in the test runtime, so badges show their message keys.
        expect((await cleared).args[0]).toEqual({ fill: 'green', shape: 'dot', text: 'ul-rules.status.open' });
    });

    it('should resolve a stored alert whose condition cleared before the handover', async () => {
        // Another runtime opened the alert at second 1; the reading that cleared it at second 2
        // is stored, but that runtime stopped before it sent the resolution.
        const stored: AlertEvent = {
            event_id: '00000000-0000-4000-8000-000000000001', rule_id: 'tpt-high', asset_id: 'well-1', metric: 'pressure_tpt', severity: 'P1',
            state: 'open', message: 'stored', opened_at: reading(1, 0).ts, evidence: {},
        };
        const requests: string[][] = [];
        helper.settings({
            upstreamLive: {
                listAssets: async () => ASSETS,
                readingsBetween: async (assetId: string, from: string, to: string) => {
                    requests.push([assetId, from, to]);
                    return [reading(0, 100), reading(1, 150), reading(2, 90)];
                },
                unresolvedEvents: async () => [stored],
            },
        });
        const { node, alerts } = await load(writeRules(rulesYaml(100)));
        const output = next<{ payload: AlertEvent }>(alerts, 'input');
        node.receive({ payload: [reading(3, 91)] });
        const event = (await output).payload;

        expect(event).toMatchObject({ event_id: stored.event_id, state: 'resolved', resolved_at: reading(2, 0).ts, resolved_by: 'rule' });
        // The demo rule has no hold, so the lookback is the one-minute minimum before the first new reading.
        expect(requests).toEqual([['well-1', new Date(Date.parse(reading(3, 0).ts) - 60_000).toISOString(), reading(3, 0).ts]]);
    });

    it('should resolve a stored open alert with its own id after the handover', async () => {
        const stored: AlertEvent = {
            event_id: '00000000-0000-4000-8000-000000000002', rule_id: 'tpt-high', asset_id: 'well-1', metric: 'pressure_tpt', severity: 'P1',
            state: 'acknowledged', message: 'stored', opened_at: reading(1, 0).ts, evidence: {},
        };
        helper.settings({
            upstreamLive: {
                listAssets: async () => ASSETS,
                readingsBetween: async () => [reading(0, 100), reading(1, 150)],
                unresolvedEvents: async () => [stored],
            },
        });
        const { node, alerts } = await load(writeRules(rulesYaml(100)));
        const events: AlertEvent[] = [];
        alerts.on('input', (msg: never) => events.push((msg as { payload: AlertEvent }).payload));
        const output = next<{ payload: AlertEvent }>(alerts, 'input');
        // Still above the limit: the condition continues, so nothing opens again.
        node.receive({ payload: [reading(2, 160)] });
        node.receive({ payload: [reading(3, 90)] });
        const event = (await output).payload;

        expect(event).toMatchObject({ event_id: stored.event_id, state: 'resolved', resolved_at: reading(3, 0).ts });
        expect(events).toHaveLength(1);
    });

    describe('asset whose bus partition comes back', () => {
        /**
         * Another runtime owned the asset's partition from second 1 to 4: it stored readings at
         * 90 psi and resolved the alert that this node opened at second 0.
         */
        async function loadWithStore(): Promise<{ node: TestNode; alerts: TestNode; events: AlertEvent[]; requests: string[] }> {
            const requests: string[] = [];
            helper.settings({
                upstreamLive: {
                    listAssets: async () => ASSETS,
                    readingsBetween: async (_assetId: string, _from: string, to: string) => {
                        requests.push(to);
                        return [reading(0, 150), reading(2, 90), reading(3, 90), reading(4, 90)].filter((stored) => stored.ts < to);
                    },
                    unresolvedEvents: async () => [],
                },
            });
            const { node, alerts } = await load(writeRules(rulesYaml(100)));
            const events: AlertEvent[] = [];
            alerts.on('input', (msg: never) => events.push((msg as { payload: AlertEvent }).payload));
            return { node, alerts, events, requests };
        }

        it('should rebuild the asset under a new epoch', async () => {
            const { node, alerts, events, requests } = await loadWithStore();
            node.receive({ payload: [reading(0, 150)], bus: { partition: 3, epoch: 1 } });
            node.receive({ payload: [reading(5, 90)], bus: { partition: 3, epoch: 2 } });
            const reopened = next<{ payload: AlertEvent }>(alerts, 'input', (msg) => msg.payload.opened_at === reading(6, 0).ts);
            node.receive({ payload: [reading(6, 150)], bus: { partition: 3, epoch: 2 } });
            await reopened;

            // The alert of second 0 was resolved by the other runtime, so this node sends no
            // resolution of its own, and opens a new alert at second 6.
            expect(events.map((event) => `${event.state} ${event.opened_at}`)).toEqual([`open ${reading(0, 0).ts}`, `open ${reading(6, 0).ts}`]);
            expect(requests).toEqual([reading(0, 0).ts, reading(5, 0).ts]);
        });

        it('should keep the state under the same epoch', async () => {
            // Control for the test above: without a new epoch, the stale open alert is resolved again.
            const { node, alerts, events, requests } = await loadWithStore();
            node.receive({ payload: [reading(0, 150)], bus: { partition: 3, epoch: 1 } });
            node.receive({ payload: [reading(5, 90)], bus: { partition: 3, epoch: 1 } });
            const reopened = next<{ payload: AlertEvent }>(alerts, 'input', (msg) => msg.payload.opened_at === reading(6, 0).ts);
            node.receive({ payload: [reading(6, 150)], bus: { partition: 3, epoch: 1 } });
            await reopened;

            expect(events.map((event) => event.state)).toEqual(['open', 'resolved', 'open']);
            expect(requests).toEqual([reading(0, 0).ts]);
        });
    });

    it('should keep an open alert across a restart without a store', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'ul-rules-saved-'));
        helper.settings({ upstreamLive: { listAssets: async () => ASSETS, dataDir } });
        const rulesFile = writeRules(rulesYaml(100));
        const first = await load(rulesFile);
        const opened = next<{ payload: AlertEvent }>(first.alerts, 'input');
        first.node.receive({ payload: [reading(0, 150)] });
        const original = (await opened).payload;
        await helper.unload();

        // The restarted node sees the condition again: nothing is sent until it clears.
        const second = await load(rulesFile);
        const events: AlertEvent[] = [];
        second.alerts.on('input', (msg: never) => events.push((msg as { payload: AlertEvent }).payload));
        const resolved = next<{ payload: AlertEvent }>(second.alerts, 'input');
        second.node.receive({ payload: [reading(10, 160)] });
        second.node.receive({ payload: [reading(20, 90)] });

        expect((await resolved).payload).toMatchObject({ event_id: original.event_id, state: 'resolved', resolved_at: reading(20, 0).ts });
        expect(events).toHaveLength(1);
    });

    it('should start without history when the store cannot be read', async () => {
        helper.settings({
            upstreamLive: {
                listAssets: async () => ASSETS,
                readingsBetween: async () => {
                    throw new Error('database unavailable');
                },
                unresolvedEvents: async () => [],
            },
        });
        const { node, alerts } = await load(writeRules(rulesYaml(100)));
        const warned = next<Call>(node, 'call:warn');
        const opened = next<{ payload: AlertEvent }>(alerts, 'input');
        node.receive({ payload: [reading(0, 150)] });

        expect(String((await warned).args[0])).toContain('ul-rules.warnings.no-history');
        expect((await opened).payload).toMatchObject({ state: 'open', opened_at: reading(0, 0).ts });
    });

    describe('rebuild log', () => {
        const catalogue = require('./locales/en-US/rules.json') as Record<string, unknown>;

        /** Fills in the English texts, which the helper's RED._ leaves as message keys. */
        function translate(key: string, substitutions: Record<string, unknown> = {}): string {
            const text = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], catalogue);
            if (typeof text !== 'string') return key;
            return text.replace(/__(\w+)__/g, (_whole, name: string) => String(substitutions[name]));
        }

        function assetReading(assetId: string, seconds: number, value: number): Reading {
            return { ...reading(seconds, value), asset_id: assetId };
        }

        const WELLS = Array.from({ length: 300 }, (_, index) => ({ asset_id: `well-${index}`, type: 'well', operator: 'acme' }) as Asset);

        it('should log many rebuilds as one summary', async () => {
            // well-0 to well-2 have a stored alert that cleared within their history, and reading
            // the history of well-3 to well-14 fails.
            helper.settings({
                upstreamLive: {
                    listAssets: async () => WELLS,
                    readingsBetween: async (assetId: string) => {
                        const index = Number(assetId.slice('well-'.length));
                        if (index >= 3 && index < 15) throw new Error('connection reset by the database');
                        return index < 3
                            ? [assetReading(assetId, 0, 150), assetReading(assetId, 1, 90)]
                            : [assetReading(assetId, 0, 50), assetReading(assetId, 1, 60)];
                    },
                    unresolvedEvents: async (assetId: string): Promise<AlertEvent[]> => {
                        const index = Number(assetId.slice('well-'.length));
                        if (index >= 3) return [];
                        return [{
                            event_id: `00000000-0000-4000-8000-00000000000${index}`, rule_id: 'tpt-high', asset_id: assetId, metric: 'pressure_tpt',
                            severity: 'P1', state: 'open', message: 'stored', opened_at: reading(0, 0).ts, evidence: {},
                        }];
                    },
                },
            });
            const translated = (RED: NodeAPI): void => {
                (RED as unknown as { _: typeof translate })._ = translate;
                rulesNode(RED);
            };
            await helper.load([translated], [
                { id: 'rules-1', type: 'ul-rules', rulesFile: writeRules(rulesYaml(100)), wires: [['alerts'], ['rejected']] },
                { id: 'alerts', type: 'helper' },
                { id: 'rejected', type: 'helper' },
            ]);
            const node = helper.getNode('rules-1');
            const alerts: TestNode = helper.getNode('alerts');
            const logged = vi.spyOn(node, 'log');
            const debugged = vi.spyOn(node, 'debug');
            const traced = vi.spyOn(node, 'trace');
            const warned = vi.spyOn(node, 'warn');
            const events: AlertEvent[] = [];
            alerts.on('input', (msg: never) => events.push((msg as { payload: AlertEvent }).payload));

            // Messages are handled in order, so the alert of the last well comes after every rebuild.
            const last = WELLS[WELLS.length - 1].asset_id;
            const lastOpened = next<{ payload: AlertEvent }>(alerts, 'input', (msg) => msg.payload.asset_id === last);
            for (const well of WELLS) {
                node.receive({ topic: well.asset_id, payload: [assetReading(well.asset_id, 2, well.asset_id === last ? 150 : 50)] });
            }
            await lastOpened;

            expect(events.filter((event) => event.state === 'resolved').map((event) => event.asset_id)).toEqual(['well-0', 'well-1', 'well-2']);
            expect(debugged).not.toHaveBeenCalled();
            expect(traced).not.toHaveBeenCalled();
            // Ten failures are named; the summary counts all twelve.
            expect(warned.mock.calls.map((call) => String(call[0]))).toEqual(Array.from({ length: 10 }, (_, index) =>
                `Reading the stored history of well-${index + 3} failed (connection reset by the database); its rules start without it and fill their windows from new readings.`,
            ));

            // The interval has not passed yet, so stopping the node logs the summary.
            const summaries = (): string[] => logged.mock.calls.map((call) => String(call[0])).filter((text) => text.startsWith('Rule state rebuilt'));
            expect(summaries()).toEqual([]);
            await helper.unload();
            expect(summaries()).toHaveLength(1);
            expect(summaries()[0]).toMatch(new RegExp(
                '^Rule state rebuilt from the store: assets 288, stored readings evaluated 576, unresolved alerts reconciled 3, '
                + 'alert events sent 3, time \\d+\\.\\d s\\. Assets started without history because reading the store failed: 12 '
                + '\\(warnings name the first 10 of every 10 seconds, with their error\\)\\.$',
            ));
        });
    });

    it('should put malformed readings on the rejected output', async () => {
        const { node, rejected } = await load(writeRules(rulesYaml(100)));
        const output = next<{ payload: Rejection[] }>(rejected, 'input');
        node.receive({ topic: 'well-1', payload: [reading(0, 10), { ...reading(1, 10), ts: 'noon' }] });
        const rejections = (await output).payload;

        expect(rejections).toHaveLength(1);
        expect(rejections[0]).toMatchObject({ code: 'invalid_reading', field: 'ts', value: 'noon', ref: 'item 1', source: 'rules:rules-1' });
    });

    it('should reload the rules file when it changes', async () => {
        const path = writeRules(rulesYaml(100));
        const { node, alerts } = await load(path);
        const opened = next<{ payload: AlertEvent }>(alerts, 'input');
        node.receive({ payload: [reading(0, 150)] });
        const first = (await opened).payload;

        // The new limit changes the rule, so its open alert is resolved on reload.
        const resolvedOnReload = next<{ payload: AlertEvent }>(alerts, 'input');
        writeFileSync(path, rulesYaml(200));
        const resolved = (await resolvedOnReload).payload;
        expect(resolved).toMatchObject({ event_id: first.event_id, state: 'resolved', resolved_by: 'rule' });
        expect(resolved.evidence.resolved).toMatchObject({ reason: 'rule_changed' });

        const reopened = next<{ payload: AlertEvent }>(alerts, 'input');
        node.receive({ payload: [reading(1, 150), reading(2, 250)] });
        expect((await reopened).payload).toMatchObject({ state: 'open', opened_at: reading(2, 0).ts, message: 'well-1: pressure_tpt at 250 psi, above 200' });
    });

    it('should keep the running rules when the file becomes invalid', async () => {
        const path = writeRules(rulesYaml(100));
        const { node, alerts } = await load(path);

        const failed = next<Call>(node, 'call:error');
        const red = next<Call>(node, 'call:status', (call) => (call.args[0] as { fill?: string }).fill === 'red');
        writeFileSync(path, rulesYaml(100).replace('hold: 0s', 'hold: 30 seconds'));
        const message = String((await failed).args[0]);
        expect(message).toMatch(/^ul-rules\.errors\.bad-file-kept\n/);
        expect(message).toContain(`${path} line 11, rule tpt-high: hold must be a duration like 30s or 5m, got '30 seconds'.`);
        expect(statusText(await red)).toMatch(/^.+ line 11, rule tpt-high: hold must be/);

        const opened = next<{ payload: AlertEvent }>(alerts, 'input');
        node.receive({ payload: [reading(0, 150)] });
        expect((await opened).payload).toMatchObject({ rule_id: 'tpt-high', state: 'open' });

        // The same problem saved again is not logged again; the fixed file loads.
        const checked = next<Call>(node, 'call:debug', (call) => String(call.args[0]) === 'ul-rules.log.changed');
        writeFileSync(path, `${rulesYaml(100).replace('hold: 0s', 'hold: 30 seconds')}\n`);
        await checked;
        const reloaded = next<Call>(node, 'call:log', (call) => String(call.args[0]) === 'ul-rules.log.reloaded');
        writeFileSync(path, rulesYaml(120));
        await reloaded;
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);
        expect(errors).toHaveLength(1);
    });

    it('should start without rules from an invalid file and report it once', async () => {
        const { node, alerts } = await load(writeRules('version: 1\nrules:\n  - id: x\n'));
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toMatch(/^ul-rules\.errors\.bad-file\n.+ line 3, rule x: description is missing/);
        let received = 0;
        alerts.on('input', () => received++);
        const handled = next<Call>(node, 'call:status');
        node.receive({ payload: [reading(0, 1e6)] });
        await handled;
        expect(received).toBe(0);
    });

    it('should report a missing rules file setting at deploy', async () => {
        await load('');
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(String((errors[0][0] as { msg: unknown }).msg)).toBe('ul-rules.errors.missing-file');
    });
});
