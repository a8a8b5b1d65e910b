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

/** Picks the partition key: msg.key, else the asset of the first reading, else msg.topic. */
function partitionKey(msg: Record<string, unknown>): string {
    if (typeof msg.key === 'string') return msg.key;
    const payload = msg.payload as { asset_id?: unknown } | { asset_id?: unknown }[] | undefined;
    const first = Array.isArray(payload) ? payload[0] : payload;
    if (first && typeof first.asset_id === 'string') return first.asset_id;
    return typeof msg.topic === 'string' ? msg.topic : '';
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
            bus.transport.publish(topic, partitionKey(msg as Record<string, unknown>), msg.payload).then(
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
