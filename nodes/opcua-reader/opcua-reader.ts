// Reads values from an OPC UA server through a subscription and sends one point per data change,
// shaped for the tag map: msg.payload = { tag, value, ts, quality }, msg.topic = tag.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import { parseOpcUaReaderConfig, type RawOpcUaReaderConfig } from '../../lib/opcua/config';
import { OpcUaReader, type ReaderState } from '../../lib/opcua/reader';
import { runtimeContext } from '../../lib/runtime-context';
import { setStatus, type StatusState } from '../shared/status';

type OpcUaReaderConfig = NodeDef & RawOpcUaReaderConfig;

const BADGES: Record<ReaderState, StatusState> = {
    disconnected: 'disconnected',
    connecting: 'connecting',
    connected: 'connecting',
    subscribed: 'connected',
    reconnecting: 'disconnected',
};

export default function register(RED: NodeAPI): void {
    function OpcUaReaderNode(this: Node, config: OpcUaReaderConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let reader: OpcUaReader;
        try {
            const dataDir = runtimeContext(RED.settings).dataDir ?? process.cwd();
            const settings = parseOpcUaReaderConfig(config, dataDir);
            reader = new OpcUaReader(settings, {
                onPoint: (point) => node.send({ topic: point.tag, payload: point } as NodeMessage),
                onState: (state, reason) => {
                    setStatus(node, BADGES[state], RED._(`ul-opcua-reader.status.${state}`, { count: settings.items.length }));
                    if (state === 'subscribed') node.log(RED._('ul-opcua-reader.log.subscribed', { endpoint: settings.endpoint, count: settings.items.length }));
                    if (state === 'reconnecting') node.log(RED._('ul-opcua-reader.log.reconnecting', { endpoint: settings.endpoint }));
                    if (state === 'disconnected' && reason) node.log(RED._('ul-opcua-reader.log.disconnected', { endpoint: settings.endpoint, reason }));
                },
                onWarning: (message) => node.warn(message),
            });
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-opcua-reader.status.not-configured'));
            return;
        }

        setStatus(node, 'disconnected', RED._('ul-opcua-reader.status.disconnected'));
        reader.start();

        node.on('close', (_removed: boolean, done: () => void) => {
            reader.stop().then(
                () => done(),
                (err: unknown) => {
                    node.warn(RED._('ul-opcua-reader.warnings.close-failed', { error: toError(err).message }));
                    done();
                },
            );
        });
    }

    RED.nodes.registerType('ul-opcua-reader', OpcUaReaderNode);
}
