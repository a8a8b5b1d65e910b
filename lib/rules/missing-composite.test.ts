// missing_data and composite rules: evaluator state machines with hand-computed expectations, and
// their checks in rules files.
import { describe, expect, it } from 'vitest';

import type { Reading } from '../types';
import { RulesEngine } from './engine';
import { RuleEvaluator } from './evaluator';
import { RulesFileError, parseRules } from './load';
import type { CompositeRule, MissingDataRule, Rule, ThresholdRule, Transition } from './types';

const T0 = Date.parse('2024-05-01T00:00:00.000Z');

function at(seconds: number): string {
    return new Date(T0 + seconds * 1000).toISOString();
}

function reading(seconds: number, metric: string, value: number | null = 1, assetId = 'well-1'): Reading {
    return { asset_id: assetId, metric, value, unit: metric.startsWith('temp') ? 'degC' : 'psi', ts: at(seconds), quality_flag: 'GOOD' };
}

const base = {
    description: 'test rule',
    severity: 'P2' as const,
    runbook: 'docs/runbooks/test.md',
    message: '{asset_id} {metric} silent since {since} ({window})',
};

/** pressure_tpt silent for 60 s while temp_tpt keeps reporting. */
function missing(overrides: Partial<MissingDataRule> = {}): MissingDataRule {
    return { ...base, id: 'tpt-silent', kind: 'missing_data', afterMs: 60_000, scope: { metrics: ['pressure_tpt', 'temp_tpt'] }, ...overrides };
}

function high(id: string, metric: string, limit: number): ThresholdRule {
    return { ...base, id, kind: 'threshold', direction: 'above', limit, holdMs: 0, clearHysteresis: 0, scope: { metrics: [metric] } };
}

function composite(mode: 'all' | 'any', ruleIds: string[]): CompositeRule {
    return { ...base, id: `both-${mode}`, kind: 'composite', mode, ruleIds, scope: { metrics: [] } };
}

function brief(transitions: Transition[]): [string, string, string, string][] {
    return transitions.map((t) => [t.type, t.rule.id, t.metric, t.ts]);
}

