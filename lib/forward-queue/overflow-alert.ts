// Alert events of a forward queue whose disk budget is full: an opening when the queue first
// drops (drop-oldest) or refuses (block) records, and a resolution once it has drained. The
// alert is raised on the asset of the latest record the queue took, so that it belongs to a
// registered site, with the metric `forward_queue`.
import { alertEventId } from '../alerts/event-id';
import type { AlertEvent } from '../types';
import type { OverflowSummary } from './overflow-report';

export const OVERFLOW_RULE_ID = 'edge-forward-queue-full';

/** Returns the asset id of an MQTT topic of the form ops/<operator>/<asset>/<kind>, or undefined. */
export function assetOfTopic(topic: unknown): string | undefined {
    if (typeof topic !== 'string') return undefined;
    const parts = topic.split('/');
    return parts.length >= 4 && parts[0] === 'ops' && parts[2] !== '' ? parts[2] : undefined;
}

export class OverflowAlert {
    private open: AlertEvent | undefined;

    /**
     * @param queueName name of the queue in messages, such as its node name or client id
     * @param now clock in epoch milliseconds
     */
    constructor(
        private readonly queueName: string,
        private readonly now: () => number = Date.now,
    ) {}

    /** Returns the opening event for an overflow report, or undefined while one is open. */
    overflowed(summary: OverflowSummary, assetId: string, folder: string): AlertEvent | undefined {
        if (this.open || (summary.newlyDropped === 0 && summary.newlyBlocked === 0)) return undefined;
        const at = new Date(this.now()).toISOString();
        const dropping = summary.newlyDropped > 0;
        this.open = {
            event_id: alertEventId(OVERFLOW_RULE_ID, assetId, 'forward_queue', at),
            rule_id: OVERFLOW_RULE_ID,
            asset_id: assetId,
            metric: 'forward_queue',
            // Dropped records are readings lost at the site; refused ones still wait at the source.
            severity: dropping ? 'P1' : 'P2',
            state: 'open',
            message: dropping
                ? `${assetId}: the forward queue ${this.queueName} is full and dropped ${summary.newlyDropped} unsent records; raise its disk budget or restore the link.`
                : `${assetId}: the forward queue ${this.queueName} is full and refused ${summary.newlyBlocked} records; raise its disk budget or restore the link.`,
            runbook: 'docs/runbooks/edge-forward-queue-full.md',
            opened_at: at,
            acknowledged_at: null,
            acknowledged_by: null,
            resolved_at: null,
            resolved_by: null,
            evidence: { dropped: summary.dropped, blocked: summary.blocked, newly_dropped: summary.newlyDropped, newly_blocked: summary.newlyBlocked, folder },
        };
        return this.open;
    }

    /** Returns the resolution of the open alert once the queue is empty again, or undefined. */
    drained(depth: number): AlertEvent | undefined {
        if (!this.open || depth > 0) return undefined;
        const at = new Date(this.now()).toISOString();
        const resolved: AlertEvent = { ...this.open, state: 'resolved', resolved_at: at, resolved_by: 'rule', evidence: { ...this.open.evidence, resolved: { reason: 'queue_drained' } } };
        this.open = undefined;
        return resolved;
    }
}
