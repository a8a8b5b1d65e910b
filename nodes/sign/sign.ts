// Signs each batch of readings of one asset with the device's Ed25519 key, for publishing to
// ops/{operator}/{asset_id}/readings.
import type { Node, NodeAPI, NodeDef } from 'node-red';

import { toError } from '../../lib/errors';
import { runtimeContext } from '../../lib/runtime-context';
import { parseSignConfig } from '../../lib/signing/config';
import { EnvelopeSigner } from '../../lib/signing/signer';
import { setStatus, throttledStatus } from '../shared/status';

interface SignConfig extends NodeDef {
    deviceId: string;
    certId: string;
    operator: string;
    keyFile: string;
}

export default function register(RED: NodeAPI): void {
    function SignNode(this: Node, config: SignConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let signer: EnvelopeSigner;
        try {
            signer = new EnvelopeSigner(parseSignConfig(config, runtimeContext(RED.settings).dataDir));
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-sign.status.not-configured'));
            return;
        }

        const status = throttledStatus(node);
        status('ok', RED._('ul-sign.status.ready'));

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
    }

    RED.nodes.registerType('ul-sign', SignNode);
}