describe('missing_data rule', () => {
    it('should open exactly at the boundary', () => {
        const evaluator = new RuleEvaluator([missing()]);
        // pressure at 0 s, temperature every 30 s; the asset clock reaches 59 s, then 60 s.
        const early = evaluator.evaluate([reading(0, 'pressure_tpt'), reading(0, 'temp_tpt'), reading(30, 'temp_tpt'), reading(59, 'temp_tpt')]);
        expect(early).toEqual([]);
        const opened = evaluator.evaluate([reading(60, 'temp_tpt')]);
        expect(brief(opened)).toEqual([['open', 'tpt-silent', 'pressure_tpt', at(60)]]);
        expect(opened[0].evidence).toEqual({ last_reading_ts: at(0), clock_ts: at(60), silent_ms: 60_000, after: '1m' });
        expect(opened[0].value).toBeNull();
    });

    it('should resolve with duration_ms', () => {
        const evaluator = new RuleEvaluator([missing()]);
        evaluator.evaluate([reading(0, 'pressure_tpt'), reading(10, 'temp_tpt'), reading(90, 'temp_tpt')]);
        const cleared = evaluator.evaluate([reading(95, 'pressure_tpt')]);
        expect(brief(cleared)).toEqual([['clear', 'tpt-silent', 'pressure_tpt', at(95)]]);
        // The gap runs from the last reading before it (0 s) to the returning one (95 s).
        expect(cleared[0].evidence).toEqual({ duration_ms: 95_000, last_reading_ts: at(0), returned_ts: at(95) });
    });

    it('should skip metrics that never reported', () => {
        const evaluator = new RuleEvaluator([missing()]);
        // temp_tpt reports from 0 s; pressure_tpt never does. Only temp can go missing.
        const transitions = evaluator.evaluate([reading(0, 'temp_tpt'), reading(120, 'temp_tpt'), reading(130, 'pressure_tpt'), reading(200, 'pressure_tpt')]);
        // At 200 s temp was last seen at 120 s: 80 s >= 60 s.
        expect(brief(transitions)).toEqual([['open', 'tpt-silent', 'temp_tpt', at(200)]]);
    });

    it('should handle out-of-order readings', () => {
        const evaluator = new RuleEvaluator([missing()]);
        evaluator.evaluate([reading(0, 'pressure_tpt'), reading(50, 'temp_tpt')]);
        // 40 s is behind the clock (50 s): it does not move the clock.
        expect(evaluator.evaluate([reading(40, 'temp_tpt')])).toEqual([]);
        expect(brief(evaluator.evaluate([reading(100, 'temp_tpt')]))).toEqual([['open', 'tpt-silent', 'pressure_tpt', at(100)]]);
        // A pressure reading from 30 s arrives late: the clock (100 s) is still 70 s past it, so the alert stays open.
        expect(evaluator.evaluate([reading(30, 'pressure_tpt')])).toEqual([]);
        // A reading from 60 s is 40 s behind the clock: the gap 30 s .. 60 s closes the alert.
        const cleared = evaluator.evaluate([reading(60, 'pressure_tpt')]);
        expect(brief(cleared)).toEqual([['clear', 'tpt-silent', 'pressure_tpt', at(60)]]);
        expect(cleared[0].evidence.duration_ms).toBe(30_000);
        // A reading older than the last one of the metric is counted out of order and changes nothing.
        expect(evaluator.evaluate([reading(20, 'pressure_tpt')])).toEqual([]);
        expect(evaluator.stats.outOfOrder).toBe(2);
    });

    it('should keep a clock per asset', () => {
        const evaluator = new RuleEvaluator([missing({ scope: { metrics: ['pressure_tpt'] } })]);
        const transitions = evaluator.evaluate([
            reading(0, 'pressure_tpt', 1, 'well-1'),
            reading(0, 'pressure_tpt', 1, 'well-2'),
            reading(61, 'gas_lift_rate', 1, 'well-2'),
            reading(61, 'pressure_tpt', 1, 'well-1'),
        ]);
        expect(transitions.map((t) => [t.type, t.asset_id])).toEqual([['open', 'well-2']]);
    });

    it('should open and resolve engine events', () => {
        const engine = new RulesEngine({ version: 1, rules: [missing()], source: 'test', hash: 'x' });
        const opened = engine.process([reading(0, 'pressure_tpt'), reading(0, 'temp_tpt'), reading(75, 'temp_tpt')]);
        expect(opened).toHaveLength(1);
        expect(opened[0]).toMatchObject({ state: 'open', rule_id: 'tpt-silent', metric: 'pressure_tpt', opened_at: at(75) });
        expect(opened[0].message).toBe(`well-1 pressure_tpt silent since ${at(0)} (1m)`);
        const resolved = engine.process([reading(80, 'pressure_tpt')]);
        expect(resolved[0]).toMatchObject({ event_id: opened[0].event_id, state: 'resolved', resolved_at: at(80) });
        expect((resolved[0].evidence.resolved as Record<string, unknown>).duration_ms).toBe(80_000);
    });
});

