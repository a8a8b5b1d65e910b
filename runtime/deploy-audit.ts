// Records every deploy from the flow editor: who deployed, when, the deployment type and a
// semantic summary of what changed (nodes added, removed, changed, rewired).
import { diffFlows } from '../lib/flows/diff';
import type { FlowNode } from '../lib/flows/model';
import type { Logger } from './logging';

export interface DeployRecord {
    actor: string;
    role: string;
    type: string;
    at: string;
    /** Counts of the semantic diff against the flows that ran before. */
    summary: { added: number; removed: number; changed: number; renamed: number; wires_added: number; wires_removed: number; moved: number };
    /** Node labels per change kind, for reviewers. */
    nodes: { added: string[]; removed: string[]; changed: string[] };
}

export interface DeployAuditorOptions {
    role: string;
    logger: Logger;
    /** Stores the record; the cloud appends it to the audit log. */
    record?: (record: DeployRecord) => Promise<void>;
}

const label = (node: { name?: string; type: string; id: string }) => `${node.name || node.type} (${node.type}, ${node.id})`;

/**
 * Pairs Node-RED's `flows.set` audit event, which names the user, with the `flows:started` event
 * that follows it and carries the new flows. The first `flows:started` is the runtime start and
 * only sets the baseline.
 */
export class DeployAuditor {
    private current?: FlowNode[];
    private pendingUser?: { username: string; type: string };

    constructor(private readonly options: DeployAuditorOptions) {}

    /** Takes a Node-RED audit log entry; only `flows.set` matters here. */
    noteAudit(entry: { event?: string; type?: string; user?: { username?: string } }): void {
        if (entry.event !== 'flows.set') return;
        this.pendingUser = { username: entry.user?.username ?? 'anonymous', type: entry.type ?? 'full' };
    }

    /** Takes the runtime's `flows:started` event. */
    async flowsStarted(event: { config?: { flows?: FlowNode[] }; type?: string }): Promise<DeployRecord | undefined> {
        const flows = event.config?.flows ?? [];
        const before = this.current;
        this.current = flows;
        const request = this.pendingUser;
        this.pendingUser = undefined;
        if (!before || !request) return undefined;

        const diff = diffFlows(before, flows);
        const nodes = diff.nodes;
        const record: DeployRecord = {
            actor: request.username,
            role: this.options.role,
            type: request.type,
            at: new Date().toISOString(),
            summary: {
                added: nodes.added.length + diff.tabs.added.length,
                removed: nodes.removed.length + diff.tabs.removed.length,
                changed: nodes.changed.length + diff.tabs.changed.length,
                renamed: nodes.renamed.length + diff.tabs.renamed.length,
                wires_added: diff.wires.added.length,
                wires_removed: diff.wires.removed.length,
                moved: diff.moved.length,
            },
            nodes: {
                added: nodes.added.map(label),
                removed: nodes.removed.map(label),
                changed: nodes.changed.map((change) => label(change.node)),
            },
        };
        this.options.logger.info('flows deployed', { actor: record.actor, deployment: record.type, ...record.summary });
        try {
            await this.options.record?.(record);
        } catch (err) {
            this.options.logger.error('recording the deploy in the audit log failed', { actor: record.actor, error: err });
        }
        return record;
    }
}
