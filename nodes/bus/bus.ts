// Config node holding the bus between cloud steps. The transport is chosen by configuration
// (an environment variable in the flow file), never by editing flows.
import type { Node, NodeAPI, NodeDef } from 'node-red';

import { createBusTransport, failedBus, type BusLogger } from '../../lib/bus';
import { DEFAULT_SETTLE_TIMEOUT_MS } from '../../lib/bus/delivery';
import { parseBusSettings, type RawBusConfig } from '../../lib/bus/settings';
import type { BusTransport } from '../../lib/bus/transport';
import { ConfigError, toError } from '../../lib/errors';

export interface BusConfig extends NodeDef, RawBusConfig {}

export interface BusNode extends Node {
    transport: BusTransport;
    /** Time after which a bus-in node reports a delivery that has not settled, in milliseconds. */
    settleTimeoutMs: number;
}

export default function register(RED: NodeAPI): void {
    function BusConfigNode(this: BusNode, config: BusConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const logger: BusLogger = {
            info: (message) => node.log(message),
            warn: (message) => node.warn(message),
            error: (message) => node.error(message),
            debug: (message) => node.debug(message),
        };

        let closeTransport = false;
        node.settleTimeoutMs = DEFAULT_SETTLE_TIMEOUT_MS;
        try {
            const settings = parseBusSettings(config);
            node.settleTimeoutMs = settings.settleTimeoutMs;
            node.transport = createBusTransport(settings, logger);
            if (settings.transport === 'kafka') {
                closeTransport = true;
                node.log(RED._('ul-bus.log.kafka', { brokers: settings.kafka.brokers.join(', '), group: settings.kafka.groupId }));
            }
        } catch (err) {
            const problem = err instanceof ConfigError ? err : new ConfigError(toError(err).message, { cause: err });
            node.error(problem.message);
            node.transport = failedBus(problem);
        }

        // The memory bus is shared by the whole process and outlives a redeploy; a Kafka bus
        // belongs to this node and closes with it.
        node.on('close', (_removed: boolean, done: () => void) => {
            if (!closeTransport) {
                done();
                return;
            }
            node.transport.close().then(
                () => done(),
                (err: unknown) => {
                    node.warn(toError(err).message);
                    done();
                },
            );
        });
    }

    RED.nodes.registerType('ul-bus', BusConfigNode);
}
