// Line-oriented text of a flow file for `git diff` (a textconv filter): one block per node, one
// property per line, multi-line text such as function code spread over lines, and wires by node
// name. A change to one property then shows as a change to one line.
//
// Blocks follow the canonical order except that the nodes of a tab sort by id, not position, so
// that moving a node in the editor changes nothing here.
import { canonicalNodes, compareText } from './canonical';
import { POSITION_KEYS, describeNode, displayName, indexById, isConfigNode, isSubflow, isTab, outputCount, wiresOf, type FlowNode } from './model';

export interface ShowOptions {
    /** Include x, y, w and h; left out by default so that moving a node changes nothing. */
    positions?: boolean;
}

const INDENT = '    ';

function kindOf(node: FlowNode): string {
    if (isTab(node)) return 'tab';
    if (isSubflow(node)) return 'subflow';
    if (isConfigNode(node)) return 'config';
    return 'node';
}

function valueLines(key: string, value: unknown): string[] {
    if (typeof value === 'string' && value.includes('\n')) {
        return [`${INDENT}${key}: |`, ...value.split('\n').map((line) => `${INDENT}${INDENT}${line}`.trimEnd())];
    }
    const compact = JSON.stringify(value);
    if (typeof value === 'object' && value !== null && compact.length > 80) {
        const pretty = JSON.stringify(value, null, 4).split('\n');
        return [`${INDENT}${key}: ${pretty[0]}`, ...pretty.slice(1).map((line) => `${INDENT}${line}`)];
    }
    return [`${INDENT}${key}: ${compact}`];
}

/** Sorts each run of nodes that share a tab or subflow by id; the runs keep their canonical order. */
function orderForShow(ordered: FlowNode[]): FlowNode[] {
    const result: FlowNode[] = [];
    let run: FlowNode[] = [];
    const flush = () => {
        result.push(...run.sort((a, b) => compareText(a.id, b.id)));
        run = [];
    };
    for (const node of ordered) {
        if (node.z === undefined || (run.length > 0 && run[0].z !== node.z)) flush();
        if (node.z === undefined) result.push(node);
        else run.push(node);
    }
    flush();
    return result;
}

/** Renders the nodes as review text; see the file header for the layout. */
export function renderFlows(nodes: FlowNode[], options: ShowOptions = {}): string {
    const ordered = orderForShow(canonicalNodes(nodes));
    const byId = indexById(ordered);
    const count = (test: (node: FlowNode) => boolean) => ordered.filter(test).length;
    const lines = [
        `# ${count(isTab)} tab(s), ${count(isSubflow)} subflow(s), ${count(isConfigNode)} config node(s), ${count((node) => node.z !== undefined)} flow node(s)`,
    ];
    // The header line names the id, type, name (or label) and tab; wires follow the properties.
    const skipped = new Set<string>(['id', 'type', 'wires', 'z']);
    for (const node of ordered) {
        const owner = typeof node.z === 'string' ? byId.get(node.z) : undefined;
        const placement = node.z === undefined ? '' : ` on ${owner ? displayName(owner) || owner.id : `missing tab ${node.z}`}`;
        lines.push('', `${kindOf(node)} ${describeNode(node)}${placement}`);
        const labelKey = isTab(node) || isSubflow(node) ? 'label' : 'name';
        for (const key of Object.keys(node)) {
            if (skipped.has(key) || key === labelKey) continue;
            if ((POSITION_KEYS as readonly string[]).includes(key) && !options.positions) continue;
            lines.push(...valueLines(key, node[key]));
        }
        const outputs = outputCount(node);
        for (const wire of wiresOf(node)) {
            const target = byId.get(wire.target);
            const output = outputs > 1 ? `output ${wire.port + 1} ` : '';
            lines.push(`${INDENT}${output}→ ${target ? describeNode(target) : `${wire.target} (missing)`}`);
        }
    }
    return lines.join('\n') + '\n';
}
