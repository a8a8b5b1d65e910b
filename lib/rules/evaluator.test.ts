import { describe, expect, it } from 'vitest';

import type { QualityFlag, Reading } from '../types';
import { RuleEvaluator } from './evaluator';
import type { RateOfChangeRule, Rule, StuckRule, ThresholdRule, Transition } from './types';

const T0 = Date.parse('2024-05-01T00:00:00.000Z');

/** Timestamp `seconds` after T0. */
function at(seconds: number): string {
    return new Date(T0 + seconds * 1000).toISOString();
}

function reading(seconds: number, value: number | null, quality: QualityFlag = 'GOOD'): Reading {
    return { asset_id: 'well-1', metric: 'pressure_tpt', value, unit: 'psi', ts: at(seconds), quality_flag: quality };
}

/** Readings from [seconds, value] pairs. */
function series(points: [number, number | null][]): Reading[] {
    return points.map(([seconds, value]) => reading(seconds, value));
}

const base = {
    description: 'test rule',
    severity: 'P2' as const,
    runbook: 'docs/runbooks/test.md',
    message: '{asset_id} {value}',
    scope: { metrics: ['pressure_tpt'] },
};

function threshold(overrides: Partial<ThresholdRule> = {}): ThresholdRule {
    return { ...base, id: 'high', kind: 'threshold', direction: 'above', limit: 100, holdMs: 0, clearHysteresis: 0, ...overrides };
}

function rate(overrides: Partial<RateOfChangeRule> = {}): RateOfChangeRule {
    return { ...base, id: 'jump', kind: 'rate_of_change', windowMs: 60_000, percent: false, holdMs: 0, clearHysteresis: 0, ...overrides };
}

function stuck(overrides: Partial<StuckRule> = {}): StuckRule {
    return { ...base, id: 'frozen', kind: 'stuck', windowMs: 60_000, tolerance: 0.5, ...overrides };
}

/** Seconds after T0 and type of each transition. */
function timeline(transitions: Transition[]): string[] {
    return transitions.map((transition) => `${transition.type}@${(Date.parse(transition.ts) - T0) / 1000}`);
}

function run(rule: Rule, readings: Reading[]): Transition[] {
    return new RuleEvaluator([rule]).evaluate(readings);
}

