import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FLOWS_DIR } from '../paths';
import { RulesFileError, loadRulesFile, parseRules } from './load';

const SOURCE = 'flows/rules.yaml';

/** Returns a valid threshold rule as YAML lines of the rules list, with `extra` lines appended. */
function ruleYaml(overrides: Record<string, string> = {}, extra: string[] = []): string {
    const fields: Record<string, string> = {
        id: 'dhsv-closure',
        description: 'Pressure at the TPT collapsed.',
        severity: 'P1',
        runbook: 'docs/runbooks/dhsv-closure.md',
        message: "'{asset_id}: {metric} at {value} {unit}'",
        kind: 'threshold',
        below: '1000',
        hold: '30s',
        clear_hysteresis: '50',
        ...overrides,
    };
    const lines = Object.entries(fields)
        .filter(([, value]) => value !== '')
        .map(([key, value], index) => `${index === 0 ? '  - ' : '    '}${key}: ${value}`);
    lines.splice(5, 0, '    scope:', '      metrics: [pressure_tpt]');
    return [...lines, ...extra].join('\n');
}

function problemsOf(text: string): string[] {
    try {
        parseRules(text, SOURCE);
    } catch (err) {
        expect(err).toBeInstanceOf(RulesFileError);
        return (err as RulesFileError).message.split('\n');
    }
    throw new Error('expected the rules to be rejected');
}

