import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { watchRulePolicies } from './rule-policies';

function rulesText(escalation: string): string {
    return [
        'version: 1',
        'rules:',
        '  - id: annulus-pressure-high',
        '    description: Annulus pressure above the limit.',
        '    severity: P3',
        '    runbook: docs/runbooks/annulus-pressure-high.md',
        "    message: '{asset_id}: {metric} at {value} {unit}'",
        '    scope:',
        '      metrics: [pressure_tpt]',
        '    kind: threshold',
        '    above: 3000',
        '    hold: 30s',
        '    clear_hysteresis: 50',
        `    escalation: ${escalation}`,
        '',
    ].join('\n');
}

async function waitFor(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

describe('watchRulePolicies', () => {
    it('should reread the policies and keep them over a broken file', async () => {
        const path = join(mkdtempSync(join(tmpdir(), 'ul-rule-policies-')), 'rules.yaml');
        writeFileSync(path, rulesText('{ after: 15m, to: P2 }'));
        const problems: string[] = [];
        const source = watchRulePolicies(path, (message) => problems.push(message), 20);
        try {
            expect(source.policies().get('annulus-pressure-high')).toEqual([{ afterMs: 900_000, to: 'P2' }]);

            writeFileSync(path, rulesText('{ after: 15m, to: P4 }'));
            await waitFor(() => problems.length === 1);
            expect(problems[0]).toContain("escalation.to must be one of P1, P2, P3, got 'P4'.");
            expect(source.policies().get('annulus-pressure-high')).toEqual([{ afterMs: 900_000, to: 'P2' }]);

            writeFileSync(path, rulesText('[{ after: 5m, to: P1 }]  # changed'));
            await waitFor(() => source.policies().get('annulus-pressure-high')?.[0].to === 'P1');
            expect(source.policies().get('annulus-pressure-high')).toEqual([{ afterMs: 300_000, to: 'P1' }]);
            expect(problems).toHaveLength(1);
        } finally {
            source.stop();
        }
    });
});
