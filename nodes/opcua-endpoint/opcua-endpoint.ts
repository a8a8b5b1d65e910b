// Config node for one OPC UA server: endpoint, security, client certificate files and user. It
// owns one client session that every ul-opcua-reader referencing it shares; each reader keeps its
// own subscription on that session. The session opens with the first reader and closes with the
// last one, and reconnects by itself in between.
import type { Node, NodeAPI, NodeDef } from 'node-red';

import { toError } from '../../lib/errors';
import { parseOpcUaEndpointConfig, type RawOpcUaEndpointConfig } from '../../lib/opcua/endpoint-config';
import { OpcUaSession } from '../../lib/opcua/session';
import { runtimeContext } from '../../lib/runtime-context';

type OpcUaEndpointConfig = NodeDef & RawOpcUaEndpointConfig;

interface Credentials {
    password?: string;
}

/** The config node as readers find it with RED.nodes.getNode. */
export interface OpcUaEndpointNode extends Node<Credentials> {
    /** The shared session; undefined when the configuration is invalid. */
    session?: OpcUaSession;
    /** Reason the configuration is invalid, as reported at deploy. */
    problem?: string;
}

export default function register(RED: NodeAPI): void {
    function OpcUaEndpointConfigNode(this: OpcUaEndpointNode, config: OpcUaEndpointConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        try {
            const dataDir = runtimeContext(RED.settings).dataDir ?? process.cwd();
            const settings = parseOpcUaEndpointConfig(config, node.credentials ?? {}, dataDir);
            const user = settings.user?.userName ?? RED._('ul-opcua-endpoint.log.anonymous');
            const session = new OpcUaSession(settings, {
                onState: (state) => {
                    if (state === 'connected') node.log(RED._('ul-opcua-endpoint.log.connected', { endpoint: settings.endpoint, user, readers: session.userCount }));
                    if (state === 'reconnecting') node.log(RED._('ul-opcua-endpoint.log.reconnecting', { endpoint: settings.endpoint }));
                },
                onWarning: (message) => node.warn(message),
            });
            node.session = session;
        } catch (err) {
            node.problem = toError(err).message;
            node.error(node.problem);
        }

        node.on('close', (_removed: boolean, done: () => void) => {
            if (!node.session) {
                done();
                return;
            }
            node.session.close().then(
                () => done(),
                (err: unknown) => {
                    node.warn(RED._('ul-opcua-endpoint.warnings.close-failed', { error: toError(err).message }));
                    done();
                },
            );
        });
    }

    RED.nodes.registerType<OpcUaEndpointNode, OpcUaEndpointConfig, Record<string, never>, Credentials>('ul-opcua-endpoint', OpcUaEndpointConfigNode, {
        credentials: {
            password: { type: 'password' },
        },
    });
}
