import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FLOWS_DIR } from '../paths';
import { parseFlowText, type FlowNode } from './model';
import { renderFlows } from './show';

function cloudNodes(): FlowNode[] {
    return parseFlowText(readFileSync(join(FLOWS_DIR, 'cloud.json'), 'utf8'), 'flows/cloud.json');
}

describe('renderFlows', () => {
    it('should render node blocks with named wires', () => {
        const lines = renderFlows(cloudNodes()).split('\n');
        const start = lines.indexOf('node verify signature (ul-verify, ingest-verify) on Ingest and store');
        expect(start).toBeGreaterThan(0);
        expect(lines.slice(start + 1, start + 4)).toEqual([
            '    registryFile: "${UL_DEVICES_FILE}"',
            '    output 1 → normalize (ul-normalize, ingest-normalize)',
            '    output 2 → quarantine (ul-quarantine, ingest-quarantine)',
        ]);
        expect(lines).toContain('tab Ingest and store (tab, cloud-ingest)');
        expect(lines).toContain('config regulator store (ul-store, cloud-store)');
    });

    it('should ignore moves and entry order', () => {
        const before = cloudNodes();
        const tabs = before.filter((entry) => entry.type === 'tab');
        const after = [...structuredClone(before).filter((entry) => entry.type !== 'tab').reverse(), ...structuredClone(tabs)];
        for (const node of after) if (typeof node.x === 'number') node.x += 40;
        const verify = after.find((entry) => entry.id === 'ingest-verify') as FlowNode;
        verify.y = 500;
        expect(renderFlows(after)).toBe(renderFlows(before));
    });

    it('should show positions when asked', () => {
        const text = renderFlows(cloudNodes(), { positions: true });
        expect(text).toContain('    x: 360\n    y: 100\n');
    });

    it('should spread function code over lines', () => {
        const nodes: FlowNode[] = [
            { id: 't', type: 'tab', label: 'tab' },
            { id: 'f', type: 'function', z: 't', name: 'flag', func: 'if (msg.payload > 1) {\n    return msg;\n}', outputs: 1, x: 1, y: 1, wires: [['gone']] },
        ];
        expect(renderFlows(nodes).split('\n').slice(2)).toEqual([
            'tab tab (tab, t)',
            '',
            'node flag (function, f) on tab',
            '    func: |',
            '        if (msg.payload > 1) {',
            '            return msg;',
            '        }',
            '    outputs: 1',
            '    → gone (missing)',
            '',
        ]);
    });
});
