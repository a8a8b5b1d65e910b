// Stores rejected input (Rejection objects from the "rejected" output of other nodes) in the
// quarantine table, where the API lists it with its reason.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';

import { incrementCounter } from '../../lib/observability/counters';
import { registerPending } from '../../lib/drain';
import { ValidationError, toError } from '../../lib/errors';
import { withRetry } from '../../lib/store/retry';
import type { Rejection } from '../../lib/types';
import type { StoreConfigNode } from '../store/store';
import { setStatus, throttledStatus } from '../shared/status';

interface QuarantineConfig extends NodeDef {
    store: string;
}

/** Write attempts for a retriable database error before the message fails. */
const WRITE_ATTEMPTS = 5;

/** Returns the rejections of a payload, or throws naming the first item that is not one. */
function toRejections(payload: unknown): Rejection[] {
    const items: unknown[] = Array.isArray(payload) ? payload : [payload];
    const now = new Date().toISOString();
    return items.map((item, index) => {
        const candidate = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
        for (const field of ['source', 'code', 'reason'] as const) {
            if (typeof candidate[field] !== 'string' || candidate[field] === '') {
                throw new ValidationError('invalid_rejection', `Item ${index} of msg.payload has no ${field} string, so it is not `
                    + 'a rejection; wire this node to the "rejected" output of another node.', { field, value: candidate[field] });
            }
        }
        return typeof candidate.received_at === 'string' ? (candidate as unknown as Rejection) : { ...(candidate as unknown as Rejection), received_at: now };
    });
}

export default function register(RED: NodeAPI): void {
    function QuarantineNode(this: Node, config: QuarantineConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const storeNode = RED.nodes.getNode(config.store) as StoreConfigNode | null;

        if (!storeNode) {
            node.error(RED._('ul-quarantine.errors.missing-store'));
            setStatus(node, 'failed', RED._('ul-quarantine.status.not-configured'));
            return;
        }
        storeNode.register(node);
        storeNode.getStore().catch(() => undefined);

        const status = throttledStatus(node);
        let count = 0;
        let pending = 0;
        let drained: (() => void) | undefined;
        const unregisterPending = registerPending(() => pending);

        node.on('input', (msg: NodeMessageInFlow, _send, done) => {
            let rejections: Rejection[];
            try {
                rejections = toRejections(msg.payload);
            } catch (error) {
                status('failed', RED._('ul-quarantine.status.invalid-input'));
                done(toError(error));
                return;
            }

            pending += 1;
            withRetry(async () => (await storeNode.getStore()).writeQuarantine(rejections), WRITE_ATTEMPTS)
                .then(
                    (stored) => {
                        count += stored;
                        incrementCounter('ul_quarantined_total', 'Rejected readings, envelopes and report rows stored in the quarantine.', {}, stored);
                        status('ok', () => RED._('ul-quarantine.status.count', { count }));
                        done();
                    },
                    (error: unknown) => {
                        status('failed', RED._('ul-quarantine.status.write-failed'));
                        done(toError(error));
                    },
                )
                .finally(() => {
                    pending -= 1;
                    if (pending === 0) drained?.();
                });
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            unregisterPending();
            // Writes in progress finish before the store may close.
            const idle = pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => {
                drained = resolve;
            });
            void idle.then(() => {
                storeNode.deregister(node);
                done();
            });
        });
    }

    RED.nodes.registerType('ul-quarantine', QuarantineNode);
}