describe('threshold rules', () => {
    it('should not open at exactly the threshold', () => {
        const transitions = run(threshold(), series([[0, 99], [1, 100], [2, 100], [3, 100.01]]));

        expect(timeline(transitions)).toEqual(['open@3']);
        expect(transitions[0].evidence).toMatchObject({ value: 100.01, threshold: 100, direction: 'above' });
    });

    it('should restart the hold when the value falls back', () => {
        const rule = threshold({ holdMs: 30_000 });
        // Above at 0 and 10, back at 20 (hold restarts), above from 30: the hold of 30 s is met at 60.
        const readings = series([[0, 101], [10, 102], [20, 99], [30, 101], [50, 101], [59, 101], [60, 101]]);
        const transitions = run(rule, readings);

        expect(timeline(transitions)).toEqual(['open@60']);
        expect(transitions[0].evidence).toMatchObject({ hold: '30s', condition_since: at(30) });
    });

    it('should clear only past the hysteresis', () => {
        const rule = threshold({ clearHysteresis: 5 });
        const transitions = run(rule, series([[0, 101], [1, 99], [2, 101], [3, 96], [4, 95.5], [5, 95], [6, 101]]));

        expect(timeline(transitions)).toEqual(['open@0', 'clear@5', 'open@6']);
        expect(transitions[1].evidence).toMatchObject({ value: 95, clear_level: 95 });
    });

    it('should watch values below the limit', () => {
        const rule = threshold({ direction: 'below', limit: 10, clearHysteresis: 2 });
        const transitions = run(rule, series([[0, 10], [1, 9], [2, 11], [3, 12]]));

        expect(timeline(transitions)).toEqual(['open@1', 'clear@3']);
    });

    it('should open once for a flapping signal', () => {
        const rule = threshold({ clearHysteresis: 5 });
        const readings = series(Array.from({ length: 100 }, (_, i): [number, number] => [i, i % 2 === 0 ? 101 : 99]));

        expect(timeline(run(rule, readings))).toEqual(['open@0']);
    });

    it('should skip BAD and null readings without restarting the hold', () => {
        const rule = threshold({ holdMs: 30_000 });
        const readings = [reading(0, 101), reading(10, null), reading(20, 50, 'BAD'), reading(30, 101)];

        expect(timeline(run(rule, readings))).toEqual(['open@30']);
        expect(run(threshold(), [reading(0, 150, 'BAD'), reading(1, null)])).toEqual([]);
    });

    it('should keep the hold across a gap unless max_gap is set', () => {
        const readings = series([[0, 101], [120, 101], [150, 101], [180, 101]]);

        expect(timeline(run(threshold({ holdMs: 60_000 }), readings))).toEqual(['open@120']);
        // With max_gap 30s the gap from 0 to 120 restarts the hold at 120; 60 s later it is met.
        expect(timeline(run(threshold({ holdMs: 60_000, maxGapMs: 30_000 }), readings))).toEqual(['open@180']);
    });

    it('should ignore readings older than the last one of the key', () => {
        const evaluator = new RuleEvaluator([threshold({ holdMs: 30_000 })]);
        // The late reading at 10 s would restart the hold if it were used.
        const readings = series([[0, 101], [20, 101], [10, 50], [30, 101], [30, 50]]);
        const transitions = evaluator.evaluate(readings);

        expect(timeline(transitions)).toEqual(['open@30']);
        expect(evaluator.stats).toEqual({ evaluated: 5, outOfOrder: 1, duplicates: 1, invalidTimestamps: 0 });
    });

    it('should keep state per asset and metric', () => {
        const evaluator = new RuleEvaluator([threshold({ scope: { metrics: ['pressure_tpt', 'pressure_wellhead'] } })]);
        const readings: Reading[] = [
            reading(0, 101),
            { ...reading(0, 101), asset_id: 'well-2' },
            { ...reading(0, 101), metric: 'pressure_wellhead' },
            { ...reading(1, 101), metric: 'oil_rate' },
        ];
        const transitions = evaluator.evaluate(readings);

        expect(transitions.map((transition) => `${transition.asset_id}/${transition.metric}`)).toEqual([
            'well-1/pressure_tpt',
            'well-2/pressure_tpt',
            'well-1/pressure_wellhead',
        ]);
        expect(evaluator.stats.evaluated).toBe(3);
    });

    it('should count timestamps that do not parse', () => {
        const evaluator = new RuleEvaluator([threshold()]);
        evaluator.evaluate([{ ...reading(0, 150), ts: 'yesterday' }]);

        expect(evaluator.stats.invalidTimestamps).toBe(1);
    });
});

describe('rate of change rules', () => {
    it('should open on an absolute rise within the window', () => {
        const transitions = run(rate({ maxRise: 10 }), series([[0, 100], [30, 105], [60, 110], [61, 111]]));

        // At 60 the change against 100 is exactly 10 (not more); at 61 the oldest reading in the window is 105.
        expect(timeline(transitions)).toEqual([]);
        const opened = run(rate({ maxRise: 10 }), series([[0, 100], [30, 105], [60, 111]]));
        expect(timeline(opened)).toEqual(['open@60']);
        expect(opened[0].evidence).toMatchObject({ direction: 'rise', change: 11, reference: 100, reference_ts: at(0), threshold: 10, window: '1m' });
    });

    it('should open on an absolute drop', () => {
        const transitions = run(rate({ maxDrop: 10 }), series([[0, 100], [20, 95], [40, 89]]));

        expect(timeline(transitions)).toEqual(['open@40']);
        expect(transitions[0].evidence).toMatchObject({ direction: 'drop', change: 11, reference: 100 });
    });

    it('should measure percent of the reference value', () => {
        const rule = rate({ maxRise: 10, percent: true });
        const transitions = run(rule, series([[0, 200], [30, 215], [60, 221]]));

        // 215 is 7.5 % above 200, 221 is 10.5 % above it.
        expect(timeline(transitions)).toEqual(['open@60']);
        expect(transitions[0].evidence.change).toBeCloseTo(10.5, 9);
        expect(transitions[0].evidence.percent).toBe(true);
        expect(run(rule, series([[0, 0], [30, 50]]))).toEqual([]);
    });

    it('should clear when the change is back under the limit minus the hysteresis', () => {
        const rule = rate({ maxRise: 10, clearHysteresis: 2 });
        const transitions = run(rule, series([[0, 100], [10, 111], [20, 109], [30, 108]]));

        expect(timeline(transitions)).toEqual(['open@10', 'clear@30']);
        expect(transitions[1].evidence).toMatchObject({ rise: 8, reference: 100 });
    });

    it('should wait for the hold time', () => {
        const rule = rate({ maxRise: 10, holdMs: 20_000 });
        const transitions = run(rule, series([[0, 100], [10, 111], [20, 112], [25, 109], [30, 112], [40, 112], [50, 112]]));

        // Over the limit from 10, back under at 25 (change 9), over again from 30: met at 50.
        expect(timeline(transitions)).toEqual(['open@50']);
    });

    it('should not compare across a gap longer than the window', () => {
        expect(run(rate({ maxRise: 10 }), series([[0, 100], [120, 200]]))).toEqual([]);
    });

    it('should skip BAD readings', () => {
        const readings = [reading(0, 100), reading(10, 500, 'BAD'), reading(20, null), reading(30, 105)];

        expect(run(rate({ maxRise: 10 }), readings)).toEqual([]);
    });

    it('should open once while a noisy rise stays up', () => {
        const points = Array.from({ length: 60 }, (_, i): [number, number] => [i, i < 10 ? 100 : 120 + (i % 2 === 0 ? 3 : -3)]);

        expect(timeline(run(rate({ maxRise: 10, windowMs: 600_000 }), series(points)))).toEqual(['open@10']);
    });
});