describe('composite rule', () => {
    const rules: Rule[] = [high('hot', 'temp_tpt', 80), high('pressed', 'pressure_tpt', 100)];

    it('should open all-composite while every rule is open', () => {
        const evaluator = new RuleEvaluator([...rules, composite('all', ['hot', 'pressed'])]);
        const transitions = evaluator.evaluate([
            reading(0, 'temp_tpt', 90),
            reading(1, 'pressure_tpt', 50),
            reading(2, 'pressure_tpt', 150, 'well-2'),
            reading(3, 'pressure_tpt', 150),
            reading(4, 'temp_tpt', 70),
        ]);
        expect(brief(transitions)).toEqual([
            ['open', 'hot', 'temp_tpt', at(0)],
            ['open', 'pressed', 'pressure_tpt', at(2)],
            ['open', 'pressed', 'pressure_tpt', at(3)],
            ['open', 'both-all', 'pressure_tpt,temp_tpt', at(3)],
            ['clear', 'hot', 'temp_tpt', at(4)],
            ['clear', 'both-all', 'pressure_tpt,temp_tpt', at(4)],
        ]);
        expect(transitions[3].asset_id).toBe('well-1');
        expect(transitions[3].evidence).toEqual({
            mode: 'all',
            rules: ['hot', 'pressed'],
            open_rules: ['hot', 'pressed'],
            trigger: 'pressed',
            trigger_metric: 'pressure_tpt',
        });
    });

    it('should forget open rules of one asset only', () => {
        const evaluator = new RuleEvaluator([...rules, composite('all', ['hot', 'pressed'])]);
        evaluator.evaluate([reading(0, 'temp_tpt', 90), reading(0, 'temp_tpt', 90, 'well-2')]);
        evaluator.forget('well-1');
        const transitions = evaluator.evaluate([
            reading(1, 'pressure_tpt', 150),
            reading(1, 'pressure_tpt', 150, 'well-2'),
            reading(2, 'temp_tpt', 70),
        ]);

        // well-1 lost its open 'hot' rule: the composite stays closed and nothing clears.
        expect(brief(transitions)).toEqual([
            ['open', 'pressed', 'pressure_tpt', at(1)],
            ['open', 'pressed', 'pressure_tpt', at(1)],
            ['open', 'both-all', 'pressure_tpt,temp_tpt', at(1)],
        ]);
        expect(transitions.map((transition) => transition.asset_id)).toEqual(['well-1', 'well-2', 'well-2']);
        expect(evaluator.openKeys().map((key) => `${key.rule.id} ${key.asset_id}`).sort()).toEqual(['both-all well-2', 'hot well-2', 'pressed well-1', 'pressed well-2']);
    });

    it('should keep any-composite open until last clear', () => {
        const evaluator = new RuleEvaluator([...rules, composite('any', ['hot', 'pressed'])]);
        const transitions = evaluator.evaluate([
            reading(0, 'temp_tpt', 90),
            reading(1, 'pressure_tpt', 150),
            reading(2, 'temp_tpt', 70),
            reading(3, 'pressure_tpt', 100),
        ]);
        expect(brief(transitions).filter(([, id]) => id === 'both-any')).toEqual([
            ['open', 'both-any', 'pressure_tpt,temp_tpt', at(0)],
            ['clear', 'both-any', 'pressure_tpt,temp_tpt', at(3)],
        ]);
    });

    it('should combine missing_data rules', () => {
        const evaluator = new RuleEvaluator([missing({ scope: { metrics: ['pressure_tpt'] } }), high('hot', 'temp_tpt', 80), composite('all', ['tpt-silent', 'hot'])]);
        const transitions = evaluator.evaluate([reading(0, 'pressure_tpt'), reading(30, 'temp_tpt', 90), reading(60, 'temp_tpt', 95)]);
        expect(brief(transitions)).toEqual([
            ['open', 'hot', 'temp_tpt', at(30)],
            ['open', 'tpt-silent', 'pressure_tpt', at(60)],
            ['open', 'both-all', 'pressure_tpt,temp_tpt', at(60)],
        ]);
    });

    it('should resolve composite when a rule changes', () => {
        const all = composite('all', ['hot', 'pressed']);
        const engine = new RulesEngine({ version: 1, rules: [...rules, all], source: 'test', hash: 'a' });
        engine.process([reading(0, 'temp_tpt', 90), reading(1, 'pressure_tpt', 150)]);
        expect(engine.openAlerts().map((event) => event.rule_id)).toEqual(['hot', 'pressed', 'both-all']);
        const changedPressed = { ...rules[1], limit: 200 } as ThresholdRule;
        const resolved = engine.replaceRules({ version: 1, rules: [rules[0], changedPressed, all], source: 'test', hash: 'b' }, at(5));
        expect(resolved.map((event) => [event.rule_id, event.state])).toEqual([
            ['pressed', 'resolved'],
            ['both-all', 'resolved'],
        ]);
        expect(engine.openAlerts().map((event) => event.rule_id)).toEqual(['hot']);
    });
});

const HEAD = 'version: 1\nrules:\n';
const COMMON = [
    '    description: Test rule.',
    '    severity: P2',
    '    runbook: docs/runbooks/test.md',
    "    message: '{asset_id}'",
];

function ruleText(id: string, lines: string[]): string {
    return [`  - id: ${id}`, ...COMMON, ...lines].join('\n');
}

