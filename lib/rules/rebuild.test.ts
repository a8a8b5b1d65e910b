// Rule state of an asset whose bus partition moves from runtime A to runtime B and back to A. Both
// runtimes share one embedded store (PGlite): each writes the readings it evaluates and the alert
// events it raises, and rebuilds an asset from the store before evaluating it. On real well files
// the two runtimes together must raise and resolve exactly what one engine raises and resolves
// over the whole file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { readWellFile, type WellFile } from '../../test/support/clean-well';
import { DATA_DIR, FLOWS_DIR } from '../paths';
import { closeAllStores, openStore, type StoreHandle } from '../store';
import type { AlertEvent, Asset, Reading } from '../types';
import { RulesEngine } from './engine';
import { loadRulesFile } from './load';
import { AssetRebuilder, RebuildSummary, type AssetRebuild, type RebuildTotals, type RuleHistorySource } from './rebuild';
import type { AssetLookup } from './types';

const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };
const assets: AssetLookup = (assetId) => registry.assets.find((asset) => asset.asset_id === assetId);
const ruleSet = loadRulesFile(join(FLOWS_DIR, 'rules.yaml'));

/** Rows per bus message: one minute of the files' 1 s readings. */
const ROWS_PER_MESSAGE = 60;

const folder = mkdtempSync(join(tmpdir(), 'ul-rules-return-'));
let store: StoreHandle;

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
    await store.upsertAssets(registry.assets);
}, 60_000);

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

beforeEach(async () => {
    await store.query('DELETE FROM readings');
    await store.query('DELETE FROM events');
});

/** Store reads of a rebuild, as the cloud runtime provides them. */
function historySource(): RuleHistorySource {
    return {
        readingsBetween: async (assetId, from, to) => (await store.queryReadings({ asset_id: assetId, from, to, resolution: 'raw', limit: 100_000 })) as Reading[],
        unresolvedEvents: async (assetId) => [
            ...(await store.listEvents({ asset_ids: [assetId], state: 'open' })),
            ...(await store.listEvents({ asset_ids: [assetId], state: 'acknowledged' })),
        ],
    };
}

/** One cloud runtime: a rules engine with its rebuilder, writing what it evaluates to the shared store. */
class Runtime {
    readonly engine = new RulesEngine(ruleSet, { assets });
    readonly rebuilder = new AssetRebuilder(historySource());
    /** Open events whose event_id was already stored. */
    repeatedOpens = 0;
    /** Resolved events whose open event is not in the store. */
    unknownResolves = 0;

    /** Handles `rows` as bus messages of one minute each, delivered under assignment `epoch`. */
    async handle(rows: Reading[][], epoch: number): Promise<void> {
        for (let start = 0; start < rows.length; start += ROWS_PER_MESSAGE) {
            const readings = rows.slice(start, start + ROWS_PER_MESSAGE).flat();
            const events = [...(await this.rebuilder.prepare(this.engine, readings, epoch)), ...this.engine.process(readings)];
            // In the flow the store write runs beside the rules; both finish before the next message.
            await store.writeReadings(readings);
            await this.record(events);
        }
    }

    private async record(events: AlertEvent[]): Promise<void> {
        for (const event of events) {
            if (event.state === 'open') {
                if (!(await store.insertEvent(event))) this.repeatedOpens++;
            } else if (!(await store.updateEventState(event.event_id, 'resolved', 'rule', event.resolved_at ?? undefined))) {
                this.unknownResolves++;
            }
        }
    }
}

/** Describes alerts by rule, metric, opening, state and resolution, sorted, for comparison. */
function summary(events: AlertEvent[]): string[] {
    const time = (value: string | null | undefined): string => (value ? new Date(value).toISOString() : '');
    return events.map((event) => `${event.rule_id} ${event.metric} ${time(event.opened_at)} ${event.state} ${time(event.resolved_at)}`).sort();
}

