// Rule state across a handover, as when a bus partition moves to another runtime. One engine
// evaluates the first part of a real well file. A second engine rebuilds the asset's state from
// the stored readings and alerts, then evaluates the rest. Together they must raise and resolve
// exactly the alerts that one engine evaluating the whole file raises and resolves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readWellFile, type WellFile } from '../../test/support/clean-well';
import { DATA_DIR, FLOWS_DIR } from '../paths';
import type { AlertEvent, Asset, Reading } from '../types';
import { RulesEngine, rulesLookbackMs } from './engine';
import { ruleFingerprint } from './evaluator';
import { loadRulesFile } from './load';
import type { AssetLookup, RuleSet } from './types';

const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };
const assets: AssetLookup = (assetId) => registry.assets.find((asset) => asset.asset_id === assetId);
const ruleSet = loadRulesFile(join(FLOWS_DIR, 'rules.yaml'));

/** The alert store of the test: the router inserts an open event once by id and updates its state. */
class AlertTable {
    readonly rows = new Map<string, AlertEvent>();
    opens = 0;
    repeatedOpens = 0;

    apply(events: AlertEvent[]): void {
        for (const event of events) {
            if (event.state === 'open') {
                if (this.rows.has(event.event_id)) this.repeatedOpens++;
                else this.opens++;
                if (!this.rows.has(event.event_id)) this.rows.set(event.event_id, event);
            } else {
                this.rows.set(event.event_id, event);
            }
        }
    }

    unresolved(): AlertEvent[] {
        return [...this.rows.values()].filter((event) => event.state !== 'resolved');
    }

    summary(): string[] {
        return [...this.rows.values()].map((event) => `${event.rule_id} ${event.metric} ${event.opened_at} ${event.state} ${event.resolved_at ?? ''}`).sort();
    }
}

function evaluateWhole(file: WellFile, rules: RuleSet): AlertTable {
    const table = new AlertTable();
    const engine = new RulesEngine(rules, { assets });
    for (const readings of file.rows) table.apply(engine.process(readings));
    return table;
}

/** Evaluates rows before `split` on one engine, then hands the asset over to a second one. */
function evaluateWithHandover(file: WellFile, rules: RuleSet, split: number): AlertTable {
    const table = new AlertTable();
    const first = new RulesEngine(rules, { assets });
    for (const readings of file.rows.slice(0, split)) table.apply(first.process(readings));

    const second = new RulesEngine(rules, { assets });
    const splitMs = Date.parse(file.rows[split][0].ts);
    const history: Reading[] = file.rows.slice(0, split).flat().filter((reading) => Date.parse(reading.ts) >= splitMs - rulesLookbackMs(rules.rules));
    table.apply(second.rebuild(file.assetId, history, table.unresolved()));
    for (const readings of file.rows.slice(split)) table.apply(second.process(readings));
    return table;
}

describe.each([
    { name: '6/WELL-00004_20171031193025.csv', rule: 'choke-upstream-pressure-rise', kind: 'rate of change' },
    { name: '5/WELL-00015_20170620160349.csv', rule: 'stuck-tpt-pressure', kind: 'stuck sensor' },
])('rule state handover in $name ($kind)', ({ name, rule }) => {
    const file = readWellFile(name);
    const whole = evaluateWhole(file, ruleSet);
    const opened = [...whole.rows.values()].find((event) => event.rule_id === rule);
    const openedRow = (Date.parse(opened?.opened_at ?? '') - file.startMs) / 1000;

    it('should raise the rule in the whole file', () => {
        expect(opened).toBeDefined();
    });

    // Before the event, inside the rule's window before it opens, just before and after it
    // opened, and near the end of the file.
    it.each([200, openedRow - 20, openedRow - 1, openedRow + 1, openedRow + 30, file.rows.length - 100])(
        'should raise and resolve the same alerts with a handover at row %i',
        (split) => {
            const handedOver = evaluateWithHandover(file, ruleSet, split);

            expect(handedOver.summary()).toEqual(whole.summary());
            expect(handedOver.opens).toBe(whole.opens);
            expect(handedOver.repeatedOpens).toBe(0);
        },
    );

    it('should differ without the rebuild', () => {
        // Control: a second engine that starts empty just after the alert opened misses or raises
        // the condition again with another start time, so the comparison above can fail.
        const split = openedRow + 30;
        const table = new AlertTable();
        const first = new RulesEngine(ruleSet, { assets });
        for (const readings of file.rows.slice(0, split)) table.apply(first.process(readings));
        const second = new RulesEngine(ruleSet, { assets });
        for (const readings of file.rows.slice(split)) table.apply(second.process(readings));

        expect(table.summary()).not.toEqual(whole.summary());
    });
});

