// Turns a replay row or a single OPC UA or Modbus point into readings of one asset per message.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError } from '../../lib/errors';
import { parseTagMapConfig, TagMapper, type RawTagMapConfig } from '../../lib/tag-map/tag-map';
import { setStatus, throttledStatus } from '../shared/status';

type TagMapConfig = NodeDef & RawTagMapConfig;

export default function register(RED: NodeAPI): void {
    function TagMapNode(this: Node, config: TagMapConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let mapper: TagMapper;
        let operator: string;
        try {
            const settings = parseTagMapConfig(config);
            mapper = new TagMapper(settings);
            operator = settings.operator;
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-tag-map.status.not-configured'));
            return;
        }

        const status = throttledStatus(node);
        const warnedTags = new Set<string>();
        let mapped = 0;
        let rejected = 0;

        node.on('input', (msg, send, done) => {
            const topic = typeof msg.topic === 'string' && msg.topic !== '' ? msg.topic : undefined;
            const source = topic === undefined ? 'tag-map' : `tag-map:${topic}`;
            const result = mapper.map({ payload: msg.payload, topic }, source);

            for (const tag of result.unmappedTags) {
                if (warnedTags.has(tag)) continue;
                warnedTags.add(tag);
                node.warn(RED._('ul-tag-map.warnings.unmapped-tag', { tag }));
            }

            const readingMessages: NodeMessage[] = [];
            for (const [assetId, readings] of result.readings) {
                readingMessages.push({ payload: readings, topic: assetId, operator } as NodeMessage);
            }
            const rejectedMessage = result.rejections.length > 0 ? ({ payload: result.rejections, topic: topic ?? '' } as NodeMessage) : null;
            mapped += readingMessages.length;
            rejected += result.rejections.length;
            send([readingMessages, rejectedMessage]);
            status('ok', () => RED._('ul-tag-map.status.counts', { mapped, rejected }));
            done();
        });
    }

    RED.nodes.registerType('ul-tag-map', TagMapNode);
}