describe('parseRules', () => {
    it('should parse a threshold rule with its line', () => {
        const set = parseRules(`version: 1\nrules:\n${ruleYaml()}\n`, SOURCE);

        expect(set.rules).toHaveLength(1);
        expect(set.rules[0]).toMatchObject({
            id: 'dhsv-closure',
            kind: 'threshold',
            direction: 'below',
            limit: 1000,
            holdMs: 30_000,
            clearHysteresis: 50,
            line: 3,
            scope: { metrics: ['pressure_tpt'] },
        });
        expect(set.hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('should parse a scope by field', () => {
        const text = `version: 1\nrules:\n${ruleYaml()}\n`.replace('      metrics: [pressure_tpt]', '      metrics: [pressure_tpt]\n      fields: [VOLVE]');
        const set = parseRules(text, SOURCE);

        expect(set.rules[0].scope).toEqual({ metrics: ['pressure_tpt'], fields: ['VOLVE'] });
    });

    it('should name file, line, rule and fix for a bad duration', () => {
        const problems = problemsOf(`version: 1\nrules:\n${ruleYaml({ hold: '30 seconds' })}\n`);

        expect(problems).toEqual([
            "flows/rules.yaml line 12, rule dhsv-closure: hold must be a duration like 30s or 5m, got '30 seconds'.",
        ]);
    });

    it('should report a missing field on the rule line', () => {
        const problems = problemsOf(`version: 1\nrules:\n${ruleYaml({ severity: '' })}\n`);

        expect(problems).toEqual(['flows/rules.yaml line 3, rule dhsv-closure: severity is missing; add severity: P1, P2 or P3.']);
    });

    it('should report an unknown severity with the allowed values', () => {
        const problems = problemsOf(`version: 1\nrules:\n${ruleYaml({ severity: 'P0' })}\n`);

        expect(problems).toEqual(["flows/rules.yaml line 5, rule dhsv-closure: severity must be one of P1, P2, P3, got 'P0'."]);
    });

    it('should report an unknown field with the fields of the kind', () => {
        const problems = problemsOf(`version: 1\nrules:\n${ruleYaml({}, ['    hysteresis: 5'])}\n`);

        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/^flows\/rules\.yaml line 14, rule dhsv-closure: unknown field 'hysteresis'; remove it or correct its spelling/);
        expect(problems[0]).toContain('clear_hysteresis');
    });

    it('should report an unknown kind', () => {
        const problems = problemsOf(`version: 1\nrules:\n${ruleYaml({ kind: 'spike' })}\n`);

        expect(problems).toEqual(["flows/rules.yaml line 10, rule dhsv-closure: kind must be one of threshold, rate_of_change, stuck, missing_data, composite, got 'spike'."]);
    });

    it('should require exactly one of above and below', () => {
        const neither = problemsOf(`version: 1\nrules:\n${ruleYaml({ below: '' })}\n`);
        const both = problemsOf(`version: 1\nrules:\n${ruleYaml({}, ['    above: 2000'])}\n`);

        expect(neither).toEqual(['flows/rules.yaml line 3, rule dhsv-closure: a threshold rule needs above: <limit> or below: <limit>.']);
        expect(both).toEqual([
            'flows/rules.yaml line 3, rule dhsv-closure: a threshold rule takes either above or below, not both; write a second rule for the other side.',
        ]);
    });

    it('should require a limit for rate of change', () => {
        const text = ['version: 1', 'rules:', ruleYaml({ kind: 'rate_of_change', below: '', hold: '', clear_hysteresis: '' }, ['    window: 5m'])].join('\n');

        expect(problemsOf(text)).toEqual(['flows/rules.yaml line 3, rule dhsv-closure: a rate_of_change rule needs max_rise: <change>, max_drop: <change> or both.']);
    });

    it('should suggest the closest metric for a misspelt one', () => {
        const text = `version: 1\nrules:\n${ruleYaml().replace('metrics: [pressure_tpt]', 'metrics: [presure_tpt]')}\n`;

        expect(problemsOf(text)).toEqual([
            "flows/rules.yaml line 9, rule dhsv-closure: scope.metrics lists 'presure_tpt', which is not a known metric; did you mean 'pressure_tpt'?",
        ]);
    });

    it('should reject an unknown placeholder in the message', () => {
        const problems = problemsOf(`version: 1\nrules:\n${ruleYaml({ message: "'{asset} is high'" })}\n`);

        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/^flows\/rules\.yaml line 7, rule dhsv-closure: message uses \{asset\}, which is not a placeholder; use one of \{asset_id\}/);
    });

    it('should reject a repeated rule id', () => {
        const problems = problemsOf(`version: 1\nrules:\n${ruleYaml()}\n${ruleYaml()}\n`);

        expect(problems).toEqual(['flows/rules.yaml line 14, rule dhsv-closure: the id is already used by the rule on line 3; give each rule its own id.']);
    });

    it('should report every problem of the file at once', () => {
        const problems = problemsOf(`version: 2\nrules:\n${ruleYaml({ severity: 'P9', hold: 'soon' })}\n`);

        expect(problems).toEqual([
            'flows/rules.yaml line 1: version must be 1, got 2.',
            "flows/rules.yaml line 5, rule dhsv-closure: severity must be one of P1, P2, P3, got 'P9'.",
            "flows/rules.yaml line 12, rule dhsv-closure: hold must be a duration like 30s or 5m, got 'soon'.",
        ]);
    });

    it('should report a number where a list is expected', () => {
        const text = `version: 1\nrules:\n${ruleYaml().replace('metrics: [pressure_tpt]', 'metrics: 7')}\n`;

        expect(problemsOf(text)).toEqual([
            'flows/rules.yaml line 9, rule dhsv-closure: scope.metrics must be an array (a list of metric names such as [pressure_tpt]), got 7.',
        ]);
    });

    it('should report invalid YAML with its line', () => {
        const problems = problemsOf('version: 1\nrules:\n  - id: a\n   kind: [stuck\n');

        expect(problems[0]).toBe('flows/rules.yaml line 4: invalid YAML: Sequence item without - indicator; correct the YAML on that line.');
    });

    it('should reject an empty file', () => {
        expect(problemsOf('')).toEqual(['flows/rules.yaml: the file is empty; it needs version: 1 and a rules list.']);
    });
});

describe('loadRulesFile', () => {
    it('should load the demo rules', () => {
        const set = loadRulesFile(join(FLOWS_DIR, 'rules.yaml'));

        expect(set.source).toBe('flows/rules.yaml');
        expect(set.rules.map((rule) => rule.kind).sort()).toEqual(['missing_data', 'rate_of_change', 'rate_of_change', 'rate_of_change', 'stuck', 'threshold']);
    });

    it('should name a file that does not exist', () => {
        const path = join(mkdtempSync(join(tmpdir(), 'ul-rules-')), 'missing.yaml');

        expect(() => loadRulesFile(path)).toThrow(`${path}: cannot read the rules file (the file does not exist); check the path in the node settings.`);
    });

    it('should use the full path outside the project', () => {
        const path = join(mkdtempSync(join(tmpdir(), 'ul-rules-')), 'rules.yaml');
        writeFileSync(path, 'version: 1\nrules: []\n');

        expect(loadRulesFile(path).source).toBe(path);
    });
});
