import { generateKeyPairSync, type KeyObject } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { Reading, SignedEnvelope } from '../types';
import { signEnvelope, type UnsignedEnvelope } from './envelope';
import { verifyIngestLine, verifyIngestValue } from './ingest';
import { parseDeviceRecords, type DeviceLookup } from './registry';
import { SequenceState } from './sequence';

const device = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;

const registry: DeviceLookup = parseDeviceRecords(
    [
        { device_id: 'edge-01', cert_id: 'edge-01-2024', operator: 'petrobras', public_key: pem(device.publicKey), assets: ['3w-well-00004', '3w-well-00003'] },
        { device_id: 'edge-02', cert_id: 'edge-02-2024', operator: 'petrobras', public_key: pem(stranger.publicKey) },
    ],
    'test registry',
);

const NOW = new Date('2024-05-01T12:00:00.000Z');
const SOURCE = 'api:ingest';

function reading(overrides: Partial<Reading> = {}): Reading {
    return { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 1.335972e7, unit: 'Pa', ts: '2024-05-01T11:59:59.000Z', quality_flag: 'GOOD', ...overrides };
}

function envelope(overrides: Partial<UnsignedEnvelope> = {}, key: KeyObject = device.privateKey): SignedEnvelope {
    return signEnvelope({ v: 1, device_id: 'edge-01', cert_id: 'edge-01-2024', seq: 1, operator: 'petrobras', readings: [reading()], ...overrides }, key);
}

function verifyLine(text: string, sequences = new SequenceState(), topic?: string) {
    return verifyIngestLine(text, registry, sequences, SOURCE, { now: NOW, topic });
}

function rejectionOf(result: ReturnType<typeof verifyIngestLine>) {
    if (result.ok) throw new Error('expected a rejection');
    return result.rejection;
}

describe('verifyIngestLine accepts', () => {
    it('should accept a signed envelope and record its sequence', () => {
        const sequences = new SequenceState();
        const signed = envelope({ seq: 41 });
        const result = verifyLine(JSON.stringify(signed), sequences);

        expect(result).toEqual({ ok: true, envelope: signed });
        expect(sequences.lastAccepted('edge-01')).toBe(41);
    });

    it('should accept an envelope on its readings topic', () => {
        const result = verifyLine(JSON.stringify(envelope()), new SequenceState(), 'ops/petrobras/3w-well-00004/readings');

        expect(result.ok).toBe(true);
    });

    it('should accept a batch on the device topic', () => {
        const batch = envelope({ readings: [reading(), reading({ asset_id: '3w-well-00003' })] });
        const result = verifyLine(JSON.stringify(batch), new SequenceState(), 'ops/petrobras/edge-01/readings');

        expect(result).toEqual({ ok: true, envelope: batch });
    });

    it('should accept any asset of a device without an asset list', () => {
        const signed = envelope({ device_id: 'edge-02', cert_id: 'edge-02-2024', readings: [reading({ asset_id: 'other-well' })] }, stranger.privateKey);

        expect(verifyLine(JSON.stringify(signed)).ok).toBe(true);
    });
});

