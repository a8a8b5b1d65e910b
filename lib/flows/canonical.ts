// Canonical form of a flow file, so that saving the same flows twice gives the same bytes and a
// change to one node shows up as a change to one block in `git diff`.
//
// Entry order: tabs in file order, subflows in file order, and config nodes sorted by type then
// id. Then come the nodes of each tab in tab order, the nodes of each subflow in subflow order,
// and last the nodes whose `z` names neither, sorted by `z`. Within a tab or subflow, nodes sort
// by y, then x, then id. Nodes without a position (tab-scoped config nodes) come first there.
// Positions are kept.
//
// Key order in each entry: id, type, z, name, the other keys sorted, then x, y, w, h, wires.
// Text: JSON with 4-space indentation, which is what Node-RED 4.1 writes with `flowFilePretty`
// (@node-red/runtime/lib/storage/localfilesystem/projects/index.js), plus a final newline.
// Values nested inside a property keep their order.
import { POSITION_KEYS, isConfigNode, isSubflow, isTab, parseFlowText, type FlowNode } from './model';

const LEADING_KEYS = ['id', 'type', 'z', 'name'];
const TRAILING_KEYS = [...POSITION_KEYS, 'wires'];

/** Compares strings by UTF-16 code units, the same order on every machine and locale. */
export function compareText(a: string, b: string): number {
    if (a < b) return -1;
    if (a > b) return 1;
    return 0;
}

function position(value: unknown): number | undefined {
    let number = NaN;
    if (typeof value === 'number') number = value;
    else if (typeof value === 'string' && value !== '') number = Number(value);
    return Number.isFinite(number) ? number : undefined;
}

function comparePosition(a: number | undefined, b: number | undefined): number {
    if (a === undefined && b === undefined) return 0;
    if (a === undefined) return -1;
    if (b === undefined) return 1;
    return a - b;
}

function compareByPosition(a: FlowNode, b: FlowNode): number {
    return comparePosition(position(a.y), position(b.y)) || comparePosition(position(a.x), position(b.x)) || compareText(a.id, b.id);
}

/** Returns the keys of a node in canonical order. */
export function canonicalKeyOrder(node: FlowNode): string[] {
    const keys = Object.keys(node);
    const leading = LEADING_KEYS.filter((key) => keys.includes(key));
    const trailing = TRAILING_KEYS.filter((key) => keys.includes(key));
    const middle = keys.filter((key) => !LEADING_KEYS.includes(key) && !TRAILING_KEYS.includes(key)).sort(compareText);
    return [...leading, ...middle, ...trailing];
}

/**
 * Returns a copy of the node with its keys in canonical order.
 * NOTE: JavaScript lists integer-like keys ("0", "12") before all others, so a node with such a
 * property keeps it first. The output is still the same from one run to the next.
 */
export function canonicalNode(node: FlowNode): FlowNode {
    // Object.fromEntries defines own properties, so a key such as "__proto__" stays plain data.
    return Object.fromEntries(canonicalKeyOrder(node).map((key) => [key, node[key]])) as FlowNode;
}

/** Returns the nodes in canonical entry order, each with canonical key order. The input is not changed. */
export function canonicalNodes(nodes: FlowNode[]): FlowNode[] {
    const tabs = nodes.filter(isTab);
    const subflows = nodes.filter(isSubflow);
    const configNodes = nodes.filter(isConfigNode).sort((a, b) => compareText(a.type, b.type) || compareText(a.id, b.id));

    const owners = [...tabs, ...subflows].map((owner) => owner.id);
    const byOwner = new Map<string, FlowNode[]>(owners.map((id) => [id, []]));
    const orphans: FlowNode[] = [];
    for (const node of nodes) {
        if (node.z === undefined || isTab(node) || isSubflow(node)) continue;
        const group = byOwner.get(node.z);
        if (group) group.push(node);
        else orphans.push(node);
    }
    orphans.sort((a, b) => compareText(String(a.z), String(b.z)) || compareByPosition(a, b));

    const ordered = [...tabs, ...subflows, ...configNodes];
    for (const id of owners) ordered.push(...(byOwner.get(id) ?? []).sort(compareByPosition));
    ordered.push(...orphans);
    return ordered.map(canonicalNode);
}

/** Serializes nodes in canonical form: canonical order, 4-space JSON, final newline. */
export function formatFlows(nodes: FlowNode[]): string {
    return JSON.stringify(canonicalNodes(nodes), null, 4) + '\n';
}

/** Rewrites the text of a flow file in canonical form; throws FlowFileError when it is not a flow file. */
export function formatFlowText(text: string, file: string): string {
    return formatFlows(parseFlowText(text, file));
}

/** First departure of a flow file from its canonical form, with the reason. */
export type CanonicalDifference =
    /** Entry `index` (0-based) of the file should be `node`. */
    | { reason: 'entry order'; index: number; node: FlowNode }
    /** The keys of `node` are not in canonical order. */
    | { reason: 'key order'; index: number; node: FlowNode }
    /** Entries and keys are in order, but the text differs from line `line` (1-based) on. */
    | { reason: 'layout'; line: number; node?: FlowNode };

/**
 * Finds the first entry that is out of order or has its keys out of order, else the first line
 * whose layout differs. Returns undefined when the text is canonical. `nodes` is the parsed text.
 */
export function findCanonicalDifference(text: string, nodes: FlowNode[]): CanonicalDifference | undefined {
    const canonical = formatFlows(nodes);
    if (canonical === text) return undefined;

    const ordered = canonicalNodes(nodes);
    for (let index = 0; index < nodes.length; index++) {
        if (ordered[index].id !== nodes[index].id || ordered[index].type !== nodes[index].type) {
            return { reason: 'entry order', index, node: ordered[index] };
        }
        if (Object.keys(nodes[index]).join('\n') !== Object.keys(ordered[index]).join('\n')) {
            return { reason: 'key order', index, node: nodes[index] };
        }
    }

    const actualLines = text.split('\n');
    const canonicalLines = canonical.split('\n');
    let line = 0;
    while (line < actualLines.length && line < canonicalLines.length && actualLines[line] === canonicalLines[line]) line++;
    return { reason: 'layout', line: line + 1, node: nodeAtLine(ordered, line) };
}

/** Returns the node whose block in the canonical text contains the 0-based line. */
function nodeAtLine(ordered: FlowNode[], line: number): FlowNode | undefined {
    // The canonical text is "[" then one block per node; a block starts on the line of its "{".
    let start = 1;
    for (const node of ordered) {
        const length = JSON.stringify(node, null, 4).split('\n').length;
        if (line >= start && line < start + length) return node;
        start += length;
    }
    return undefined;
}
