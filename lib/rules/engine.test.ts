import { describe, expect, it } from 'vitest';

import type { Reading } from '../types';
import { RulesEngine } from './engine';
import { parseRules } from './load';
import type { RuleSet } from './types';

const RULES = `
version: 1
rules:
  - id: tpt-high
    description: TPT pressure above the limit.
    severity: P1
    runbook: https://runbooks.example.com/tpt-high
    message: "{asset_id}: {metric} at {value} {unit}, above {threshold} {unit} for {hold}"
    scope: { metrics: [pressure_tpt], asset_types: [well] }
    kind: threshold
    above: 100
    hold: 0s
    clear_hysteresis: 5
  - id: choke-jump
    description: Pressure upstream of the choke jumped.
    severity: P2
    runbook: docs/runbooks/choke-jump.md
    message: "{asset_id}: {metric} rose {change} {unit} in {window} from {reference} to {value}"
    scope: { metrics: [pressure_upstream_choke] }
    kind: rate_of_change
    window: 1m
    max_rise: 10
`;

function rules(text = RULES): RuleSet {
    return parseRules(text, 'rules.yaml');
}

function reading(metric: string, seconds: number, value: number): Reading {
    return { asset_id: 'well-1', metric, value, unit: 'psi', ts: new Date(Date.UTC(2024, 4, 1, 0, 0, seconds)).toISOString() };
}

function engine(ruleSet = rules()): RulesEngine {
    let next = 0;
    return new RulesEngine(ruleSet, { assets: () => ({ type: 'well', operator: 'acme' }), newId: () => `event-${++next}` });
}

describe('RulesEngine', () => {
    it('should open an alert event with message, runbook and evidence', () => {
        const events = engine().process([reading('pressure_tpt', 0, 104.567)]);

        expect(events).toEqual([
            {
                event_id: 'event-1',
                rule_id: 'tpt-high',
                asset_id: 'well-1',
                metric: 'pressure_tpt',
                severity: 'P1',
                state: 'open',
                message: 'well-1: pressure_tpt at 104.57 psi, above 100 psi for 0s',
                runbook: 'https://runbooks.example.com/tpt-high',
                opened_at: '2024-05-01T00:00:00.000Z',
                acknowledged_at: null,
                acknowledged_by: null,
                resolved_at: null,
                resolved_by: null,
                evidence: {
                    rule_kind: 'threshold',
                    unit: 'psi',
                    value: 104.567,
                    threshold: 100,
                    direction: 'above',
                    hold: '0s',
                    condition_since: '2024-05-01T00:00:00.000Z',
                    clear_level: 95,
                },
            },
        ]);
    });

    it('should resolve the same event when the rule clears', () => {
        const subject = engine();
        subject.process([reading('pressure_tpt', 0, 120)]);
        const events = subject.process([reading('pressure_tpt', 1, 99), reading('pressure_tpt', 2, 95)]);

        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
            event_id: 'event-1',
            state: 'resolved',
            opened_at: '2024-05-01T00:00:00.000Z',
            resolved_at: '2024-05-01T00:00:02.000Z',
            resolved_by: 'rule',
        });
        expect(events[0].evidence.resolved).toMatchObject({ value: 95, clear_level: 95, reading_ts: '2024-05-01T00:00:02.000Z' });
        expect(subject.openCount).toBe(0);
    });

    it('should not open repeated alerts for a flapping signal', () => {
        const subject = engine();
        const readings = Array.from({ length: 50 }, (_, i) => reading('pressure_tpt', i, i % 2 === 0 ? 110 : 98));
        const events = subject.process(readings);

        expect(events.map((event) => event.state)).toEqual(['open']);
        expect(subject.openCount).toBe(1);
    });

    it('should fill rate placeholders', () => {
        const events = engine().process([reading('pressure_upstream_choke', 0, 800), reading('pressure_upstream_choke', 30, 812.5)]);

        expect(events.map((event) => event.message)).toEqual(['well-1: pressure_upstream_choke rose 12.5 psi in 1m from 800 to 812.5']);
    });

    it('should resolve alerts of removed and changed rules on reload', () => {
        const subject = engine();
        subject.process([reading('pressure_tpt', 0, 120), reading('pressure_upstream_choke', 0, 800), reading('pressure_upstream_choke', 1, 850)]);
        expect(subject.openCount).toBe(2);

        const changed = RULES.replace('above: 100', 'above: 110').replace(/ {2}- id: choke-jump[\s\S]*$/, '');
        const events = subject.replaceRules(rules(changed), '2024-05-01T01:00:00.000Z');

        expect(events.map((event) => [event.rule_id, event.state, event.resolved_at, event.evidence.resolved])).toEqual([
            ['choke-jump', 'resolved', '2024-05-01T01:00:00.000Z', { reason: 'rule_removed', source: 'rules.yaml' }],
            ['tpt-high', 'resolved', '2024-05-01T01:00:00.000Z', { reason: 'rule_changed', source: 'rules.yaml' }],
        ]);
        expect(subject.openCount).toBe(0);
        expect(subject.process([reading('pressure_tpt', 5, 120)]).map((event) => event.event_id)).toEqual(['event-3']);
    });

    it('should forget an asset without sending events', () => {
        const subject = engine();
        const other = (value: Reading): Reading => ({ ...value, asset_id: 'well-2' });
        subject.process([reading('pressure_tpt', 0, 120), other(reading('pressure_tpt', 0, 120)), reading('pressure_upstream_choke', 0, 800)]);
        expect(subject.openCount).toBe(2);

        subject.forget('well-1');

        expect(subject.knows('well-1')).toBe(false);
        expect(subject.knows('well-2')).toBe(true);
        expect(subject.openAlerts().map((event) => event.asset_id)).toEqual(['well-2']);
        // The open alert and the rate window of well-1 are gone: the clear finds nothing to
        // resolve, and a rise from the forgotten reference at 0 s does not open.
        const events = subject.process([reading('pressure_tpt', 1, 90), reading('pressure_upstream_choke', 30, 850), other(reading('pressure_tpt', 1, 90))]);
        expect(events.map((event) => [event.asset_id, event.state])).toEqual([['well-2', 'resolved']]);
        expect(subject.knows('well-1')).toBe(true);
    });

    it('should keep open alerts of rules whose parameters are unchanged', () => {
        const subject = engine();
        subject.process([reading('pressure_tpt', 0, 120)]);
        const events = subject.replaceRules(rules(RULES.replace('severity: P1', 'severity: P2')));

        expect(events).toEqual([]);
        expect(subject.openAlerts().map((event) => event.event_id)).toEqual(['event-1']);
        expect(subject.process([reading('pressure_tpt', 1, 90)]).map((event) => event.state)).toEqual(['resolved']);
    });
});