/** Returns the alerts of one engine evaluating the whole file, latest state of each. */
function evaluateWhole(file: WellFile): AlertEvent[] {
    const engine = new RulesEngine(ruleSet, { assets });
    const byId = new Map<string, AlertEvent>();
    for (const readings of file.rows) {
        for (const event of engine.process(readings)) byId.set(event.event_id, event);
    }
    return [...byId.values()];
}

interface Handover {
    /** First row that runtime B evaluates. */
    toB: number;
    /** First row that runtime A evaluates again. */
    backToA: number;
    /** Whether A's partition gets a new epoch on the way back; false plays a runtime without epochs. */
    newEpoch: boolean;
}

/** Evaluates the file on runtime A, then B, then A again; returns the stored alerts and both runtimes. */
async function evaluateWithReturn(file: WellFile, { toB, backToA, newEpoch }: Handover): Promise<{ stored: AlertEvent[]; a: Runtime; b: Runtime }> {
    const a = new Runtime();
    const b = new Runtime();
    await a.handle(file.rows.slice(0, toB), 1);
    await b.handle(file.rows.slice(toB, backToA), 2);
    await a.handle(file.rows.slice(backToA), newEpoch ? 3 : 1);
    const stored = await store.listEvents({ asset_ids: [file.assetId], limit: 10_000 });
    return { stored, a, b };
}

describe.each([
    { name: '6/WELL-00004_20171031193025.csv', rule: 'choke-upstream-pressure-rise', kind: 'rate of change' },
    { name: '5/WELL-00015_20170620160349.csv', rule: 'stuck-tpt-pressure', kind: 'stuck sensor' },
])('partition returning in $name ($kind)', ({ name, rule }) => {
    const file = readWellFile(name);
    const whole = evaluateWhole(file);
    const opened = whole.find((event) => event.rule_id === rule);
    const openedRow = (Date.parse(opened?.opened_at ?? '') - file.startMs) / 1000;

    it('should raise the rule in the whole file', () => {
        expect(opened).toBeDefined();
    });

    // B evaluates the readings where the alert opens, or the readings where it is open; A takes the
    // asset back while the alert is open, or near the end of the file.
    it.each([
        { toB: openedRow - 20, backToA: openedRow + 30 },
        { toB: 200, backToA: openedRow + 1 },
        { toB: openedRow + 1, backToA: file.rows.length - 100 },
    ])('should match one engine with B on rows $toB to $backToA', async ({ toB, backToA }) => {
        const { stored, a, b } = await evaluateWithReturn(file, { toB, backToA, newEpoch: true });

        expect(summary(stored)).toEqual(summary(whole));
        expect(a.repeatedOpens + b.repeatedOpens).toBe(0);
        expect(a.unknownResolves + b.unknownResolves).toBe(0);
    });

    it('should differ without a new epoch on the return', async () => {
        // Control: A keeps its state from before the move, without the readings B evaluated.
        const { stored } = await evaluateWithReturn(file, { toB: openedRow - 20, backToA: openedRow + 30, newEpoch: false });

        expect(summary(stored)).not.toEqual(summary(whole));
    });
});