describe('stuck rules', () => {
    it('should open when the whole window stays within the tolerance', () => {
        const transitions = run(stuck(), series([[0, 10], [20, 10.2], [40, 10.4], [60, 10.1]]));

        expect(timeline(transitions)).toEqual(['open@60']);
        expect(transitions[0].evidence).toMatchObject({ min: 10, max: 10.4, tolerance: 0.5, window: '1m', window_start: at(0), readings: 4 });
        expect(transitions[0].evidence.spread).toBeCloseTo(0.4, 9);
    });

    it('should not open when the spread exceeds the tolerance', () => {
        expect(run(stuck(), series([[0, 10], [20, 10.6], [40, 10.6], [60, 10.6]]))).toEqual([]);
    });

    it('should open after the window once the value settles', () => {
        // The window of the reading at 80 starts at 20, where the value is already 10.6.
        const transitions = run(stuck(), series([[0, 10], [20, 10.6], [40, 10.6], [60, 10.6], [80, 10.6], [90, 10.6]]));

        expect(timeline(transitions)).toEqual(['open@80']);
    });

    it('should clear at the first reading outside the tolerance', () => {
        const transitions = run(stuck(), series([[0, 5], [30, 5], [60, 5], [90, 5], [100, 5.4], [110, 5.6]]));

        expect(timeline(transitions)).toEqual(['open@60', 'clear@110']);
        expect(transitions[1].evidence).toMatchObject({ value: 5.6, min: 5, max: 5.6 });
    });

    it('should count BAD readings and ignore null ones', () => {
        const readings = [reading(0, 7, 'BAD'), reading(30, null), reading(45, 99, 'SUSPECT'), reading(60, 7, 'BAD')];
        const withoutSpike = readings.filter((item) => item.value !== 99);

        expect(timeline(run(stuck(), withoutSpike))).toEqual(['open@60']);
        expect(run(stuck(), readings)).toEqual([]);
    });

    it('should treat a gap as an unchanged value', () => {
        // A report-by-exception source sends nothing while the value does not change.
        expect(timeline(run(stuck({ windowMs: 600_000 }), series([[0, 5], [3600, 5]])))).toEqual(['open@3600']);
    });
});

