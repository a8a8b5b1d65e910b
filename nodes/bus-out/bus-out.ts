// Publishes msg.payload to a bus topic, keyed by asset so that one asset's messages stay in order.
// done() is called once the transport reports the message durable, so a message that came from a
// bus-in node settles only after its results are on the bus.
import type { Node, NodeAPI, NodeDef } from 'node-red';

import { toError } from '../../lib/errors';
import type { BusNode } from '../bus/bus';
import { setStatus } from '../shared/status';

interface BusOutConfig extends NodeDef {
    bus: string;
    topic: string;
}

/**
 * Splits a message into keyed parts. msg.key, when set, keys the whole payload. An array of
 * readings of several assets becomes one part per asset, in the order of each asset's first
 * reading. Any other payload is keyed by its asset (or its first item's), else by msg.topic.
 */
export function keyedParts(msg: Record<string, unknown>): { key: string; value: unknown }[] {
    const { payload } = msg;
    if (typeof msg.key === 'string') return [{ key: msg.key, value: payload }];
    if (Array.isArray(payload)) {
        const first = (payload[0] as { asset_id?: unknown } | undefined)?.asset_id;
        if (typeof first !== 'string') return [{ key: typeof msg.topic === 'string' ? msg.topic : '', value: payload }];
        let parts: Map<string, unknown[]> | undefined;
        let previous = first;
        for (let index = 1; index < payload.length; index++) {
            const assetId = (payload[index] as { asset_id?: unknown } | undefined)?.asset_id;
            // An item without an asset stays with the asset before it.
            const key = typeof assetId === 'string' ? assetId : previous;
            previous = key;
            if (key === first && parts === undefined) continue;
            if (parts === undefined) parts = new Map([[first, payload.slice(0, index)]]);
            const list = parts.get(key);
            if (list) list.push(payload[index]);
            else parts.set(key, [payload[index]]);
        }
        if (parts === undefined) return [{ key: first, value: payload }];
        return [...parts].map(([key, value]) => ({ key, value }));
    }
    const single = (payload as { asset_id?: unknown } | undefined)?.asset_id;
    if (typeof single === 'string') return [{ key: single, value: payload }];
    return [{ key: typeof msg.topic === 'string' ? msg.topic : '', value: payload }];
}

export default function register(RED: NodeAPI): void {
    function BusOutNode(this: Node, config: BusOutConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const bus = RED.nodes.getNode(config.bus) as BusNode | null;
        const topic = (config.topic || '').trim();

        if (!bus || !topic) {
            node.error(RED._(bus ? 'ul-bus-out.errors.missing-topic' : 'ul-bus-out.errors.missing-bus'));
            setStatus(node, 'failed', RED._('ul-bus-out.status.not-configured'));
            return;
        }

        let failing = false;
        node.on('input', (msg, _send, done) => {
            const parts = keyedParts(msg as Record<string, unknown>);
            const published: Promise<unknown> = Promise.all(parts.map((part) => bus.transport.publish(topic, part.key, part.value)));
            published.then(
                () => {
                    if (failing) {
                        failing = false;
                        setStatus(node, 'clear');
                    }
                    done();
                },
                (err: unknown) => {
                    failing = true;
                    setStatus(node, 'failed', RED._('ul-bus-out.status.publish-failed'));
                    done(toError(err));
                },
            );
        });
    }

    RED.nodes.registerType('ul-bus-out', BusOutNode);
}
