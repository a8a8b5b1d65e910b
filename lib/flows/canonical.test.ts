import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FLOWS_DIR } from '../paths';
import { canonicalKeyOrder, canonicalNodes, findCanonicalDifference, formatFlowText, formatFlows } from './canonical';
import { FlowFileError, parseFlowText, type FlowNode } from './model';

const REPO_FLOW_FILES = ['edge.json', 'cloud.json'];

function readRepoFlow(name: string): string {
    return readFileSync(join(FLOWS_DIR, name), 'utf8');
}

/** Checks the documented key order: id, type, z, name, the rest sorted, then x, y, w, h, wires. */
function expectCanonicalKeys(node: FlowNode): void {
    const keys = Object.keys(node);
    const leading = ['id', 'type', 'z', 'name'].filter((key) => key in node);
    const trailing = ['x', 'y', 'w', 'h', 'wires'].filter((key) => key in node);
    expect(keys.slice(0, leading.length), `leading keys of ${node.id}`).toEqual(leading);
    expect(keys.slice(keys.length - trailing.length), `trailing keys of ${node.id}`).toEqual(trailing);
    const middle = keys.slice(leading.length, keys.length - trailing.length);
    expect(middle, `middle keys of ${node.id}`).toEqual([...middle].sort());
}

describe('canonical form of the repository flow files', () => {
    for (const name of REPO_FLOW_FILES) {
        it(`should be stable for ${name}`, () => {
            const once = formatFlowText(readRepoFlow(name), name);
            const twice = formatFlowText(once, name);
            expect(twice).toBe(once);
        });

        it(`should keep every value of ${name}`, () => {
            const original = parseFlowText(readRepoFlow(name), name);
            const formatted = parseFlowText(formatFlowText(readRepoFlow(name), name), name);
            expect(formatted).toHaveLength(original.length);
            const byId = new Map(formatted.map((node) => [node.id, node]));
            for (const node of original) expect(byId.get(node.id), node.id).toEqual(node);
        });

        it(`should order node keys in ${name}`, () => {
            const formatted = parseFlowText(formatFlowText(readRepoFlow(name), name), name);
            for (const node of formatted) expectCanonicalKeys(node);
        });

        it(`should order the entries of ${name}`, () => {
            const original = parseFlowText(readRepoFlow(name), name);
            const formatted = parseFlowText(formatFlowText(readRepoFlow(name), name), name);
            const tabs = original.filter((node) => node.type === 'tab').map((node) => node.id);
            const rank = (node: FlowNode) => {
                if (node.type === 'tab') return 0;
                if (node.type === 'subflow') return 1;
                return node.z === undefined ? 2 : 3;
            };
            const kinds = formatted.map(rank);
            expect(kinds, 'tabs, subflows, config nodes, then flow nodes').toEqual([...kinds].sort());
            expect(formatted.filter((node) => node.type === 'tab').map((node) => node.id), 'tabs keep file order').toEqual(tabs);

            const configNodes = formatted.filter((node) => node.type !== 'tab' && node.z === undefined);
            const configKeys = configNodes.map((node) => `${node.type}\u0000${node.id}`);
            expect(configKeys, 'config nodes by type then id').toEqual([...configKeys].sort());

            const flowNodes = formatted.filter((node) => node.z !== undefined);
            const tabOfNode = flowNodes.map((node) => tabs.indexOf(node.z as string));
            expect(tabOfNode, 'flow nodes grouped by tab in tab order').toEqual([...tabOfNode].sort((a, b) => a - b));
            for (let i = 1; i < flowNodes.length; i++) {
                const [a, b] = [flowNodes[i - 1], flowNodes[i]];
                if (a.z !== b.z) continue;
                const ordered = (a.y as number) < (b.y as number) || (a.y === b.y && ((a.x as number) < (b.x as number) || (a.x === b.x && a.id < b.id)));
                expect(ordered, `${a.id} before ${b.id} by y, x, id`).toBe(true);
            }
        });

        it(`should indent ${name} with 4 spaces`, () => {
            const formatted = formatFlowText(readRepoFlow(name), name);
            expect(formatted.endsWith('}\n]\n')).toBe(true);
            expect(formatted.split('\n')[1]).toBe('    {');
            expect(formatted.split('\n')[2]).toMatch(/^ {8}"id": /);
        });
    }
});

