// Reads values from an OPC UA server through a subscription and sends one point per data change,
// shaped for the tag map: msg.payload = { tag, value, ts, quality }, msg.topic = tag. The reader
// shares the session of an ul-opcua-endpoint config node, or opens its own session from its own
// connection fields, which flows made before the endpoint config node still use.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import { parseOpcUaReaderConfig, type RawOpcUaReaderConfig } from '../../lib/opcua/config';
import { endpointSession } from '../../lib/opcua/endpoint-config';
import { OpcUaReader, type ReaderEvents, type ReaderState } from '../../lib/opcua/reader';
import type { OpcUaSession } from '../../lib/opcua/session';
import { runtimeContext } from '../../lib/runtime-context';
import type { OpcUaEndpointNode } from '../opcua-endpoint/opcua-endpoint';
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
            const parsed = parseOpcUaReaderConfig(config, dataDir);
            const count = parsed.mode === 'endpoint' ? parsed.subscription.items.length : parsed.settings.items.length;
            // A shared endpoint logs its connection once; a reader with its own session logs it here.
            const ownSession = parsed.mode === 'own';
            let endpoint = '';
            const events: ReaderEvents = {
                onPoint: (point) => node.send({ topic: point.tag, payload: point } as NodeMessage),
                onState: (state, reason) => {
                    setStatus(node, BADGES[state], RED._(`ul-opcua-reader.status.${state}`, { count }));
                    if (state === 'subscribed') node.log(RED._('ul-opcua-reader.log.subscribed', { endpoint, count }));
                    if (ownSession && state === 'reconnecting') node.log(RED._('ul-opcua-reader.log.reconnecting', { endpoint }));
                    if (ownSession && state === 'disconnected' && reason) node.log(RED._('ul-opcua-reader.log.disconnected', { endpoint, reason }));
                },
                onWarning: (message) => node.warn(message),
            };
            if (parsed.mode === 'endpoint') {
                const found = RED.nodes.getNode(parsed.endpointId) as OpcUaEndpointNode | null;
                const session = endpointSession<OpcUaSession>(parsed.endpointId, found);
                endpoint = session.endpoint;
                reader = new OpcUaReader(session, parsed.subscription, events);
            } else {
                endpoint = parsed.settings.endpoint;
                node.warn(RED._('ul-opcua-reader.warnings.own-settings', { endpoint }));
                reader = OpcUaReader.withOwnSession(parsed.settings, events);
            }
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