describe('AssetRebuilder', () => {
    const T0 = Date.parse('2024-05-01T00:00:00.000Z');

    function reading(seconds: number, value: number, assetId = '3w-well-00004'): Reading {
        return { asset_id: assetId, metric: 'pressure_tpt', value, unit: 'psi', ts: new Date(T0 + seconds * 1000).toISOString(), quality_flag: 'GOOD' };
    }

    /** Returns a store stand-in that records the assets whose history was read. */
    function recordingSource(): RuleHistorySource & { reads: string[] } {
        const reads: string[] = [];
        return {
            reads,
            readingsBetween: async (assetId) => {
                reads.push(assetId);
                return [];
            },
            unresolvedEvents: async () => [],
        };
    }

    it('should rebuild on first sight and record the epoch', async () => {
        const source = recordingSource();
        const rebuilder = new AssetRebuilder(source);
        const engine = new RulesEngine(ruleSet, { assets });
        await rebuilder.prepare(engine, [reading(0, 100)], 4);

        expect(source.reads).toEqual(['3w-well-00004']);
        expect(rebuilder.epochOf('3w-well-00004')).toBe(4);
        expect(engine.knows('3w-well-00004')).toBe(true);
    });

    it('should rebuild again under a newer epoch only', async () => {
        const source = recordingSource();
        const rebuilder = new AssetRebuilder(source);
        const engine = new RulesEngine(ruleSet, { assets });
        await rebuilder.prepare(engine, [reading(0, 100)], 4);
        await rebuilder.prepare(engine, [reading(1, 100)], 4);
        expect(source.reads).toHaveLength(1);

        // A message still in the flow from an earlier assignment changes nothing.
        await rebuilder.prepare(engine, [reading(2, 100)], 3);
        expect(source.reads).toHaveLength(1);
        expect(rebuilder.epochOf('3w-well-00004')).toBe(4);

        await rebuilder.prepare(engine, [reading(3, 100)], 9);
        expect(source.reads).toHaveLength(2);
        expect(rebuilder.epochOf('3w-well-00004')).toBe(9);
    });

    it('should keep the state of messages without an epoch', async () => {
        const source = recordingSource();
        const rebuilder = new AssetRebuilder(source);
        const engine = new RulesEngine(ruleSet, { assets });
        await rebuilder.prepare(engine, [reading(0, 100)]);
        await rebuilder.prepare(engine, [reading(1, 100)]);
        expect(source.reads).toHaveLength(1);

        // A known asset without an epoch adopts the first epoch it receives.
        await rebuilder.prepare(engine, [reading(2, 100)], 5);
        expect(source.reads).toHaveLength(1);
        expect(rebuilder.epochOf('3w-well-00004')).toBe(5);
    });

    it('should track epochs per asset', async () => {
        const source = recordingSource();
        const rebuilder = new AssetRebuilder(source);
        const engine = new RulesEngine(ruleSet, { assets });
        await rebuilder.prepare(engine, [reading(0, 100), reading(0, 100, '3w-well-00015')], 2);
        await rebuilder.prepare(engine, [reading(1, 100, '3w-well-00015')], 6);

        expect(source.reads).toEqual(['3w-well-00004', '3w-well-00015', '3w-well-00015']);
        expect(rebuilder.epochOf('3w-well-00004')).toBe(2);
        expect(rebuilder.epochOf('3w-well-00015')).toBe(6);
    });

    it('should start a returned asset empty without a store', async () => {
        const rebuilder = new AssetRebuilder(undefined);
        const engine = new RulesEngine(ruleSet, { assets });
        await rebuilder.prepare(engine, [reading(0, 100)], 1);
        engine.process([reading(0, 100)]);
        expect(engine.knows('3w-well-00004')).toBe(true);

        expect(await rebuilder.prepare(engine, [reading(1, 100)], 2)).toEqual([]);
        expect(engine.knows('3w-well-00004')).toBe(false);
    });

    it('should report a failed read and start without history', async () => {
        const failures: string[] = [];
        const rebuilder = new AssetRebuilder(
            {
                readingsBetween: async () => {
                    throw new Error('database unavailable');
                },
                unresolvedEvents: async () => [],
            },
            { failed: (assetId, error) => failures.push(`${assetId}: ${error.message}`) },
        );
        const engine = new RulesEngine(ruleSet, { assets });

        expect(await rebuilder.prepare(engine, [reading(0, 100)], 1)).toEqual([]);
        expect(failures).toEqual(['3w-well-00004: database unavailable']);
        expect(engine.knows('3w-well-00004')).toBe(true);
    });

    it('should report the counts of each rebuild', async () => {
        // A stored tpt-overpressure alert whose condition cleared within the history is resolved.
        const stored: AlertEvent = {
            event_id: '00000000-0000-4000-8000-000000000004', rule_id: 'tpt-overpressure', asset_id: '3w-well-00004', metric: 'pressure_tpt',
            severity: 'P1', state: 'open', message: 'stored', opened_at: reading(30, 0).ts, evidence: {},
        };
        const history = [...Array.from({ length: 40 }, (_, second) => reading(second, 4600)), reading(40, 4300)];
        const reports: AssetRebuild[] = [];
        const failures: string[] = [];
        const rebuilder = new AssetRebuilder(
            {
                readingsBetween: async (assetId) => {
                    if (assetId === '3w-well-00015') throw new Error('database unavailable');
                    return assetId === '3w-well-00004' ? history : [];
                },
                unresolvedEvents: async (assetId) => (assetId === '3w-well-00004' ? [stored] : []),
            },
            { rebuilt: (rebuild) => reports.push(rebuild), failed: (assetId) => failures.push(assetId) },
        );
        const engine = new RulesEngine(ruleSet, { assets });
        const events = await rebuilder.prepare(engine, [reading(41, 4300), reading(41, 100, '3w-well-00015'), reading(41, 100, '3w-well-00001')], 1);

        expect(reports.map((report) => report.assetId)).toEqual(['3w-well-00004', '3w-well-00001']);
        expect(reports[0]).toMatchObject({ readings: 41, alerts: 1, events: events.length });
        expect(events.some((event) => event.event_id === stored.event_id && event.state === 'resolved')).toBe(true);
        expect(reports[0].durationMs).toBeGreaterThanOrEqual(0);
        expect(reports[1]).toMatchObject({ readings: 0, alerts: 0, events: 0 });
        expect(failures).toEqual(['3w-well-00015']);
    });
});