describe('canonicalNodes', () => {
    const nodes: FlowNode[] = [
        { id: 'n-late', type: 'debug', z: 'tab-2', name: 'late', x: 100, y: 300, wires: [] },
        { id: 'broker', type: 'mqtt-broker', name: 'broker', broker: 'localhost' },
        { id: 'tab-2', type: 'tab', label: 'second' },
        { id: 'n-left', type: 'inject', z: 'tab-2', x: 100, y: 100, wires: [['n-late']] },
        { id: 'bus', type: 'ul-bus', name: 'bus' },
        { id: 'tab-1', type: 'tab', label: 'first' },
        { id: 'n-right', type: 'inject', z: 'tab-2', x: 300, y: 100, wires: [] },
        { id: 'n-b', type: 'inject', z: 'tab-1', x: 100, y: 100, wires: [] },
        { id: 'n-a', type: 'inject', z: 'tab-1', x: 100, y: 100, wires: [] },
        { id: 'sf', type: 'subflow', name: 'helper', in: [], out: [] },
        { id: 'sf-node', type: 'function', z: 'sf', x: 10, y: 10, wires: [] },
        { id: 'stray', type: 'debug', z: 'gone', x: 10, y: 10 },
        { id: 'tab-config', type: 'ul-store', z: 'tab-1', name: 'tab store' },
    ];

    it('should order entries by kind and tab', () => {
        expect(canonicalNodes(nodes).map((node) => node.id)).toEqual([
            'tab-2',
            'tab-1',
            'sf',
            'broker',
            'bus',
            'n-left',
            'n-right',
            'n-late',
            'tab-config',
            'n-a',
            'n-b',
            'sf-node',
            'stray',
        ]);
    });

    it('should keep positions unchanged', () => {
        const byId = new Map(canonicalNodes(nodes).map((node) => [node.id, node]));
        expect(byId.get('n-right')?.x).toBe(300);
        expect(byId.get('n-right')?.y).toBe(100);
    });

    it('should not change the input array', () => {
        const copy = structuredClone(nodes);
        canonicalNodes(nodes);
        expect(nodes).toEqual(copy);
        expect(nodes.map((node) => node.id)).toEqual(copy.map((node) => node.id));
    });
});

describe('canonicalKeyOrder', () => {
    it('should put wires and positions last', () => {
        const node: FlowNode = { wires: [], y: 2, func: 'return msg;', x: 1, name: 'f', z: 't', type: 'function', id: 'f1', h: 4, w: 3, outputs: 1 };
        expect(canonicalKeyOrder(node)).toEqual(['id', 'type', 'z', 'name', 'func', 'outputs', 'x', 'y', 'w', 'h', 'wires']);
    });

    it('should sort by code unit, uppercase first', () => {
        const node: FlowNode = { id: 'n', type: 't', zeta: 1, Alpha: 2, alpha: 3 };
        expect(canonicalKeyOrder(node)).toEqual(['id', 'type', 'Alpha', 'alpha', 'zeta']);
    });

    it('should keep a __proto__ key as data', () => {
        const [node] = parseFlowText('[{"type":"t","__proto__":{"polluted":true},"id":"n"}]', 'x.json');
        const text = formatFlows([node]);
        expect(text).toContain('"__proto__": {');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
});

describe('findCanonicalDifference', () => {
    const canonical = formatFlows([
        { id: 't', type: 'tab', label: 'tab' },
        { id: 'a', type: 'inject', z: 't', x: 1, y: 1, wires: [] },
        { id: 'b', type: 'debug', z: 't', x: 1, y: 2 },
    ]);

    it('should return nothing for canonical text', () => {
        expect(findCanonicalDifference(canonical, parseFlowText(canonical, 'f.json'))).toBeUndefined();
    });

    it('should name the misplaced entry', () => {
        const nodes = parseFlowText(canonical, 'f.json');
        const swapped = [nodes[0], nodes[2], nodes[1]];
        const difference = findCanonicalDifference(JSON.stringify(swapped, null, 4) + '\n', swapped);
        expect(difference?.reason).toBe('entry order');
        expect(difference?.node?.id).toBe('a');
    });

    it('should name the node with misordered keys', () => {
        const text = canonical.replace('"id": "b",\n        "type": "debug"', '"type": "debug",\n        "id": "b"');
        const difference = findCanonicalDifference(text, parseFlowText(text, 'f.json'));
        expect(difference?.reason).toBe('key order');
        expect(difference?.node?.id).toBe('b');
    });

    it('should give the line of a layout difference', () => {
        const text = canonical.replace('"id": "b"', '"id":  "b"');
        const difference = findCanonicalDifference(text, parseFlowText(text, 'f.json'));
        expect(difference?.reason).toBe('layout');
        expect(difference?.reason === 'layout' && difference.line).toBe(text.split('\n').findIndex((line) => line.includes('"id":  "b"')) + 1);
        expect(difference?.node?.id).toBe('b');
    });

    it('should report a missing final newline as layout', () => {
        const difference = findCanonicalDifference(canonical.trimEnd(), parseFlowText(canonical, 'f.json'));
        expect(difference?.reason).toBe('layout');
    });
});

describe('parseFlowText', () => {
    it('should reject text that is not JSON', () => {
        expect(() => parseFlowText('[{', 'bad.json')).toThrow(FlowFileError);
        expect(() => parseFlowText('[{', 'bad.json')).toThrow(/bad\.json: invalid JSON/);
        expect(() => parseFlowText('[\n  {"id": "a",\n   "type" "inject"}\n]', 'bad.json')).toThrow(/invalid JSON \(at line 3, column 11: /);
    });

    it('should reject an object at the top', () => {
        expect(() => parseFlowText('{"flows": []}', 'obj.json')).toThrow(/obj\.json: expected a JSON array of flow nodes, found an object/);
    });

    it('should reject an entry without id', () => {
        expect(() => parseFlowText('[{"type":"tab"}]', 'f.json')).toThrow(/entry 0 has no string "id" and "type"/);
    });
});
