// Signs batches of readings with the device's Ed25519 key, for publishing to
// ops/{operator}/{asset_id}/readings, or, for a batch of several assets, to
// ops/{operator}/{device_id}/readings. With a batch window, readings of several messages share
// one envelope.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { toError, ValidationError } from '../../lib/errors';
import { runtimeContext } from '../../lib/runtime-context';
import { BatchWindow } from '../../lib/signing/batch-window';
import { parseSignBatchConfig, parseSignConfig, type SignBatchSettings } from '../../lib/signing/config';
import { checkReadingsShape } from '../../lib/signing/ingest';
import { EnvelopeSigner } from '../../lib/signing/signer';
import type { Reading } from '../../lib/types';
import { setStatus, throttledStatus } from '../shared/status';

interface SignConfig extends NodeDef {
    deviceId: string;
    certId: string;
    operator: string;
    keyFile: string;
    batchMs?: number | string;
    batchMax?: number | string;
}

export default function register(RED: NodeAPI): void {
    function SignNode(this: Node, config: SignConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let signer: EnvelopeSigner;
        let batching: SignBatchSettings;
        try {
            batching = parseSignBatchConfig(config);
            signer = new EnvelopeSigner(parseSignConfig(config, runtimeContext(RED.settings).dataDir));
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-sign.status.not-configured'));
            return;
        }

        const status = throttledStatus(node);
        status('ok', RED._('ul-sign.status.ready'));

        if (batching.windowMs === 0) {
            node.on('input', (msg, send, done) => {
                let batch;
                try {
                    batch = signer.sign(msg.payload);
                } catch (err) {
                    status('failed', RED._('ul-sign.status.failed'));
                    done(toError(err));
                    return;
                }
                msg.payload = batch.envelope;
                msg.topic = batch.topic;
                send(msg);
                status('ok', () => RED._('ul-sign.status.signed', { seq: batch.envelope.seq }));
                done();
            });
            return;
        }

        const window = new BatchWindow({
            ...batching,
            send: (readings: Reading[]) => {
                const batch = signer.sign(readings);
                node.send({ payload: batch.envelope, topic: batch.topic } as NodeMessage);
                status('ok', () => RED._('ul-sign.status.signed-batch', { seq: batch.envelope.seq, count: readings.length }));
            },
        });
        node.on('input', (msg, _send, done) => {
            // Each message is checked on its own, so one bad message does not fail its batch.
            const problem = checkReadingsShape(msg.payload);
            if (problem) {
                status('failed', RED._('ul-sign.status.failed'));
                done(new ValidationError('invalid_readings', problem.reason, { field: problem.field, value: problem.value }));
                return;
            }
            window.add(msg.payload as Reading[], (err) => {
                if (err) status('failed', RED._('ul-sign.status.failed'));
                done(err);
            });
        });
        // Readings still waiting are signed and sent before the node stops, so a redeploy loses none.
        node.on('close', (_removed: boolean, done: () => void) => {
            window.flush();
            done();
        });
    }

    RED.nodes.registerType('ul-sign', SignNode);
}
