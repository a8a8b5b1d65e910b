// Edge side of signing: turns a batch of readings into a signed envelope with the next sequence
// number of the device. A batch of one asset goes to that asset's topic, a batch of several assets
// to the device's topic, so the cloud checks one signature for all of them.
import type { KeyObject } from 'node:crypto';

import { ValidationError } from '../errors';
import type { Reading, SignedEnvelope } from '../types';
import type { SignSettings } from './config';
import { signEnvelope } from './envelope';
import { checkReadingsShape } from './ingest';
import { loadPrivateKey } from './keys';
import { SequenceCounter } from './sequence';
import { deviceReadingsTopic, readingsTopic } from './topic';

export interface SignedBatch {
    envelope: SignedEnvelope;
    /** MQTT topic of the batch: ops/{operator}/{asset_id}/readings, or ops/{operator}/{device_id}/readings for several assets. */
    topic: string;
}

/**
 * Signs batches for one device. The key is read from its file once; sequence numbers continue
 * from `<keyFile>.seq` (see SequenceCounter). Construction throws a ConfigError for a missing or
 * invalid key and for a sequence file that cannot be read or written.
 */
export class EnvelopeSigner {
    private readonly key: KeyObject;
    private readonly sequence: SequenceCounter;

    constructor(
        private readonly settings: SignSettings,
        sequenceBlock?: number,
    ) {
        this.key = loadPrivateKey(settings.keyFile);
        this.sequence = new SequenceCounter(`${settings.keyFile}.seq`, sequenceBlock);
    }

    /** Signs a batch of readings; throws a ValidationError for readings of the wrong shape or an asset id that cannot be a topic level. */
    sign(readings: unknown): SignedBatch {
        const problem = checkReadingsShape(readings);
        if (problem) throw new ValidationError('invalid_readings', problem.reason, { field: problem.field, value: problem.value });
        const list = readings as Reading[];
        const assetId = list[0].asset_id;
        const several = list.some((reading) => reading.asset_id !== assetId);
        let topic: string;
        try {
            topic = several ? deviceReadingsTopic(this.settings.operator, this.settings.deviceId) : readingsTopic(this.settings.operator, assetId);
        } catch (err) {
            throw new ValidationError(several ? 'invalid_device_id' : 'invalid_asset_id', (err as Error).message, {
                field: several ? 'device_id' : 'asset_id',
                value: several ? this.settings.deviceId : assetId,
            });
        }
        // Copies only the reading fields, so an undefined quality_flag does not reach the canonical JSON.
        const clean = list.map(({ asset_id, metric, value, unit, ts, quality_flag }) => {
            const reading: Reading = { asset_id, metric, value, unit, ts };
            if (quality_flag !== undefined) reading.quality_flag = quality_flag;
            return reading;
        });
        const envelope = signEnvelope(
            { v: 1, device_id: this.settings.deviceId, cert_id: this.settings.certId, seq: this.sequence.next(), operator: this.settings.operator, readings: clean },
            this.key,
        );
        return { envelope, topic };
    }
}