const HOT = ruleText('hot', ['    scope:', '      metrics: [temp_tpt]', '    kind: threshold', '    above: 80', '    hold: 0s', '    clear_hysteresis: 0']);

function problems(text: string): string[] {
    try {
        parseRules(text, 'flows/rules.yaml');
    } catch (err) {
        return (err as RulesFileError).message.split('\n');
    }
    return [];
}

describe('loading missing_data and composite rules', () => {
    it('should load both kinds into rules', () => {
        const text = `${HEAD}${HOT}\n${ruleText('silent', ['    scope:', '      metrics: [pressure_tpt]', '    kind: missing_data', '    after: 5m'])}\n${ruleText('pair', ['    kind: composite', '    any: [hot, silent]'])}\n`;
        const set = parseRules(text, 'flows/rules.yaml');
        expect(set.rules[1]).toMatchObject({ kind: 'missing_data', afterMs: 300_000 });
        expect(set.rules[2]).toMatchObject({ kind: 'composite', mode: 'any', ruleIds: ['hot', 'silent'], scope: { metrics: [] } });
    });

    it('should report bad after values', () => {
        const missingAfter = ruleText('silent', ['    scope:', '      metrics: [pressure_tpt]', '    kind: missing_data']);
        expect(problems(`${HEAD}${missingAfter}\n`)).toEqual(['flows/rules.yaml line 3, rule silent: after is missing; add after: a duration like 30s or 5m.']);
        const zero = ruleText('silent', ['    scope:', '      metrics: [pressure_tpt]', '    kind: missing_data', '    after: 0s']);
        expect(problems(`${HEAD}${zero}\n`)).toEqual(["flows/rules.yaml line 11, rule silent: after must be longer than 0, got '0s'."]);
        const bad = ruleText('silent', ['    scope:', '      metrics: [pressure_tpt]', '    kind: missing_data', '    after: five minutes']);
        expect(problems(`${HEAD}${bad}\n`)).toEqual(["flows/rules.yaml line 11, rule silent: after must be a duration like 30s or 5m, got 'five minutes'."]);
    });

    it('should report invalid composite rules', () => {
        const unknown = ruleText('pair', ['    kind: composite', '    all: [hot, nope]']);
        expect(problems(`${HEAD}${HOT}\n${unknown}\n`)).toEqual([
            "flows/rules.yaml line 20, rule pair: all lists 'nope', which is not a rule of this file; use the id of a rule defined here.",
        ]);
        const self = ruleText('pair', ['    kind: composite', '    any: [pair]']);
        expect(problems(`${HEAD}${self}\n`)).toEqual(['flows/rules.yaml line 9, rule pair: any lists the rule itself; list other rules of this file.']);
        const nested = ruleText('outer', ['    kind: composite', '    any: [pair]']);
        const inner = ruleText('pair', ['    kind: composite', '    any: [hot]']);
        expect(problems(`${HEAD}${HOT}\n${inner}\n${nested}\n`)).toEqual([
            "flows/rules.yaml line 27, rule outer: any lists 'pair', which is a composite rule; list its rules directly instead.",
        ]);
        const both = ruleText('pair', ['    kind: composite', '    all: [hot]', '    any: [hot]']);
        expect(problems(`${HEAD}${HOT}\n${both}\n`)).toEqual([
            'flows/rules.yaml line 14, rule pair: a composite rule takes either all or any, not both; write a second rule for the other.',
        ]);
        const scoped = ruleText('pair', ['    scope:', '      metrics: [temp_tpt]', '    kind: composite', '    all: [hot]']);
        expect(problems(`${HEAD}${HOT}\n${scoped}\n`)).toEqual([
            'flows/rules.yaml line 19, rule pair: a composite rule takes no scope; it applies to each asset its rules watch. Remove scope.',
        ]);
    });

    it('should still require a scope on the other kinds', () => {
        const noScope = ruleText('hot', ['    kind: threshold', '    above: 80', '    hold: 0s', '    clear_hysteresis: 0']);
        expect(problems(`${HEAD}${noScope}\n`)).toEqual([
            'flows/rules.yaml line 3, rule hot: scope is missing; add scope: a map with at least metrics: [<metric>].',
        ]);
    });
});
