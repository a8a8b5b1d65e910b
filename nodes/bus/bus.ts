// Config node holding the bus between cloud steps. The transport is chosen by configuration
// (an environment variable in the flow file), never by editing flows.
import type { Node, NodeAPI, NodeDef } from 'node-red';

import { sharedMemoryBus, type BusTransport } from '../../lib/bus/memory';

export interface BusConfig extends NodeDef {
    transport: string;
    busName: string;
}

export interface BusNode extends Node {
    transport: BusTransport;
}

export default function register(RED: NodeAPI): void {
    function BusConfigNode(this: BusNode, config: BusConfig): void {
        RED.nodes.createNode(this, config);

        const transport = (config.transport || 'memory').trim();
        if (transport !== 'memory') {
            // NOTE: only the in-process transport exists so far; Kafka is the next transport.
            this.error(RED._('ul-bus.errors.unknown-transport', { transport }));
        }
        this.transport = sharedMemoryBus(config.busName || 'default');
    }

    RED.nodes.registerType('ul-bus', BusConfigNode);
}
