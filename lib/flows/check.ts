// Review checks for flow files: canonical form, no credentials, only defined environment
// variables, only known and allowed node types, and no wire or config reference to a node that
// is missing.
import { closeMatches } from '../normalize/close-matches';
import { canonicalKeyOrder, findCanonicalDifference } from './canonical';
import { CONTRIB_NODE_TYPES, CORE_NODE_TYPES, FORBIDDEN_NODE_TYPES, NODE_RED_ENV_NAMES } from './known';
import { FlowFileError, describeNode, envReferenceName, indexById, isSubflow, isTab, parseFlowText, wiresOf, type FlowNode } from './model';

export type FlowProblemCode =
    | 'invalid-file'
    | 'duplicate-id'
    | 'not-canonical'
    | 'credential'
    | 'undefined-env'
    | 'unknown-type'
    | 'forbidden-type'
    | 'dangling-wire'
    | 'missing-reference';

export interface FlowProblem {
    file: string;
    code: FlowProblemCode;
    /** The node at fault; absent when the problem concerns the whole file. */
    nodeId?: string;
    nodeType?: string;
    /** Node description as `name (type, id)`. */
    node?: string;
    /** Problem description, as a sentence without the file and node. */
    message: string;
    /** Suggested fix. */
    fix: string;
}

export interface CheckOptions {
    /** Node types besides CORE_NODE_TYPES, such as those of package.json `node-red.nodes`. */
    nodeTypes: Iterable<string>;
    /** Environment variables the runtime defines besides NODE_RED_ENV_NAMES. */
    envNames: Iterable<string>;
}

/** Property names whose literal value is a secret (compared without case). */
export const CREDENTIAL_PROPERTIES: readonly string[] = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'key'];

// Properties with a credential-like name that hold something else in a core node type.
const NOT_CREDENTIALS: Record<string, readonly string[]> = {
    // The message property to group by, such as "topic".
    join: ['key'],
    // The path of the private key file; the key text itself is the `keydata` credential.
    'tls-config': ['key'],
};

/** Properties that name a config node by id, with the config node type they expect. */
export const REFERENCE_PROPERTIES: Record<string, string> = {
    broker: 'mqtt-broker',
    bus: 'ul-bus',
    store: 'ul-store',
    page: 'ul-ui-page',
    tls: 'tls-config',
    endpoint: 'ul-opcua-endpoint',
};

// Reference-named properties that hold something other than a node id in a core node type.
const NOT_REFERENCES: Record<string, readonly string[]> = {
    // The broker's host name.
    'mqtt-broker': ['broker'],
};

/** Formats a problem as one line: file, node, what is wrong and the fix. */
export function formatProblem(problem: FlowProblem): string {
    const where = problem.node ? `${problem.file}: node ${problem.node}` : problem.file;
    return `${where}: ${problem.message}. Fix: ${problem.fix}.`;
}

/** Checks the text of one flow file and returns its problems; an empty list means the file passes. */
export function checkFlowText(text: string, file: string, options: CheckOptions): FlowProblem[] {
    let nodes: FlowNode[];
    try {
        nodes = parseFlowText(text, file);
    } catch (err) {
        if (!(err instanceof FlowFileError)) throw err;
        return [{ file, code: 'invalid-file', message: err.problem, fix: err.fix }];
    }
    return checkFlowNodes(text, nodes, file, options);
}

function problemAt(file: string, node: FlowNode, code: FlowProblemCode, message: string, fix: string): FlowProblem {
    return { file, code, nodeId: node.id, nodeType: node.type, node: describeNode(node), message, fix };
}

