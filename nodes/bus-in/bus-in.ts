// Emits every message published to a bus topic, with msg.topic set to the bus topic and
// msg.key to the partition key.
import type { Node, NodeAPI, NodeDef } from 'node-red';

import type { BusNode } from '../bus/bus';
import { setStatus } from '../shared/status';

interface BusInConfig extends NodeDef {
    bus: string;
    topic: string;
}

export default function register(RED: NodeAPI): void {
    function BusInNode(this: Node, config: BusInConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const bus = RED.nodes.getNode(config.bus) as BusNode | null;
        const topic = (config.topic || '').trim();

        if (!bus || !topic) {
            node.error(RED._(bus ? 'ul-bus-in.errors.missing-topic' : 'ul-bus-in.errors.missing-bus'));
            setStatus(node, 'failed', RED._('ul-bus-in.status.not-configured'));
            return;
        }

        const unsubscribe = bus.transport.subscribe(topic, (message) => {
            node.send({ topic: message.topic, key: message.key, payload: message.value });
        });
        setStatus(node, 'connected', topic);

        node.on('close', (_removed: boolean, done: () => void) => {
            unsubscribe();
            done();
        });
    }

    RED.nodes.registerType('ul-bus-in', BusInNode);
}