describe('verifyIngestLine rejects', () => {
    it('should reject malformed JSON', () => {
        const rejection = rejectionOf(verifyLine('{"v":1,'));

        expect(rejection.code).toBe('malformed_json');
        expect(rejection.source).toBe(SOURCE);
        expect(rejection.payload).toBe('{"v":1,');
        expect(rejection.received_at).toBe(NOW.toISOString());
        expect(rejection.reason).toMatch(/not valid JSON .* one complete JSON envelope per line/);
    });

    it('should name an MQTT message, not a line', () => {
        const rejection = rejectionOf(verifyLine('{"v":1,', new SequenceState(), 'ops/petrobras/3w-well-00004/readings'));

        expect(rejection.code).toBe('malformed_json');
        expect(rejection.reason).toMatch(/message is not valid JSON .* one complete JSON envelope per message/);
    });

    it('should call an empty message empty', () => {
        const rejection = rejectionOf(verifyLine('  ', new SequenceState(), 'ops/petrobras/3w-well-00004/readings'));

        expect(rejection.code).toBe('malformed_json');
        expect(rejection.reason).toContain('The message is empty');
        expect(rejection.payload).toBe('  ');
    });

    for (const depth of [9, 10_000, 500_000]) {
        it(`should reject arrays nested ${depth} deep`, () => {
            const text = '['.repeat(depth) + ']'.repeat(depth);
            const rejection = rejectionOf(verifyLine(text));

            expect(rejection.code).toBe('invalid_envelope');
            expect(rejection.field).toBe('envelope');
            expect(rejection.reason).toContain('more than 8 levels deep');
            expect(rejection.payload).toBe(text);
        });
    }

    it('should reject a reading value nested too deep', () => {
        const deep = JSON.parse('{"a":'.repeat(20) + '1' + '}'.repeat(20)) as unknown;
        const text = JSON.stringify({ ...envelope(), readings: [{ ...reading(), value: deep }] });
        const rejection = rejectionOf(verifyLine(text));

        expect(rejection.code).toBe('invalid_envelope');
        expect(rejection.payload).toBe(text);
    });

    const shapes: [string, unknown, string][] = [
        ['an array', [], 'envelope'],
        ['an unknown field', { ...envelope(), extra: 1 }, 'extra'],
        ['version 2', { ...envelope(), v: 2 }, 'v'],
        ['a missing device id', { ...envelope(), device_id: '' }, 'device_id'],
        ['a fractional seq', { ...envelope(), seq: 1.5 }, 'seq'],
        ['empty readings', { ...envelope(), readings: [] }, 'readings'],
        ['a text value', { ...envelope(), readings: [{ ...reading(), value: '12' }] }, 'readings[0].value'],
        ['a zone-less ts', { ...envelope(), readings: [{ ...reading(), ts: '2024-05-01 11:59:59' }] }, 'readings[0].ts'],
        ['an unknown quality', { ...envelope(), readings: [{ ...reading(), quality_flag: 'OK' }] }, 'readings[0].quality_flag'],
        ['an unknown reading field', { ...envelope(), readings: [{ ...reading(), tag: 'P-TPT' }] }, 'readings[0].tag'],
        ['a short signature', { ...envelope(), sig: 'AAAA' }, 'sig'],
    ];
    for (const [name, value, field] of shapes) {
        it(`should reject ${name} as invalid_envelope`, () => {
            const rejection = rejectionOf(verifyLine(JSON.stringify(value)));

            expect(rejection.code).toBe('invalid_envelope');
            expect(rejection.field).toBe(field);
            expect(rejection.reason).toContain(field === 'envelope' ? 'not a JSON object' : field);
        });
    }

    it('should reject an unknown device', () => {
        const rejection = rejectionOf(verifyLine(JSON.stringify(envelope({ device_id: 'edge-99' }))));

        expect(rejection.code).toBe('unknown_device');
        expect(rejection.field).toBe('device_id');
        expect(rejection.value).toBe('edge-99');
        expect(rejection.ref).toBe('1');
        expect(rejection.reason).toBe('Device edge-99 is not in the device registry; register it with its public key, or correct device_id.');
    });

    it('should reject a certificate mismatch', () => {
        const rejection = rejectionOf(verifyLine(JSON.stringify(envelope({ cert_id: 'edge-01-2023' }))));

        expect(rejection.code).toBe('cert_mismatch');
        expect(rejection.value).toBe('edge-01-2023');
        expect(rejection.reason).toContain('registered certificate edge-01-2024');
    });

    it('should reject an operator mismatch', () => {
        const rejection = rejectionOf(verifyLine(JSON.stringify(envelope({ operator: 'equinor' }))));

        expect(rejection.code).toBe('operator_mismatch');
        expect(rejection.field).toBe('operator');
        expect(rejection.reason).toContain('operator petrobras registered for device edge-01');
    });

    it('should reject a changed operator as bad_signature', () => {
        const tampered = { ...envelope(), operator: 'equinor' };
        const rejection = rejectionOf(verifyLine(JSON.stringify(tampered)));

        expect(rejection.code).toBe('bad_signature');
    });

    it('should reject a changed value as bad_signature', () => {
        const tampered = envelope();
        tampered.readings[0].value = 2e7;
        const rejection = rejectionOf(verifyLine(JSON.stringify(tampered)));

        expect(rejection.code).toBe('bad_signature');
        expect(rejection.field).toBe('sig');
        expect(rejection.payload).toEqual(tampered);
    });

    it('should reject a signature by another key', () => {
        const rejection = rejectionOf(verifyLine(JSON.stringify(envelope({}, stranger.privateKey))));

        expect(rejection.code).toBe('bad_signature');
    });

    it('should reject an asset the device may not report', () => {
        const signed = envelope({ readings: [reading(), reading({ asset_id: '3w-well-00017' })] });
        const rejection = rejectionOf(verifyLine(JSON.stringify(signed)));

        expect(rejection.code).toBe('asset_not_allowed');
        expect(rejection.field).toBe('readings[1].asset_id');
        expect(rejection.value).toBe('3w-well-00017');
    });

    it('should reject a replayed sequence number', () => {
        const sequences = new SequenceState();
        const line = JSON.stringify(envelope({ seq: 5 }));

        expect(verifyLine(line, sequences).ok).toBe(true);
        const rejection = rejectionOf(verifyLine(line, sequences));
        expect(rejection.code).toBe('replayed_sequence');
        expect(rejection.value).toBe(5);
        expect(rejection.reason).toContain('Sequence 5 of device edge-01 was already accepted');
    });

    it('should mark the same envelope again as redelivered', () => {
        const sequences = new SequenceState();
        const line = JSON.stringify(envelope({ seq: 5 }));
        verifyLine(line, sequences);

        const result = verifyLine(line, sequences);

        expect(result.ok).toBe(false);
        expect(result).toHaveProperty('redelivered', true);
    });

    it('should not mark other content with a used sequence as redelivered', () => {
        const sequences = new SequenceState();
        verifyLine(JSON.stringify(envelope({ seq: 5 })), sequences);

        const result = verifyLine(JSON.stringify(envelope({ seq: 5, readings: [reading({ value: 2 })] })), sequences);

        expect(rejectionOf(result).code).toBe('replayed_sequence');
        expect(result).not.toHaveProperty('redelivered');
    });

    it('should forget signatures beyond the recent limit', () => {
        const sequences = new SequenceState(65_536, 2);
        const first = JSON.stringify(envelope({ seq: 1 }));
        verifyLine(first, sequences);
        verifyLine(JSON.stringify(envelope({ seq: 2 })), sequences);
        verifyLine(JSON.stringify(envelope({ seq: 3 })), sequences);

        const result = verifyLine(first, sequences);

        expect(rejectionOf(result).code).toBe('replayed_sequence');
        expect(result).not.toHaveProperty('redelivered');
    });

    it('should accept a late sequence number inside the window', () => {
        const sequences = new SequenceState();

        expect(verifyLine(JSON.stringify(envelope({ seq: 10 })), sequences).ok).toBe(true);
        expect(verifyLine(JSON.stringify(envelope({ seq: 7 })), sequences).ok).toBe(true);
        expect(rejectionOf(verifyLine(JSON.stringify(envelope({ seq: 7 })), sequences)).code).toBe('replayed_sequence');
        expect(verifyLine(JSON.stringify(envelope({ seq: 6 })), sequences).ok).toBe(true);
    });

    it('should not record the sequence of a rejected envelope', () => {
        const sequences = new SequenceState();
        verifyLine(JSON.stringify(envelope({ seq: 9, operator: 'equinor' })), sequences);

        expect(sequences.lastAccepted('edge-01')).toBeUndefined();
    });

    const topics: [string, string][] = [
        ['another operator', 'ops/equinor/3w-well-00004/readings'],
        ['another asset', 'ops/petrobras/3w-well-00003/readings'],
        ['another form', 'telemetry/3w-well-00004'],
        ['another device', 'ops/petrobras/edge-02/readings'],
    ];
    for (const [name, topic] of topics) {
        it(`should reject a topic with ${name}`, () => {
            const sequences = new SequenceState();
            const rejection = rejectionOf(verifyLine(JSON.stringify(envelope()), sequences, topic));

            expect(rejection.code).toBe('topic_mismatch');
            expect(rejection.value).toBe(topic);
            expect(sequences.lastAccepted('edge-01')).toBeUndefined();
        });
    }
});

