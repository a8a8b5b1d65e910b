// Semantic diff of two versions of a flow file, for code review: which tabs, subflows and nodes
// were added, removed, renamed or changed, and which wires appeared or went away. Entry order,
// key order and (unless asked for) node positions do not count as changes.
import { canonicalKeyOrder, canonicalNodes } from './canonical';
import { unifiedDiff } from './line-diff';
import { POSITION_KEYS, describeNode, displayName, indexById, isSubflow, isTab, outputCount, wiresOf, type FlowNode } from './model';

/** A node as the diff names it. `tab` is the label of the tab or subflow it belongs to. */
export interface NodeSummary {
    id: string;
    type: string;
    name: string;
    tab?: string;
}

export interface Rename {
    node: NodeSummary;
    before: string;
    after: string;
}

/** One changed property; `before` or `after` is absent when the property was added or removed. */
export interface PropertyChange {
    property: string;
    before?: unknown;
    after?: unknown;
    /** Unified diff hunks, for multi-line text (function code) and long objects. */
    lines?: string[];
}

export interface NodeChanges {
    node: NodeSummary;
    properties: PropertyChange[];
}

export interface WireChange {
    from: NodeSummary;
    /** 1-based output number of the source node. */
    port: number;
    /** Number of outputs of the source node in the version the wire belongs to. */
    outputs: number;
    to: NodeSummary;
}

export interface SectionDiff {
    added: NodeSummary[];
    removed: NodeSummary[];
    renamed: Rename[];
    changed: NodeChanges[];
}

export interface FlowDiff {
    tabs: SectionDiff;
    subflows: SectionDiff;
    /** Flow nodes and config nodes. */
    nodes: SectionDiff;
    wires: { added: WireChange[]; removed: WireChange[] };
    /** Labels of the tabs kept in both versions, when their order (the editor's tab order) changed. */
    tabOrder?: { before: string[]; after: string[] };
    /** Ids of nodes whose position or size changed; listed as property changes only with `positions`. */
    moved: string[];
}

export interface DiffOptions {
    /** Report changes of x, y, w and h as property changes. */
    positions?: boolean;
}

// Object or array values longer than this, as compact JSON, are shown as a line diff of their
// indented JSON, because one line shows both the old and the new value.
const INLINE_JSON_LIMIT = 40;

/** Compares two JSON values; key order of objects does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
    const aRecord = a as Record<string, unknown>;
    const bRecord = b as Record<string, unknown>;
    const keys = Object.keys(aRecord);
    if (keys.length !== Object.keys(bRecord).length) return false;
    return keys.every((key) => Object.prototype.hasOwnProperty.call(bRecord, key) && jsonEqual(aRecord[key], bRecord[key]));
}

function sectionOf(node: FlowNode): keyof Pick<FlowDiff, 'tabs' | 'subflows' | 'nodes'> {
    if (isTab(node)) return 'tabs';
    if (isSubflow(node)) return 'subflows';
    return 'nodes';
}

function summarize(node: FlowNode, byId: Map<string, FlowNode>): NodeSummary {
    const summary: NodeSummary = { id: node.id, type: node.type, name: displayName(node) };
    const owner = typeof node.z === 'string' ? byId.get(node.z) : undefined;
    if (owner) summary.tab = displayName(owner) || owner.id;
    return summary;
}

/** Returns the property with the display name: `label` for tabs and subflows, `name` otherwise. */
function nameKey(node: FlowNode): 'name' | 'label' {
    return isTab(node) || isSubflow(node) ? 'label' : 'name';
}