function checkFlowNodes(text: string, nodes: FlowNode[], file: string, options: CheckOptions): FlowProblem[] {
    const problems: FlowProblem[] = [];
    const byId = indexById(nodes);

    const seen = new Set<string>();
    for (const node of nodes) {
        if (seen.has(node.id)) {
            problems.push(problemAt(file, node, 'duplicate-id', `id "${node.id}" is used by more than one entry`, 'give each entry its own id'));
        }
        seen.add(node.id);
    }

    const difference = findCanonicalDifference(text, nodes);
    if (difference) {
        const fix = `run \`upstream-live flows fmt ${file}\``;
        if (difference.reason === 'entry order') {
            problems.push(problemAt(file, difference.node, 'not-canonical', `entries are not in canonical order; this node belongs at entry ${difference.index + 1}`, fix));
        } else if (difference.reason === 'key order') {
            const expected = canonicalKeyOrder(difference.node).join(', ');
            problems.push(problemAt(file, difference.node, 'not-canonical', `keys are not in canonical order (expected ${expected})`, fix));
        } else if (difference.node) {
            problems.push(problemAt(file, difference.node, 'not-canonical', `indentation or line breaks differ from the canonical form at line ${difference.line}`, fix));
        } else {
            problems.push({ file, code: 'not-canonical', message: `indentation or line breaks differ from the canonical form at line ${difference.line}`, fix });
        }
    }

    const knownTypes = new Set([...CORE_NODE_TYPES, ...CONTRIB_NODE_TYPES, ...options.nodeTypes]);
    const globalEnv = new Set([...NODE_RED_ENV_NAMES, ...options.envNames, ...nodes.filter((node) => node.type === 'global-config').flatMap(envNamesOf)]);
    // Instances of a subflow may declare further names for the nodes inside it.
    const instanceEnv = new Map<string, string[]>();
    for (const node of nodes) {
        if (!node.type.startsWith('subflow:')) continue;
        const subflowId = node.type.slice('subflow:'.length);
        instanceEnv.set(subflowId, [...(instanceEnv.get(subflowId) ?? []), ...envNamesOf(node)]);
    }
    const scope: EnvScope = { byId, globalEnv, instanceEnv };
    for (const node of nodes) {
        problems.push(...checkCredentials(file, node));
        problems.push(...checkEnvReferences(file, node, scopedEnvNames(node, scope)));
        problems.push(...checkType(file, node, byId, knownTypes));
        problems.push(...checkLinks(file, node, byId));
        problems.push(...checkReferences(file, node, nodes, byId));
    }
    return problems;
}

function checkCredentials(file: string, node: FlowNode): FlowProblem[] {
    const problems: FlowProblem[] = [];
    if ('credentials' in node) {
        problems.push(
            problemAt(file, node, 'credential', 'has a "credentials" key, but credentials do not belong in a flow file', 'remove the key and enter the credentials in the editor, which stores them encrypted in the *_cred.json file beside the flow file'),
        );
    }
    const exempt = NOT_CREDENTIALS[node.type] ?? [];
    visitProperties(node, (path, key, value, depth) => {
        if (!CREDENTIAL_PROPERTIES.includes(key.toLowerCase())) return;
        if (depth === 0 && exempt.includes(key)) return;
        // The whole "credentials" key is reported above.
        if (path.startsWith('credentials.')) return;
        const literal = (typeof value === 'string' && value !== '') || typeof value === 'number';
        if (!literal || envReferenceName(value) !== undefined) return;
        problems.push(
            problemAt(file, node, 'credential', `property "${path}" contains a literal credential`, `replace the value with an environment reference such as "\${UL_${envSuggestion(node, key)}}" and define that variable in the runtime, or use the node's credential field`),
        );
    });
    return problems;
}

