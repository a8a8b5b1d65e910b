import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FLOWS_DIR } from '../paths';
import { diffFlows, formatFlowDiff, isEmptyDiff, jsonEqual, type DiffOptions } from './diff';
import { parseFlowText, type FlowNode } from './model';

const LABELS = { before: 'flows/cloud.json at HEAD', after: 'flows/cloud.json' };

function cloudNodes(): FlowNode[] {
    return parseFlowText(readFileSync(join(FLOWS_DIR, 'cloud.json'), 'utf8'), 'flows/cloud.json');
}

function node(nodes: FlowNode[], id: string): FlowNode {
    const found = nodes.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`test setup: node ${id} not in flows/cloud.json`);
    return found;
}

const FUNCTION_CODE = [
    'const limit = 100;',
    'if (msg.payload.value > limit) {',
    '    msg.alarm = true;',
    '}',
    'return msg;',
].join('\n');

/** cloud.json with a function node between the alert bus input and the rules, as a base for code edits. */
function withFunctionNode(): FlowNode[] {
    const nodes = cloudNodes();
    nodes.push({ id: 'alerts-flag', type: 'function', z: 'cloud-alerts', name: 'flag high values', func: FUNCTION_CODE, outputs: 1, x: 260, y: 160, wires: [['alerts-rules']] });
    return nodes;
}

interface EditCase {
    name: string;
    base?: () => FlowNode[];
    edit: (nodes: FlowNode[]) => void;
    options?: DiffOptions;
    /** Lines the text output must contain, in this order. */
    expected: string[];
    /** Text the output must not contain. */
    absent?: string[];
}

const CASES: EditCase[] = [
    {
        name: 'moved node',
        edit: (nodes) => {
            node(nodes, 'ingest-verify').x = 380;
            node(nodes, 'ingest-verify').y = 140;
        },
        expected: ['No changes.', 'Position changes of 1 node(s) not shown; add --positions to list them.'],
        absent: ['ingest-verify'],
    },
    {
        name: 'moved node with --positions',
        edit: (nodes) => {
            node(nodes, 'ingest-verify').x = 380;
        },
        options: { positions: true },
        expected: ['Nodes', '  changed  verify signature (ul-verify, ingest-verify) on Ingest and store', '      x: 560 → 380'],
    },
    {
        name: 'changed threshold',
        edit: (nodes) => {
            node(nodes, 'ingest-normalize').maxFutureSeconds = 600;
            node(nodes, 'alerts-router').severities = 'P1';
        },
        expected: [
            'Nodes',
            '  changed  normalize (ul-normalize, ingest-normalize) on Ingest and store',
            '      maxFutureSeconds: 300 → 600',
            '  changed  alert router (ul-alert-router, alerts-router) on Rules and alerts',
            '      severities: "P1,P2" → "P1"',
        ],
    },
    {
        name: 'rewired node',
        edit: (nodes) => {
            node(nodes, 'reports-import').wires = [['reports-store-write'], ['reports-quarantine'], ['reports-summary']];
        },
        expected: [
            'Wires',
            '  removed  daily reports inbox (ul-report-import, reports-import) output 1 → normalize (ul-normalize, reports-normalize)',
            '  added    daily reports inbox (ul-report-import, reports-import) output 1 → store readings (ul-store-write, reports-store-write)',
        ],
        absent: ['Nodes', 'changed'],
    },
    {
        name: 'edited function code',
        base: withFunctionNode,
        edit: (nodes) => {
            node(nodes, 'alerts-flag').func = FUNCTION_CODE.replace('const limit = 100;', 'const limit = 120;').replace('    msg.alarm = true;', '    msg.alarm = true;\n    msg.topic = "alarm";');
        },
        expected: [
            '  changed  flag high values (function, alerts-flag) on Rules and alerts',
            '      func:',
            '          @@ -1,5 +1,6 @@',
            '          -const limit = 100;',
            '          +const limit = 120;',
            '           if (msg.payload.value > limit) {',
            '               msg.alarm = true;',
            '          +    msg.topic = "alarm";',
            '           }',
            '           return msg;',
        ],
    },
    {
        name: 'added tab',
        edit: (nodes) => {
            nodes.push({ id: 'cloud-backfill', type: 'tab', label: 'Backfill', disabled: false, info: '' });
        },
        expected: ['Tabs', '  added    Backfill (tab, cloud-backfill)'],
        absent: ['Nodes', 'Wires'],
    },
    {
        name: 'renamed node',
        edit: (nodes) => {
            node(nodes, 'alerts-router').name = 'alert e-mail router';
        },
        expected: ['Nodes', '  renamed  "alert router" → "alert e-mail router" (ul-alert-router, alerts-router)'],
        absent: ['changed', 'Wires'],
    },
    {
        name: 'renamed and edited tab',
        edit: (nodes) => {
            node(nodes, 'cloud-dashboard').label = 'Ops dashboard (live)';
            node(nodes, 'cloud-dashboard').disabled = true;
        },
        expected: ['Tabs', '  renamed  "Ops dashboard" → "Ops dashboard (live)" (tab, cloud-dashboard)', '  changed  Ops dashboard (live) (tab, cloud-dashboard)', '      disabled: false → true'],
    },
    {
        name: 'added node with wires',
        edit: (nodes) => {
            nodes.push({ id: 'ingest-debug', type: 'debug', z: 'cloud-ingest', name: 'rejections', active: true, x: 800, y: 220, wires: [] });
            node(nodes, 'ingest-verify').wires = [['ingest-normalize'], ['ingest-quarantine', 'ingest-debug']];
        },
        expected: [
            'Nodes',
            '  added    rejections (debug, ingest-debug) on Ingest and store',
            'Wires',
            '  added    verify signature (ul-verify, ingest-verify) output 2 → rejections (debug, ingest-debug)',
        ],
    },
    {
        name: 'removed node',
        edit: (nodes) => {
            nodes.splice(nodes.findIndex((entry) => entry.id === 'ui-trend'), 1);
            node(nodes, 'ui-readings-in').wires = [['ui-overview', 'ui-map']];
        },
        expected: [
            'Nodes',
            '  removed  live trend (ul-ui-trend, ui-trend) on Ops dashboard',
            'Wires',
            '  removed  telemetry.clean (ul-bus-in, ui-readings-in) → live trend (ul-ui-trend, ui-trend)',
        ],
    },
    {
        name: 'added property and reordered entries',
        edit: (nodes) => {
            nodes.sort((a, b) => (a.type === 'tab' ? 0 : 1) - (b.type === 'tab' ? 0 : 1) || (a.id < b.id ? 1 : -1));
            node(nodes, 'ui-trend').yMin = 0;
        },
        expected: ['  changed  live trend (ul-ui-trend, ui-trend) on Ops dashboard', '      yMin: (absent) → 0'],
    },
];