describe('RebuildSummary', () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });

    afterEach(() => {
        vi.useRealTimers();
    });

    function rebuild(assetId: string, events = 0): AssetRebuild {
        return { assetId, readings: 60, alerts: 1, events, durationMs: 4 };
    }

    it('should report once per interval', () => {
        const reports: RebuildTotals[] = [];
        const summary = new RebuildSummary((totals) => reports.push(totals), 10_000);
        // 5,000 assets rebuilt 7 ms apart: 35 s of rebuilds.
        for (let index = 0; index < 5_000; index++) {
            summary.rebuilt(rebuild(`well-${index}`, index % 100 === 0 ? 1 : 0));
            vi.advanceTimersByTime(7);
        }
        vi.advanceTimersByTime(10_000);

        expect(reports).toHaveLength(4);
        expect(reports[0].assets).toBe(1_429);
        const sum = (field: keyof RebuildTotals): number => reports.reduce((total, report) => total + report[field], 0);
        expect(sum('assets')).toBe(5_000);
        expect(sum('readings')).toBe(300_000);
        expect(sum('alerts')).toBe(5_000);
        expect(sum('events')).toBe(50);
        expect(sum('durationMs')).toBe(20_000);
    });

    it('should report failed and returned assets', () => {
        const reports: RebuildTotals[] = [];
        const summary = new RebuildSummary((totals) => reports.push(totals), 10_000);
        summary.returned();
        summary.failed();
        vi.advanceTimersByTime(10_000);

        expect(reports).toEqual([{ assets: 0, readings: 0, alerts: 0, events: 0, durationMs: 0, failed: 1, returned: 1 }]);
    });

    it('should flush pending counts at once', () => {
        const reports: RebuildTotals[] = [];
        const summary = new RebuildSummary((totals) => reports.push(totals), 10_000);
        summary.rebuilt(rebuild('well-1', 2));
        summary.rebuilt(rebuild('well-2'));
        summary.failed();
        summary.flush();

        expect(reports).toEqual([{ assets: 2, readings: 120, alerts: 2, events: 2, durationMs: 8, failed: 1, returned: 0 }]);
        vi.advanceTimersByTime(20_000);
        summary.flush();
        expect(reports).toHaveLength(1);
    });

    it('should report nothing without rebuilds', () => {
        const reports: RebuildTotals[] = [];
        const summary = new RebuildSummary((totals) => reports.push(totals), 10_000);
        summary.flush();
        vi.advanceTimersByTime(20_000);

        expect(reports).toEqual([]);
    });
});