describe('scopes', () => {
    const facts: Record<string, { type: string; operator: string; field: string }> = {
        'well-1': { type: 'well', operator: 'acme', field: 'NORTH' },
        'line-1': { type: 'pipeline', operator: 'acme', field: 'SOUTH' },
        'well-9': { type: 'well', operator: 'other', field: 'NORTH' },
    };
    const lookup = (assetId: string) => facts[assetId];

    function openedAssets(rule: Rule): string[] {
        const readings = ['well-1', 'line-1', 'well-9', 'unknown'].map((asset_id) => ({ ...reading(0, 150), asset_id }));
        return new RuleEvaluator([rule], lookup).evaluate(readings).map((transition) => transition.asset_id);
    }

    it('should match asset types and operators from the registry', () => {
        expect(openedAssets(threshold())).toEqual(['well-1', 'line-1', 'well-9', 'unknown']);
        expect(openedAssets(threshold({ scope: { metrics: ['pressure_tpt'], asset_types: ['well'] } }))).toEqual(['well-1', 'well-9']);
        expect(openedAssets(threshold({ scope: { metrics: ['pressure_tpt'], operators: ['acme'] } }))).toEqual(['well-1', 'line-1']);
        expect(openedAssets(threshold({ scope: { metrics: ['pressure_tpt'], asset_types: ['well'], operators: ['acme'] } }))).toEqual(['well-1']);
        expect(openedAssets(threshold({ scope: { metrics: ['pressure_tpt'], asset_ids: ['well-9', 'unknown'] } }))).toEqual(['well-9', 'unknown']);
    });

    it('should match fields from the registry', () => {
        expect(openedAssets(threshold({ scope: { metrics: ['pressure_tpt'], fields: ['NORTH'] } }))).toEqual(['well-1', 'well-9']);
        expect(openedAssets(threshold({ scope: { metrics: ['pressure_tpt'], fields: ['SOUTH'], operators: ['acme'] } }))).toEqual(['line-1']);
        expect(openedAssets(threshold({ scope: { metrics: ['pressure_tpt'], fields: ['WEST'] } }))).toEqual([]);
    });
});

describe('replaceRules', () => {
    it('should keep the state of unchanged rules and drop changed ones', () => {
        const evaluator = new RuleEvaluator([threshold(), threshold({ id: 'other', limit: 50 })]);
        evaluator.evaluate([reading(0, 150)]);

        const result = evaluator.replaceRules([threshold({ severity: 'P1', message: 'new text' }), threshold({ id: 'third' })]);

        expect(result.changed).toEqual([]);
        expect(result.removed.map((key) => key.rule.id)).toEqual(['other']);
        // 'high' is still open, so a higher value does not open it again; 'third' is new and opens.
        expect(evaluator.evaluate([reading(1, 160)]).map((transition) => `${transition.rule.id}:${transition.rule.severity}`)).toEqual(['third:P2']);
        expect(evaluator.evaluate([reading(2, 10)]).map((transition) => `${transition.type}:${transition.rule.id}:${transition.rule.severity}`)).toEqual([
            'clear:high:P1',
            'clear:third:P2',
        ]);

        const changed = evaluator.replaceRules([threshold({ limit: 5 }), threshold({ id: 'third' })]);
        expect(changed.changed).toEqual([]);
        evaluator.evaluate([reading(3, 150)]);
        expect(evaluator.replaceRules([threshold({ limit: 200 })]).changed.map((key) => key.rule.id)).toEqual(['high']);
    });
});

describe('clock jumps', () => {
    it('should ignore readings behind a forward jump until the clock passes it', () => {
        const evaluator = new RuleEvaluator([threshold({ holdMs: 20_000 })]);
        // The device clock jumps 300 s ahead for one reading, then runs on from 20 s. The reading
        // at 300 s is above the limit and starts the hold. Readings stamped 20 to 60 s are behind
        // it and are ignored, so they neither extend nor break the hold. 310 and 320 continue it,
        // and the hold of 20 s counted from 300 is met at 320.
        const readings = series([[0, 90], [10, 90], [300, 150], [20, 150], [30, 150], [60, 150], [310, 150], [320, 150], [330, 150]]);
        const transitions = evaluator.evaluate(readings);

        expect(timeline(transitions)).toEqual(['open@320']);
        expect(evaluator.stats.outOfOrder).toBe(3);
    });

    it('should open on a backward jump only from readings after the newest one', () => {
        const evaluator = new RuleEvaluator([threshold()]);
        // The clock steps back 60 s at the third reading: readings stamped 50 to 70 repeat or
        // precede 70 and are ignored; 80 is the first one evaluated again.
        const readings = series([[60, 90], [70, 90], [10, 150], [50, 150], [70, 150], [80, 150]]);
        const transitions = evaluator.evaluate(readings);

        expect(timeline(transitions)).toEqual(['open@80']);
        expect(evaluator.stats.outOfOrder + evaluator.stats.duplicates).toBe(3);
    });
});