describe('rebuild', () => {
    const rules: RuleSet = loadRulesFile(join(FLOWS_DIR, 'rules.yaml'));
    const rule = rules.rules.find((candidate) => candidate.kind === 'threshold');

    it('should keep at least one minute of lookback', () => {
        expect(rulesLookbackMs([])).toBe(60_000);
    });

    it('should cover twice the longest window and hold of the demo rules', () => {
        const longest = Math.max(...rules.rules.map((candidate) => {
            if (candidate.kind === 'threshold') return candidate.holdMs;
            if (candidate.kind === 'rate_of_change') return candidate.windowMs + candidate.holdMs;
            if (candidate.kind === 'stuck') return candidate.windowMs;
            if (candidate.kind === 'missing_data') return candidate.afterMs;
            return 0;
        }));

        expect(rulesLookbackMs(rules.rules)).toBe(Math.max(60_000, 2 * longest));
    });

    it('should mark the asset as known even without history', () => {
        const engine = new RulesEngine(rules, { assets });

        expect(engine.knows('3w-well-00004')).toBe(false);
        engine.rebuild('3w-well-00004', [], []);
        expect(engine.knows('3w-well-00004')).toBe(true);
        expect(rule).toBeDefined();
    });
});

describe('ruleFingerprint', () => {
    it('should ignore the escalation policy', () => {
        const rule = ruleSet.rules[0];
        const escalated = { ...rule, escalation: [{ afterMs: 900_000, to: 'P1' as const }] };

        expect(ruleFingerprint(escalated)).toBe(ruleFingerprint(rule));
        expect(ruleFingerprint({ ...rule, scope: { ...rule.scope, metrics: ['oil_rate'] } })).not.toBe(ruleFingerprint(rule));
    });
});

describe('restore after an edge restart', () => {
    const rules = loadRulesFile(join(FLOWS_DIR, 'edge-rules.yaml'));
    const file = readWellFile('2/WELL-00012_20170320143144.csv');

    /** Returns the file's readings in the units of the edge rules (Pa and degC). */
    function edgeRows(): Reading[][] {
        return file.rows.map((row) => row.map((reading) => (reading.unit === 'psi' && reading.value !== null ? { ...reading, value: reading.value * 6894.757, unit: 'Pa' } : reading)));
    }

    it('should keep a restored alert open', () => {
        const rows = edgeRows();
        const whole = new RulesEngine(rules, { assets });
        const wholeEvents = rows.flatMap((readings) => whole.process(readings));
        const firstOpen = wholeEvents.find((event) => event.state === 'open');
        expect(firstOpen).toBeDefined();
        const openedRow = (Date.parse(firstOpen?.opened_at ?? '') - file.startMs) / 1000;

        // The edge stops 30 rows after the alert opened and starts again from the next row.
        const split = openedRow + 30;
        const before = new RulesEngine(rules, { assets });
        const beforeEvents = rows.slice(0, split).flatMap((readings) => before.process(readings));
        const after = new RulesEngine(rules, { assets });
        after.restore(before.openAlerts());
        const afterEvents = rows.slice(split).flatMap((readings) => after.process(readings));

        // Each condition opens once across the restart, as without it. A rule that had not opened
        // before the stop may open at another row, since its window starts again.
        const conditions = (events: AlertEvent[]): string[] => events.filter((event) => event.state === 'open').map((event) => `${event.rule_id} ${event.metric}`).sort();
        expect(conditions([...beforeEvents, ...afterEvents])).toEqual(conditions(wholeEvents));
        const reopened = afterEvents.filter((event) => event.state === 'open' && beforeEvents.some((earlier) => earlier.rule_id === event.rule_id && earlier.metric === event.metric));
        expect(reopened).toEqual([]);
        // An alert open at the stop is resolved later under its own id.
        const resolvedIds = afterEvents.filter((event) => event.state === 'resolved').map((event) => event.event_id);
        for (const open of before.openAlerts()) {
            if (wholeEvents.some((event) => event.event_id === open.event_id && event.state === 'resolved')) expect(resolvedIds).toContain(open.event_id);
        }
    });

    it('should resolve a restored alert whose condition ended while the edge was down', () => {
        const rows = edgeRows();
        const before = new RulesEngine(rules, { assets });
        const beforeEvents = rows.flatMap((readings) => before.process(readings));
        expect(beforeEvents.some((event) => event.state === 'open')).toBe(true);
        const stillOpen = before.openAlerts();
        // Pretend the last alert was still open at the stop, then replay normal readings of the
        // first rows, shifted after the end of the file.
        const saved = stillOpen.length > 0 ? stillOpen : beforeEvents.filter((event) => event.state === 'open').slice(-1).map((event) => ({ ...event }));
        const after = new RulesEngine(rules, { assets });
        after.restore(saved);
        const shiftMs = Date.parse(rows[rows.length - 1][0].ts) - file.startMs + 1_000;
        const normal = rows.slice(0, 1_200).map((readings) => readings.map((reading) => ({ ...reading, ts: new Date(Date.parse(reading.ts) + shiftMs).toISOString() })));
        const afterEvents = normal.flatMap((readings) => after.process(readings));

        const resolved = afterEvents.filter((event) => event.state === 'resolved');
        expect(resolved.map((event) => event.event_id).sort()).toEqual(saved.map((event) => event.event_id).sort());
        expect(resolved.every((event) => (event.evidence.resolved as { reason?: string }).reason === 'not_seen_after_restart')).toBe(true);
        const lookbackMs = rulesLookbackMs(rules.rules);
        const firstMs = Date.parse(normal[0][0].ts);
        for (const event of resolved) expect(Date.parse(event.resolved_at ?? '') - firstMs).toBeGreaterThan(lookbackMs);
        expect(afterEvents.filter((event) => event.state === 'open')).toEqual([]);
    });
});
