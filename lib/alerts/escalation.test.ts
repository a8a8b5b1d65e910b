import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { RulesFileError, parseRules } from '../rules/load';
import { dueEscalation, escalationProblems, escalationSteps, formatPolicy, nextEscalationAt, parseEscalationText, rulePolicies, stepOffsets } from './escalation';

const MINUTE = 60_000;

/** A rules file with one P3 threshold rule whose last lines are `escalation` (indented as rule fields). */
function rulesFile(escalation: string[], severity = 'P3'): string {
    return [
        'version: 1',
        'rules:',
        '  - id: annulus-pressure-high',
        '    description: Annulus pressure above the limit.',
        `    severity: ${severity}`,
        '    runbook: docs/runbooks/annulus-pressure-high.md',
        "    message: '{asset_id}: {metric} at {value} {unit}'",
        '    scope:',
        '      metrics: [pressure_tpt]',
        '    kind: threshold',
        '    above: 3000',
        '    hold: 30s',
        '    clear_hysteresis: 50',
        ...escalation,
        '',
    ].join('\n');
}

function problemsOf(text: string): string[] {
    try {
        parseRules(text, 'flows/rules.yaml');
    } catch (err) {
        expect(err).toBeInstanceOf(RulesFileError);
        return (err as RulesFileError).message.split('\n');
    }
    throw new Error('expected the rules to be rejected');
}

describe('escalation in rules files', () => {
    it('should read a chained policy', () => {
        const set = parseRules(rulesFile(['    escalation: { after: 15m, to: P2, then: { after: 30m, to: P1 } }']), 'flows/rules.yaml');

        expect(set.rules[0].escalation).toEqual([
            { afterMs: 15 * MINUTE, to: 'P2' },
            { afterMs: 30 * MINUTE, to: 'P1' },
        ]);
    });

    it('should read a list of steps', () => {
        const set = parseRules(rulesFile(['    escalation:', '      - { after: 10m, to: P2 }', '      - { after: 1h, to: P1 }']), 'flows/rules.yaml');

        expect(set.rules[0].escalation).toEqual([
            { afterMs: 10 * MINUTE, to: 'P2' },
            { afterMs: 60 * MINUTE, to: 'P1' },
        ]);
    });

    it('should leave rules without escalation unchanged', () => {
        const set = parseRules(rulesFile([]), 'flows/rules.yaml');

        expect(set.rules[0]).not.toHaveProperty('escalation');
    });

    it.each([
        [['    escalation: { after: 15m, to: P0 }'], "flows/rules.yaml line 14, rule annulus-pressure-high: escalation.to must be one of P1, P2, P3, got 'P0'."],
        [['    escalation: { after: soon, to: P2 }'], "flows/rules.yaml line 14, rule annulus-pressure-high: escalation.after must be a duration like 30s or 5m, got 'soon'."],
        [['    escalation: { to: P2 }'], 'flows/rules.yaml line 14, rule annulus-pressure-high: escalation.after is missing; add after: a duration like 30s or 5m.'],
        [['    escalation: { after: 15m, to: P2, notify: ops }'], "flows/rules.yaml line 14, rule annulus-pressure-high: unknown field 'notify'; remove it or correct its spelling (escalation takes after, to, then)."],
        [['    escalation: 15m'], "flows/rules.yaml line 14, rule annulus-pressure-high: escalation must be an object (a step such as { after: 15m, to: P2 }, with an optional then: step, or a list of such steps), got '15m'."],
        [['    escalation: []'], 'flows/rules.yaml line 14, rule annulus-pressure-high: escalation must list at least one value.'],
        [
            ['    escalation:', '      after: 15m', '      to: P1', '      then: { after: 30m, to: P2 }'],
            'flows/rules.yaml line 17, rule annulus-pressure-high: escalation.then.to is P2, but the alert is already P1 before this step; each step must raise the severity (P3, then P2, then P1).',
        ],
        [['    escalation: [{ after: 0s, to: P2 }]'], "flows/rules.yaml line 14, rule annulus-pressure-high: escalation[0].after must be longer than 0, got '0s'."],
    ])('should reject %j', (lines, message) => {
        expect(problemsOf(rulesFile(lines))).toEqual([message]);
    });

    it('should reject a step that does not raise the rule severity', () => {
        expect(problemsOf(rulesFile(['    escalation: { after: 15m, to: P2 }'], 'P2'))).toEqual([
            'flows/rules.yaml line 14, rule annulus-pressure-high: escalation.to is P2, but the alert is already P2 before this step; each step must raise the severity (P3, then P2, then P1).',
        ]);
    });

    it('should collect the policies of the rules that have one', () => {
        const policies = rulePolicies([{ id: 'a', escalation: [{ afterMs: MINUTE, to: 'P1' }] }, { id: 'b' }, { id: 'c', escalation: [] }]);

        expect([...policies.keys()]).toEqual(['a']);
    });
});