function propertyChange(property: string, before: unknown, after: unknown): PropertyChange {
    const change: PropertyChange = { property };
    if (before !== undefined) change.before = before;
    if (after !== undefined) change.after = after;
    const multiline = (value: unknown) => typeof value === 'string' && value.includes('\n');
    const longJson = (value: unknown) => typeof value === 'object' && value !== null && JSON.stringify(value).length > INLINE_JSON_LIMIT;
    if (multiline(before) || multiline(after)) {
        change.lines = unifiedDiff(typeof before === 'string' ? before : '', typeof after === 'string' ? after : '');
    } else if (longJson(before) || longJson(after)) {
        const pretty = (value: unknown) => (value === undefined ? '' : JSON.stringify(value, null, 4));
        change.lines = unifiedDiff(pretty(before), pretty(after));
    }
    return change;
}

function compareProperties(before: FlowNode, after: FlowNode, options: DiffOptions): { properties: PropertyChange[]; moved: boolean } {
    const skipped = new Set(['id', 'wires', nameKey(after)]);
    const keys = canonicalKeyOrder(after).concat(canonicalKeyOrder(before).filter((key) => !(key in after)));
    const properties: PropertyChange[] = [];
    let moved = false;
    for (const key of keys) {
        if (skipped.has(key) || jsonEqual(before[key], after[key])) continue;
        if ((POSITION_KEYS as readonly string[]).includes(key)) {
            moved = true;
            if (!options.positions) continue;
        }
        properties.push(propertyChange(key, before[key], after[key]));
    }
    return { properties, moved };
}

function wireKey(source: string, port: number, target: string): string {
    return JSON.stringify([source, port, target]);
}

function wireChanges(from: FlowNode[], to: FlowNode[], fromIndex: Map<string, FlowNode>): WireChange[] {
    const present = new Set(to.flatMap((node) => wiresOf(node).map((wire) => wireKey(wire.source, wire.port, wire.target))));
    const changes: WireChange[] = [];
    for (const node of from) {
        for (const wire of wiresOf(node)) {
            if (present.has(wireKey(wire.source, wire.port, wire.target))) continue;
            const target = fromIndex.get(wire.target);
            changes.push({
                from: summarize(node, fromIndex),
                port: wire.port + 1,
                outputs: outputCount(node),
                to: target ? summarize(target, fromIndex) : { id: wire.target, type: 'missing', name: '' },
            });
        }
    }
    return changes;
}

function emptySection(): SectionDiff {
    return { added: [], removed: [], renamed: [], changed: [] };
}

/** Compares two versions of a flow file, node by node (matched by id). */
export function diffFlows(before: FlowNode[], after: FlowNode[], options: DiffOptions = {}): FlowDiff {
    const oldNodes = canonicalNodes(before);
    const newNodes = canonicalNodes(after);
    const oldIndex = indexById(oldNodes);
    const newIndex = indexById(newNodes);
    const diff: FlowDiff = { tabs: emptySection(), subflows: emptySection(), nodes: emptySection(), wires: { added: [], removed: [] }, moved: [] };

    for (const node of oldNodes) {
        if (!newIndex.has(node.id)) diff[sectionOf(node)].removed.push(summarize(node, oldIndex));
    }
    for (const node of newNodes) {
        const previous = oldIndex.get(node.id);
        const section = diff[sectionOf(node)];
        if (!previous) {
            section.added.push(summarize(node, newIndex));
            continue;
        }
        const key = nameKey(node);
        const oldName = typeof previous[key] === 'string' ? (previous[key] as string) : '';
        const newName = typeof node[key] === 'string' ? (node[key] as string) : '';
        if (oldName !== newName) section.renamed.push({ node: summarize(node, newIndex), before: oldName, after: newName });
        const { properties, moved } = compareProperties(previous, node, options);
        if (moved) diff.moved.push(node.id);
        if (properties.length > 0) section.changed.push({ node: summarize(node, newIndex), properties });
    }

    const keptTabs = (nodes: FlowNode[], other: Map<string, FlowNode>) => nodes.filter((node) => isTab(node) && other.has(node.id));
    const oldTabs = keptTabs(oldNodes, newIndex);
    const newTabs = keptTabs(newNodes, oldIndex);
    if (oldTabs.some((tab, index) => tab.id !== newTabs[index].id)) {
        const label = (tab: FlowNode) => displayName(tab) || tab.id;
        diff.tabOrder = { before: oldTabs.map(label), after: newTabs.map(label) };
    }

    diff.wires.removed = wireChanges(oldNodes, newNodes, oldIndex);
    diff.wires.added = wireChanges(newNodes, oldNodes, newIndex);
    return diff;
}

