// Verifies signed envelopes from MQTT against the device registry and passes on their readings.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';

import { carryDelivery } from '../../lib/bus/delivery';
import { incrementCounter } from '../../lib/observability/counters';
import { toError } from '../../lib/errors';
import { runtimeContext } from '../../lib/runtime-context';
import { parseVerifyConfig } from '../../lib/signing/config';
import { verifyIngestLine, verifyIngestValue, type IngestResult } from '../../lib/signing/ingest';
import { DeviceRegistry } from '../../lib/signing/registry';
import { SequenceState } from '../../lib/signing/sequence';
import type { Rejection } from '../../lib/types';
import { setStatus, throttledStatus } from '../shared/status';

interface VerifyConfig extends NodeDef {
    registryFile: string;
}

/** Builds the rejection of a message whose verification threw, keeping its text. */
function verifyFailure(source: string, payload: unknown, error: Error): Rejection {
    let text: string | undefined;
    if (Buffer.isBuffer(payload)) text = payload.toString('utf8');
    else if (typeof payload === 'string') text = payload;
    const rejection: Rejection = {
        source,
        code: 'verify_failed',
        reason: `Verifying the message failed (${error.message}); check that it is one signed JSON envelope as the edge sends it.`,
        received_at: new Date().toISOString(),
    };
    if (text !== undefined) rejection.payload = text;
    return rejection;
}

export default function register(RED: NodeAPI): void {
    function VerifyNode(this: Node, config: VerifyConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;

        let registry: DeviceRegistry;
        try {
            const path = parseVerifyConfig(config, runtimeContext(RED.settings).dataDir);
            registry = new DeviceRegistry(path, { onReloadError: (err) => node.warn(RED._('ul-verify.warnings.reload-failed', { error: err.message })) });
        } catch (err) {
            node.error(toError(err).message);
            setStatus(node, 'failed', RED._('ul-verify.status.not-configured'));
            return;
        }

        // NOTE: the last accepted sequence per device lives in memory, so after a restart the
        // first envelope of each device is accepted again whatever its number.
        const sequences = new SequenceState();
        const status = throttledStatus(node);
        let accepted = 0;
        let rejected = 0;
        status('ok', RED._('ul-verify.status.counts', { accepted, rejected }));

        node.on('input', (msg, send, done) => {
            const topic = typeof msg.topic === 'string' && msg.topic !== '' ? msg.topic : undefined;
            const source = topic === undefined ? 'mqtt' : `mqtt:${topic}`;
            const payload: unknown = msg.payload;
            let result: IngestResult;
            try {
                if (Buffer.isBuffer(payload)) result = verifyIngestLine(payload.toString('utf8'), registry, sequences, source, { topic });
                else if (typeof payload === 'string') result = verifyIngestLine(payload, registry, sequences, source, { topic });
                else result = verifyIngestValue(payload, registry, sequences, source, { topic });
            } catch (err) {
                // An unexpected failure must not hold the message: the intake would stop behind it.
                const error = toError(err);
                node.warn(RED._('ul-verify.warnings.verify-failed', { source, error: error.message }));
                result = { ok: false, rejection: verifyFailure(source, payload, error) };
            }

            if (!result.ok && result.redelivered) {
                // The same envelope again (a reconnect or a moved partition); its readings are stored already.
                incrementCounter('ul_envelopes_total', 'Signed envelopes verified, by result.', { result: 'redelivered' });
                done();
                return;
            }
            if (!result.ok) {
                rejected++;
                incrementCounter('ul_envelopes_total', 'Signed envelopes verified, by result.', { result: 'rejected' });
                send([null, carryDelivery(msg, { payload: [result.rejection], topic: topic ?? '' } as NodeMessage)]);
                status('ok', () => RED._('ul-verify.status.counts', { accepted, rejected }));
                done();
                return;
            }
            const { envelope } = result;
            // One message per envelope: the nodes after this one take readings of many assets,
            // and splitting a device's batch here would multiply the work of every later step.
            // msg.device lets the normalizer check the assets' operator. The device's asset list is
            // left out: the readings were checked against it above, and a list of thousands of
            // assets would be copied with every message.
            const device = { device_id: envelope.device_id, operator: envelope.operator };
            const first = envelope.readings[0]?.asset_id;
            const oneAsset = first !== undefined && envelope.readings.every((reading) => reading.asset_id === first);
            const out = carryDelivery(msg, {
                payload: envelope.readings,
                topic: oneAsset ? first : (topic ?? ''),
                operator: envelope.operator,
                device_id: envelope.device_id,
                seq: envelope.seq,
                device,
                source,
            } as NodeMessage);
            accepted++;
            incrementCounter('ul_envelopes_total', 'Signed envelopes verified, by result.', { result: 'accepted' });
            send([out, null]);
            status('ok', () => RED._('ul-verify.status.counts', { accepted, rejected }));
            done();
        });
    }

    RED.nodes.registerType('ul-verify', VerifyNode);
}