function envSuggestion(node: FlowNode, key: string): string {
    return `${node.type}_${key}`.replace(/^ul-/, '').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

/** Returns the names declared in a node's `env` list (tabs, subflows, groups, subflow instances, global-config). */
function envNamesOf(node: FlowNode): string[] {
    if (!Array.isArray(node.env)) return [];
    return node.env.flatMap((entry: unknown) => {
        const name = (entry as { name?: unknown } | null)?.name;
        return typeof name === 'string' && name !== '' ? [name] : [];
    });
}

interface EnvScope {
    byId: Map<string, FlowNode>;
    globalEnv: Set<string>;
    /** Names declared by the instances of each subflow, by subflow id. */
    instanceEnv: Map<string, string[]>;
}

/** Returns the environment names visible to a node: global ones, its tab's or subflow's, and its groups'. */
function scopedEnvNames(node: FlowNode, scope: EnvScope): Set<string> {
    const { byId } = scope;
    const names = new Set(scope.globalEnv);
    const add = (owner: FlowNode | undefined) => {
        if (owner) envNamesOf(owner).forEach((name) => names.add(name));
    };
    add(node);
    if (node.z !== undefined) {
        add(byId.get(node.z));
        for (const name of scope.instanceEnv.get(node.z) ?? []) names.add(name);
    }
    const visitedGroups = new Set<string>();
    let group = typeof node.g === 'string' ? byId.get(node.g) : undefined;
    while (group && !visitedGroups.has(group.id)) {
        visitedGroups.add(group.id);
        add(group);
        group = typeof group.g === 'string' ? byId.get(group.g) : undefined;
    }
    return names;
}

function checkEnvReferences(file: string, node: FlowNode, defined: Set<string>): FlowProblem[] {
    const problems: FlowProblem[] = [];
    const report = (path: string, name: string) => {
        if (defined.has(name)) return;
        const suggestions = closeMatches(name, defined);
        const hint = suggestions.length > 0 ? `use a defined variable such as ${suggestions.join(', ')}, or define ${name}` : `define ${name}`;
        problems.push(
            problemAt(file, node, 'undefined-env', `property "${path}" refers to environment variable ${name}, which the runtime does not define`, `${hint} in runtime/options.ts or the flow defaults of runtime/process.ts, or in the env list of the tab or subflow`),
        );
    };
    visitProperties(node, (path, key, value, _depth, parent) => {
        const whole = envReferenceName(value);
        if (whole !== undefined) {
            report(path, whole);
            return;
        }
        // A TypedInput of type "env" stores the bare variable name, with its type in a sibling
        // key: payload/payloadType, v/vt, to/tot, or value/type in an env list entry.
        if (typeof value !== 'string' || value === '') return;
        const typeKey = [`${key}Type`, `${key}t`, key === 'value' ? 'type' : ''].find((candidate) => candidate !== '' && parent[candidate] === 'env');
        if (typeKey !== undefined) report(path, value);
    });
    return problems;
}

function checkType(file: string, node: FlowNode, byId: Map<string, FlowNode>, knownTypes: Set<string>): FlowProblem[] {
    const forbidden = FORBIDDEN_NODE_TYPES[node.type.toLowerCase()];
    if (forbidden !== undefined) {
        return [
            problemAt(file, node, 'forbidden-type', `node type "${node.type}" is not allowed, because ${forbidden}`, 'remove the node; to simulate a device, run a modbus-server node, whose registers the flow sets with Modbus-Write nodes and no code'),
        ];
    }
    if (node.type.startsWith('subflow:')) {
        const subflowId = node.type.slice('subflow:'.length);
        const subflow = byId.get(subflowId);
        if (subflow && isSubflow(subflow)) return [];
        return [problemAt(file, node, 'unknown-type', `is an instance of subflow "${subflowId}", which is not in the file`, `add the subflow definition to the file or delete the instance`)];
    }
    if (knownTypes.has(node.type)) return [];
    const suggestions = closeMatches(node.type, knownTypes);
    const hint = suggestions.length > 0 ? `use ${suggestions.map((type) => `"${type}"`).join(' or ')}, or ` : '';
    return [
        problemAt(file, node, 'unknown-type', `node type "${node.type}" is neither a Node-RED core type nor registered in package.json "node-red.nodes"`, `${hint}register the type under "node-red.nodes" in package.json, or remove the node`),
    ];
}

function missingTargetFix(id: string, list: string, byId: Map<string, FlowNode>): string {
    const [suggestion] = closeMatches(id, byId.keys(), 1);
    const alternative = suggestion === undefined ? `restore node "${id}"` : `point it at "${suggestion}"`;
    return `remove "${id}" from ${list}, or ${alternative}`;
}

/** Wires, link-node links, the owning tab (`z`) and the group (`g`) must name nodes in the file. */
function checkLinks(file: string, node: FlowNode, byId: Map<string, FlowNode>): FlowProblem[] {
    const problems: FlowProblem[] = [];
    for (const wire of wiresOf(node)) {
        if (byId.has(wire.target)) continue;
        problems.push(problemAt(file, node, 'dangling-wire', `output ${wire.port + 1} is wired to "${wire.target}", which is not in the file`, missingTargetFix(wire.target, `the wires of output ${wire.port + 1}`, byId)));
    }
    if (Array.isArray(node.links)) {
        for (const target of node.links) {
            if (typeof target !== 'string' || byId.has(target)) continue;
            problems.push(problemAt(file, node, 'dangling-wire', `links to "${target}", which is not in the file`, missingTargetFix(target, 'the links list', byId)));
        }
    }
    if (typeof node.z === 'string') {
        const owner = byId.get(node.z);
        if (!owner || !(isTab(owner) || isSubflow(owner))) {
            problems.push(problemAt(file, node, 'missing-reference', `belongs to tab or subflow "${node.z}" ("z"), which is not in the file`, 'set "z" to the id of an existing tab, or add that tab'));
        }
    }
    if (typeof node.g === 'string') {
        const group = byId.get(node.g);
        if (!group || group.type !== 'group') {
            problems.push(problemAt(file, node, 'missing-reference', `belongs to group "${node.g}" ("g"), which is not in the file`, 'remove the "g" property or add that group'));
        }
    }
    return problems;
}

/**
 * A reference property (broker, bus, store, page, tls) must name a node in the file. Empty
 * values, environment references and URLs (text with "://") are not node ids and pass.
 */
function checkReferences(file: string, node: FlowNode, nodes: FlowNode[], byId: Map<string, FlowNode>): FlowProblem[] {
    const problems: FlowProblem[] = [];
    const exempt = NOT_REFERENCES[node.type] ?? [];
    for (const [property, configType] of Object.entries(REFERENCE_PROPERTIES)) {
        const value = node[property];
        if (typeof value !== 'string' || value === '' || exempt.includes(property)) continue;
        if (envReferenceName(value) !== undefined || value.includes('://') || byId.has(value)) continue;
        const candidates = nodes.filter((candidate) => candidate.type === configType).map((candidate) => candidate.id);
        const fix =
            candidates.length > 0
                ? `set "${property}" to an existing ${configType} node (${candidates.join(', ')}) or add config node "${value}"`
                : `add a ${configType} config node with id "${value}" or set "${property}" to the id of one`;
        problems.push(problemAt(file, node, 'missing-reference', `property "${property}" refers to config node "${value}", which is not in the file`, fix));
    }
    return problems;
}

type PropertyVisitor = (path: string, key: string, value: unknown, depth: number, parent: Record<string, unknown>) => void;

/** Calls `visit` for every property of the node and of the objects and arrays nested in it. */
function visitProperties(node: FlowNode, visit: PropertyVisitor): void {
    const walk = (value: unknown, path: string, depth: number) => {
        if (Array.isArray(value)) {
            value.forEach((item, index) => walk(item, `${path}[${index}]`, depth + 1));
            return;
        }
        if (typeof value !== 'object' || value === null) return;
        const parent = value as Record<string, unknown>;
        for (const [key, child] of Object.entries(parent)) {
            const childPath = path === '' ? key : `${path}.${key}`;
            visit(childPath, key, child, depth, parent);
            walk(child, childPath, depth + 1);
        }
    };
    walk(node, '', 0);
}