describe('escalationSteps and escalationProblems', () => {
    it('should flatten a chain of three steps', () => {
        expect(escalationSteps({ after: '1m', to: 'P3', then: { after: '2m', to: 'P2', then: { after: '3m', to: 'P1' } } })).toEqual([
            { afterMs: MINUTE, to: 'P3' },
            { afterMs: 2 * MINUTE, to: 'P2' },
            { afterMs: 3 * MINUTE, to: 'P1' },
        ]);
    });

    it('should stop at a chain made circular by a YAML alias', () => {
        const step: Record<string, unknown> = { after: '1m', to: 'P2' };
        step.then = step;

        expect(escalationProblems(step, 'P3').map((problem) => problem.text)).toContain('escalation chains more than 10 steps through then; shorten the chain.');
    });
});

describe('parseEscalationText', () => {
    it('should read steps of the router setting', () => {
        const policy = parseEscalationText(' 15m P2, 30m P1 ', 'Default escalation');

        expect(policy).toEqual([
            { afterMs: 15 * MINUTE, to: 'P2' },
            { afterMs: 30 * MINUTE, to: 'P1' },
        ]);
        expect(formatPolicy(policy)).toBe('15m P2, 30m P1');
        expect(parseEscalationText('', 'Default escalation')).toEqual([]);
    });

    it.each([
        ['15m', "Default escalation step '15m' is not a duration and a severity; enter steps such as '15m P2, 30m P1'."],
        ['15 minutes P2', "Default escalation step '15 minutes P2' is not a duration and a severity; enter steps such as '15m P2, 30m P1'."],
        ['0s P1', "Default escalation step '0s P1' waits 0; enter a duration longer than 0, such as 15m."],
        ['15m P1, 30m P2', "Default escalation step '30m P2' does not raise the severity above P1; list the steps from P3 towards P1, such as '15m P2, 30m P1'."],
    ])('should reject %j', (text, message) => {
        expect(() => parseEscalationText(text, 'Default escalation')).toThrow(new ConfigError(message));
    });
});

describe('dueEscalation', () => {
    // First notified at 0; steps 15 min to P2, then 30 min later (at 45 min) to P1.
    const policy = [
        { afterMs: 15 * MINUTE, to: 'P2' as const },
        { afterMs: 30 * MINUTE, to: 'P1' as const },
    ];

    it('should count each step from the one before', () => {
        expect(stepOffsets(policy)).toEqual([15 * MINUTE, 45 * MINUTE]);
    });

    it('should raise the severity when a step is due', () => {
        expect(dueEscalation(policy, 0, 'P3', 0, 15 * MINUTE - 1)).toBeUndefined();
        expect(dueEscalation(policy, 0, 'P3', 0, 15 * MINUTE)).toEqual({ step: 1, severity: 'P2' });
        expect(dueEscalation(policy, 1, 'P2', 0, 44 * MINUTE)).toBeUndefined();
        expect(dueEscalation(policy, 1, 'P2', 0, 45 * MINUTE)).toEqual({ step: 2, severity: 'P1' });
        expect(dueEscalation(policy, 2, 'P1', 0, 600 * MINUTE)).toBeUndefined();
    });

    it('should go straight to the last due step after a long pause', () => {
        expect(dueEscalation(policy, 0, 'P3', 0, 50 * MINUTE)).toEqual({ step: 2, severity: 'P1' });
    });

    it('should pass over steps that do not raise the severity', () => {
        // A default policy applied to a P2 alert: the P2 step changes nothing, the P1 step does.
        expect(dueEscalation(policy, 0, 'P2', 0, 20 * MINUTE)).toBeUndefined();
        expect(nextEscalationAt(policy, 0, 'P2', 0)).toBe(45 * MINUTE);
        expect(dueEscalation(policy, 0, 'P2', 0, 45 * MINUTE)).toEqual({ step: 2, severity: 'P1' });
        expect(nextEscalationAt(policy, 0, 'P1', 0)).toBeUndefined();
    });
});
