// Exception and swinging-door compression of readings at the edge, with a stated maximum error
// per metric: only the readings needed to reconstruct each series within that error go on.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { ReadingCompressor, compressorOptions, parseCompressionConfig, type RawCompressionConfig } from '../../lib/compression';
import { ValidationError, toError } from '../../lib/errors';
import type { Reading, Rejection } from '../../lib/types';
import { setStatus, throttledStatus } from '../shared/status';

type CompressConfig = NodeDef & RawCompressionConfig;

function rejection(err: unknown, item: unknown, now: Date): Rejection {
    const error = toError(err);
    const entry: Rejection = {
        source: 'compress',
        reason: error.message,
        code: error instanceof ValidationError ? error.code : 'invalid_reading',
        payload: item,
        received_at: now.toISOString(),
    };
    if (error instanceof ValidationError && error.field !== undefined) entry.field = error.field;
    if (error instanceof ValidationError && error.value !== undefined) entry.value = error.value;
    return entry;
}

/** Groups readings by asset, keeping their order within each asset. */
function byAsset(readings: Reading[]): Map<string, Reading[]> {
    const groups = new Map<string, Reading[]>();
    for (const reading of readings) {
        const group = groups.get(reading.asset_id);
        if (group) group.push(reading);
        else groups.set(reading.asset_id, [reading]);
    }
    return groups;
}

export default function register(RED: NodeAPI): void {
    function CompressNode(this: Node, config: CompressConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let compressor: ReadingCompressor;
        try {
            compressor = new ReadingCompressor(compressorOptions(parseCompressionConfig(config)));
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-compress.status.not-configured'));
            return;
        }

        const status = throttledStatus(node);
        /** Extra message properties (operator) seen last per asset, for messages sent on flush. */
        const operators = new Map<string, unknown>();
        const showCounts = () => {
            const { received, archived } = compressor.counts;
            const ratio = archived === 0 ? '-' : (received / archived).toFixed(1);
            status('ok', () => RED._('ul-compress.status.counts', { received, archived, ratio }));
        };
        const flushMessages = (): NodeMessage[] =>
            [...byAsset(compressor.flush())].map(([asset, readings]) => {
                const msg: Record<string, unknown> = { payload: readings, topic: asset };
                if (operators.get(asset) !== undefined) msg.operator = operators.get(asset);
                return msg as NodeMessage;
            });
        setStatus(node, 'ok', RED._('ul-compress.status.ready'));

        node.on('input', (msg, send, done) => {
            const now = new Date();
            const extra = msg as NodeMessage & { flush?: unknown; operator?: unknown };
            if (extra.flush === true) {
                send([flushMessages(), null]);
                showCounts();
                done();
                return;
            }
            const items = Array.isArray(msg.payload) ? (msg.payload as unknown[]) : [msg.payload];
            const archived: Reading[] = [];
            const rejected: Rejection[] = [];
            if (!Array.isArray(msg.payload)) {
                rejected.push(rejection(new ValidationError('invalid_input', 'The payload is not an array of readings; send Reading[] as the tag map does.'), msg.payload, now));
            } else {
                for (const item of items) {
                    try {
                        archived.push(...compressor.add(item as Reading));
                        operators.set((item as Reading).asset_id, extra.operator);
                    } catch (err) {
                        rejected.push(rejection(err, item, now));
                    }
                }
            }

            const groups = [...byAsset(archived)];
            const outputs: NodeMessage[] = groups.map(([asset, readings], index) =>
                index === groups.length - 1 ? Object.assign(msg, { payload: readings, topic: asset }) : ({ ...msg, payload: readings, topic: asset } as NodeMessage),
            );
            const rejectedMessage = rejected.length > 0 ? ({ payload: rejected, topic: typeof msg.topic === 'string' ? msg.topic : '' } as NodeMessage) : null;
            send([outputs, rejectedMessage]);
            showCounts();
            done();
        });

        node.on('close', (_removed: boolean, done: () => void) => {
            // Readings still pending at close are sent on, so the archive reaches the last value.
            const messages = flushMessages();
            if (messages.length > 0) node.send([messages, null]);
            done();
        });
    }

    RED.nodes.registerType('ul-compress', CompressNode);
}
