// The shape of a Node-RED flow file as stored on disk: a JSON array of node objects. Tabs,
// subflows and config nodes sit in the same array as the flow nodes. `z` names the tab or
// subflow a node belongs to, and config nodes have no `z`.
import { ConfigError } from '../errors';
import { findJsonSyntaxError } from '../json-syntax';

/** One entry of a flow file. Every entry has a string `id` and `type`; the rest depends on the type. */
export interface FlowNode {
    id: string;
    type: string;
    z?: string;
    name?: string;
    wires?: unknown;
    [property: string]: unknown;
}

/** Properties that only place a node in the editor; they never change what a flow does. */
export const POSITION_KEYS = ['x', 'y', 'w', 'h'] as const;

/** A file that is not a flow file; `problem` and `fix` are the two halves of the message. */
export class FlowFileError extends ConfigError {
    readonly problem: string;
    readonly fix: string;

    constructor(file: string, problem: string, fix: string, options: { cause?: unknown; index?: number } = {}) {
        super(`${file}: ${problem}; ${fix}.`, { cause: options.cause, context: { file, index: options.index } });
        this.problem = problem;
        this.fix = fix;
    }
}

/**
 * Parses the text of a flow file. Throws FlowFileError naming the file and the entry when the
 * text is not JSON, not an array, or contains an entry without a string `id` and `type`.
 */
export function parseFlowText(text: string, file: string): FlowNode[] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        const problem = findJsonSyntaxError(text);
        const where = problem ? `at line ${problem.line}, column ${problem.column}: ${problem.reason}` : (err as Error).message;
        throw new FlowFileError(file, `invalid JSON (${where})`, 'fix the syntax or restore the file from git', { cause: err });
    }
    if (!Array.isArray(parsed)) {
        throw new FlowFileError(file, `expected a JSON array of flow nodes, found ${describeJsonType(parsed)}`, 'export the flows from the editor as an array');
    }
    parsed.forEach((entry: unknown, index: number) => {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
            throw new FlowFileError(file, `entry ${index} is ${describeJsonType(entry)}, not a node object`, 'remove it', { index });
        }
        const record = entry as Record<string, unknown>;
        if (typeof record.id !== 'string' || record.id === '' || typeof record.type !== 'string' || record.type === '') {
            throw new FlowFileError(file, `entry ${index} has no string "id" and "type"`, 'give it both or remove it', { index });
        }
    });
    return parsed as FlowNode[];
}

function describeJsonType(value: unknown): string {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'object') return 'an object';
    return `a ${typeof value}`;
}

export function isTab(node: FlowNode): boolean {
    return node.type === 'tab';
}

export function isSubflow(node: FlowNode): boolean {
    return node.type === 'subflow';
}

/** Config nodes are the entries without `z` other than tabs and subflows (mqtt-broker, ul-store, ...). */
export function isConfigNode(node: FlowNode): boolean {
    return node.z === undefined && !isTab(node) && !isSubflow(node);
}

/** Returns a node's display name: `name`, else `label` (tabs and subflows), else the empty string. */
export function displayName(node: FlowNode): string {
    if (typeof node.name === 'string' && node.name !== '') return node.name;
    if (typeof node.label === 'string' && node.label !== '') return node.label;
    return '';
}

/** Describes a node as `name (type, id)` for messages and diffs; `<unnamed> (type, id)` without a name. */
export function describeNode(node: Pick<FlowNode, 'id' | 'type'> & { name?: unknown; label?: unknown }): string {
    const name = displayName(node as FlowNode);
    return `${name === '' ? '<unnamed>' : name} (${node.type}, ${node.id})`;
}

/** One connection from output `port` (0-based) of `source` to the node with id `target`. */
export interface Wire {
    source: string;
    port: number;
    target: string;
}

/** Lists a node's wires in port order; ignores entries of `wires` that are not strings. */
export function wiresOf(node: FlowNode): Wire[] {
    const wires: Wire[] = [];
    if (!Array.isArray(node.wires)) return wires;
    node.wires.forEach((targets: unknown, port: number) => {
        if (!Array.isArray(targets)) return;
        for (const target of targets) {
            if (typeof target === 'string') wires.push({ source: node.id, port, target });
        }
    });
    return wires;
}

/** Number of outputs a node has according to its `wires` array. */
export function outputCount(node: FlowNode): number {
    return Array.isArray(node.wires) ? node.wires.length : 0;
}

// Node-RED 4.1 replaces a string property by an environment variable only when the whole value
// is `${NAME}` or the older `$(NAME)` (mapEnvVarProperties in @node-red/runtime/lib/flows/util.js).
// Text that merely contains `${...}`, such as a template literal in function code, stays as is.
const ENV_REFERENCE = /^\$\{(\S+)\}$/;
const ENV_REFERENCE_OLD = /^\$\((\S+)\)$/;

/** Returns the variable name when the value is a whole-value environment reference, else undefined. */
export function envReferenceName(value: unknown): string | undefined {
    if (typeof value !== 'string') return undefined;
    const match = ENV_REFERENCE.exec(value) ?? ENV_REFERENCE_OLD.exec(value);
    return match ? match[1] : undefined;
}

/** Indexes nodes by id; on duplicate ids the first entry wins. */
export function indexById(nodes: FlowNode[]): Map<string, FlowNode> {
    const byId = new Map<string, FlowNode>();
    for (const node of nodes) {
        if (!byId.has(node.id)) byId.set(node.id, node);
    }
    return byId;
}
