// Decodes the responses of node-red-contrib-modbus read nodes with a register map and sends
// readings of one asset per message, as the tag map does, so Modbus and OPC UA sources can share
// the steps that follow.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import { RegisterMapper, readFailure } from '../../lib/register-map/mapper';
import { parseRegisterMapConfig, type RawRegisterMapConfig } from '../../lib/register-map/registers';
import { setStatus, throttledStatus } from '../shared/status';

type RegisterMapConfig = NodeDef & RawRegisterMapConfig;

// Rejections that point at a mismatch between the read nodes and the map, logged once per deploy.
const CONFIGURATION_CODES = new Set(['short_response', 'unmapped_registers', 'missing_request', 'unsupported_function']);

export default function register(RED: NodeAPI): void {
    function RegisterMapNode(this: Node, config: RegisterMapConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let mapper: RegisterMapper;
        let operator: string;
        try {
            const settings = parseRegisterMapConfig(config);
            mapper = new RegisterMapper(settings);
            operator = settings.operator;
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-register-map.status.not-configured'));
            return;
        }

        const status = throttledStatus(node);
        const warned = new Set<string>();
        let read = 0;
        let rejected = 0;

        node.on('input', (msg, send, done) => {
            const failure = readFailure(msg);
            if (failure) {
                status('failed', RED._('ul-register-map.status.read-failed'));
                done(failure);
                return;
            }

            const result = mapper.map(msg);
            for (const rejection of result.rejections) {
                const key = `${rejection.code} ${rejection.source} ${rejection.field ?? ''}`;
                if (!CONFIGURATION_CODES.has(rejection.code) || warned.has(key)) continue;
                warned.add(key);
                node.warn(rejection.reason);
            }

            const readingMessages: NodeMessage[] = [];
            for (const [assetId, readings] of result.readings) {
                readingMessages.push({ payload: readings, topic: assetId, operator } as NodeMessage);
                read += readings.length;
            }
            const rejectedMessage = result.rejections.length > 0 ? ({ payload: result.rejections, topic: result.rejections[0].source } as NodeMessage) : null;
            rejected += result.rejections.length;
            send([readingMessages, rejectedMessage]);
            status('ok', () => RED._('ul-register-map.status.counts', { read, rejected }));
            done();
        });
    }

    RED.nodes.registerType('ul-register-map', RegisterMapNode);
}