describe('formatFlowDiff on edits of flows/cloud.json', () => {
    for (const testCase of CASES) {
        it(`should report ${testCase.name}`, () => {
            const before = (testCase.base ?? cloudNodes)();
            const after = structuredClone(before);
            testCase.edit(after);
            const text = formatFlowDiff(diffFlows(before, after, testCase.options), LABELS, testCase.options);
            const lines = text.split('\n');
            expect(lines[0]).toBe('Flow changes from flows/cloud.json at HEAD to flows/cloud.json');
            let from = 0;
            for (const expected of testCase.expected) {
                const index = lines.indexOf(expected, from);
                expect(index, `line "${expected}" in\n${text}`).toBeGreaterThanOrEqual(from);
                from = index + 1;
            }
            for (const absent of testCase.absent ?? []) expect(text, `no "${absent}"`).not.toContain(absent);
        });
    }

    it('should report a new tab order', () => {
        const before = cloudNodes();
        const after = structuredClone(before).reverse();
        const text = formatFlowDiff(diffFlows(before, after), LABELS);
        expect(text.split('\n').slice(1, 3)).toEqual([
            'Tabs',
            '  order    Ingest and store, Rules and alerts, Daily reports, Ops dashboard → Ops dashboard, Daily reports, Rules and alerts, Ingest and store',
        ]);
        expect(text).not.toContain('No changes.');
    });

    it('should ignore a new entry order', () => {
        const before = cloudNodes();
        const tabs = before.filter((entry) => entry.type === 'tab');
        const after = [...structuredClone(before).filter((entry) => entry.type !== 'tab').reverse(), ...structuredClone(tabs)];
        const diff = diffFlows(before, after);
        expect(isEmptyDiff(diff)).toBe(true);
        expect(diff.moved).toEqual([]);
        expect(formatFlowDiff(diff, LABELS)).toBe('Flow changes from flows/cloud.json at HEAD to flows/cloud.json\nNo changes.\n');
    });
});

describe('diffFlows', () => {
    it('should give machine-readable changes', () => {
        const before = cloudNodes();
        const after = structuredClone(before);
        node(after, 'ingest-normalize').maxFutureSeconds = 600;
        node(after, 'ingest-verify').x = 370;
        node(after, 'reports-import').wires = [['reports-store-write'], ['reports-quarantine'], ['reports-summary']];
        const diff = diffFlows(before, after);

        expect(diff.nodes.changed).toEqual([
            {
                node: { id: 'ingest-normalize', type: 'ul-normalize', name: 'normalize', tab: 'Ingest and store' },
                properties: [{ property: 'maxFutureSeconds', before: 300, after: 600 }],
            },
        ]);
        expect(diff.moved).toEqual(['ingest-verify']);
        expect(diff.wires.removed.map((wire) => [wire.from.id, wire.port, wire.to.id])).toEqual([['reports-import', 1, 'reports-normalize']]);
        expect(diff.wires.added.map((wire) => [wire.from.id, wire.port, wire.to.id])).toEqual([['reports-import', 1, 'reports-store-write']]);
        expect(JSON.parse(JSON.stringify(diff))).toEqual(diff);
    });

    it('should show long objects as a line diff', () => {
        const before: FlowNode[] = [
            { id: 't', type: 'tab', label: 'tab' },
            { id: 's', type: 'switch', z: 't', name: 'route', property: 'payload', rules: [{ t: 'gt', v: '100', vt: 'num' }, { t: 'lt', v: '10', vt: 'num' }, { t: 'else' }], x: 1, y: 1, wires: [[], [], []] },
        ];
        const after = structuredClone(before);
        (after[1].rules as { v?: string }[])[0].v = '120';
        const [change] = diffFlows(before, after).nodes.changed[0].properties;
        expect(change.property).toBe('rules');
        expect(change.lines).toContain('-        "v": "100",');
        expect(change.lines).toContain('+        "v": "120",');
    });
});

describe('jsonEqual', () => {
    it('should ignore the key order of objects', () => {
        expect(jsonEqual({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 })).toBe(true);
    });

    it('should see a changed array item', () => {
        expect(jsonEqual([1, 2], [2, 1])).toBe(false);
        expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    });
});