describe('device batches', () => {
    it('should reject a batch on an asset topic', () => {
        const batch = envelope({ readings: [reading(), reading({ asset_id: '3w-well-00003' })] });
        const rejection = rejectionOf(verifyLine(JSON.stringify(batch), new SequenceState(), 'ops/petrobras/3w-well-00004/readings'));

        expect(rejection.code).toBe('topic_mismatch');
        expect(rejection.reason).toContain('ops/petrobras/edge-01/readings');
    });

    it('should reject a foreign asset in a batch', () => {
        const batch = envelope({ readings: [reading(), reading({ asset_id: '3w-well-00009' })] });
        const rejection = rejectionOf(verifyLine(JSON.stringify(batch), new SequenceState(), 'ops/petrobras/edge-01/readings'));

        expect(rejection.code).toBe('asset_not_allowed');
        expect(rejection.field).toBe('readings[1].asset_id');
    });
});

describe('verifyIngestValue', () => {
    it('should verify an already parsed envelope', () => {
        expect(verifyIngestValue(envelope(), registry, new SequenceState(), 'mqtt:x').ok).toBe(true);
    });
});

describe('verifyIngestValue nesting', () => {
    it('should reject a deep value without keeping it', () => {
        const deep = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)) as unknown;
        const result = verifyIngestValue(deep, registry, new SequenceState(), 'mqtt:x');
        const rejection = rejectionOf(result);

        expect(rejection.code).toBe('invalid_envelope');
        expect(rejection.payload).toBeUndefined();
        expect(() => JSON.stringify(rejection)).not.toThrow();
    });
});