/** True when the diff reports nothing; position moves count only when they are listed. */
export function isEmptyDiff(diff: FlowDiff): boolean {
    const sections = [diff.tabs, diff.subflows, diff.nodes];
    const sectionsEmpty = sections.every((s) => s.added.length + s.removed.length + s.renamed.length + s.changed.length === 0);
    return sectionsEmpty && diff.tabOrder === undefined && diff.wires.added.length === 0 && diff.wires.removed.length === 0;
}

// Text form -----------------------------------------------------------------------------------

function describeSummary(node: NodeSummary): string {
    return describeNode({ id: node.id, type: node.type, name: node.name });
}

function describePlaced(node: NodeSummary): string {
    return node.tab === undefined ? describeSummary(node) : `${describeSummary(node)} on ${node.tab}`;
}

function describeWire(wire: WireChange): string {
    const output = wire.outputs > 1 ? ` output ${wire.port}` : '';
    return `${describeSummary(wire.from)}${output} → ${describeSummary(wire.to)}`;
}

function formatValue(value: unknown): string {
    return value === undefined ? '(absent)' : JSON.stringify(value);
}

function formatProperty(change: PropertyChange, indent: string): string[] {
    if (change.lines) {
        let state = '';
        if (change.before === undefined) state = ' (added)';
        else if (change.after === undefined) state = ' (removed)';
        return [`${indent}${change.property}${state}:`, ...change.lines.map((line) => `${indent}    ${line}`)];
    }
    return [`${indent}${change.property}: ${formatValue(change.before)} → ${formatValue(change.after)}`];
}

function formatSection(title: string, section: SectionDiff, tabOrder?: FlowDiff['tabOrder']): string[] {
    const lines: string[] = [];
    if (tabOrder) lines.push(`  order    ${tabOrder.before.join(', ')} → ${tabOrder.after.join(', ')}`);
    for (const node of section.added) lines.push(`  added    ${describePlaced(node)}`);
    for (const node of section.removed) lines.push(`  removed  ${describePlaced(node)}`);
    for (const rename of section.renamed) {
        lines.push(`  renamed  ${JSON.stringify(rename.before)} → ${JSON.stringify(rename.after)} (${rename.node.type}, ${rename.node.id})`);
    }
    for (const change of section.changed) {
        lines.push(`  changed  ${describePlaced(change.node)}`);
        for (const property of change.properties) lines.push(...formatProperty(property, '      '));
    }
    return lines.length > 0 ? [title, ...lines] : [];
}

/** Formats a diff for review: one section per kind of change, empty sections left out. */
export function formatFlowDiff(diff: FlowDiff, labels: { before: string; after: string }, options: DiffOptions = {}): string {
    const lines = [`Flow changes from ${labels.before} to ${labels.after}`];
    lines.push(...formatSection('Tabs', diff.tabs, diff.tabOrder));
    lines.push(...formatSection('Subflows', diff.subflows));
    lines.push(...formatSection('Nodes', diff.nodes));
    const wires = [...diff.wires.removed.map((wire) => `  removed  ${describeWire(wire)}`), ...diff.wires.added.map((wire) => `  added    ${describeWire(wire)}`)];
    if (wires.length > 0) lines.push('Wires', ...wires);
    if (isEmptyDiff(diff)) lines.push('No changes.');
    if (diff.moved.length > 0 && !options.positions) {
        lines.push(`Position changes of ${diff.moved.length} node(s) not shown; add --positions to list them.`);
    }
    return lines.join('\n') + '\n';
}
