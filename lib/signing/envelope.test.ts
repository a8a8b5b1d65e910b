import { generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { Reading } from '../types';
import { decodeSignature, signedBytesOf, signEnvelope, signingInput, verifyEnvelope, type UnsignedEnvelope } from './envelope';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

const readings: Reading[] = [
    { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 1.335972e7, unit: 'Pa', ts: '2017-10-31T19:30:25.000Z', quality_flag: 'GOOD' },
    { asset_id: '3w-well-00004', metric: 'temp_tpt', value: 106.8783, unit: 'degC', ts: '2017-10-31T19:30:25.000Z', quality_flag: 'GOOD' },
];
const unsigned: UnsignedEnvelope = { v: 1, device_id: 'edge-01', cert_id: 'edge-01-2024', seq: 7, operator: 'petrobras', readings };

describe('signEnvelope', () => {
    it('should sign the canonical JSON without sig', () => {
        const envelope = signEnvelope(unsigned, privateKey);

        expect(envelope.sig).toMatch(/^[A-Za-z0-9+/]{86}==$/);
        expect(signingInput(envelope).toString()).toBe(signingInput(unsigned).toString());
        expect(signingInput(envelope).toString().startsWith('{"cert_id":"edge-01-2024","device_id":"edge-01","operator":"petrobras","readings":[{"asset_id"')).toBe(true);
    });

    it('should reject a key that is not Ed25519', () => {
        const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

        expect(() => signEnvelope(unsigned, rsa.privateKey)).toThrow(/not Ed25519/);
    });
});

describe('verifyEnvelope', () => {
    const envelope = signEnvelope(unsigned, privateKey);

    it('should accept an untouched envelope', () => {
        expect(verifyEnvelope(envelope, publicKey)).toBe(true);
    });

    it('should accept the envelope after a JSON round trip with other key order', () => {
        const reordered = JSON.parse(JSON.stringify({ sig: envelope.sig, readings: envelope.readings, seq: 7, operator: 'petrobras', cert_id: 'edge-01-2024', device_id: 'edge-01', v: 1 }));

        expect(verifyEnvelope(reordered, publicKey)).toBe(true);
    });

    it('should reject a changed reading', () => {
        const tampered = structuredClone(envelope);
        tampered.readings[0].value = 1.335973e7;

        expect(verifyEnvelope(tampered, publicKey)).toBe(false);
    });

    it('should reject a changed sequence number', () => {
        expect(verifyEnvelope({ ...envelope, seq: 8 }, publicKey)).toBe(false);
    });

    it('should reject another device key', () => {
        expect(verifyEnvelope(envelope, other.publicKey)).toBe(false);
    });

    it('should reject a malformed signature', () => {
        expect(verifyEnvelope({ ...envelope, sig: 'abc' }, publicKey)).toBe(false);
        expect(verifyEnvelope({ ...envelope, sig: '!'.repeat(88) }, publicKey)).toBe(false);
    });
});

describe('decodeSignature', () => {
    it('should decode 64 bytes of base64 only', () => {
        expect(decodeSignature(Buffer.alloc(64, 1).toString('base64'))?.length).toBe(64);
        expect(decodeSignature(Buffer.alloc(63, 1).toString('base64'))).toBeUndefined();
    });
});

describe('signedBytesOf', () => {
    const envelope = signEnvelope(unsigned, privateKey);
    const text = JSON.stringify(envelope);

    it('should find the signed bytes', () => {
        expect(text).toContain(`"seq":7,"sig":"${envelope.sig}","v":1}`);
        expect(signedBytesOf(text, envelope.sig)?.toString()).toBe(signingInput(envelope).toString());
    });

    it('should reject other layouts', () => {
        const sigFirst = JSON.stringify({ sig: envelope.sig, ...unsigned });
        const extraMember = text.replace(/\}$/, ',"x":1}');
        const spaced = JSON.stringify(envelope, null, 1);

        expect(signedBytesOf(sigFirst, envelope.sig)).toBeUndefined();
        expect(signedBytesOf(extraMember, envelope.sig)).toBeUndefined();
        expect(signedBytesOf(spaced, envelope.sig)).toBeUndefined();
        expect(signedBytesOf(text, 'A'.repeat(88))).toBeUndefined();
    });
});

describe('verifyEnvelope with the received text', () => {
    const envelope = signEnvelope(unsigned, privateKey);
    const text = JSON.stringify(envelope);

    it('should accept the text as signed', () => {
        expect(verifyEnvelope(JSON.parse(text), publicKey, text)).toBe(true);
    });

    it('should accept other layouts canonically', () => {
        const reordered = JSON.stringify({ sig: envelope.sig, ...unsigned }, null, 2);

        expect(verifyEnvelope(JSON.parse(reordered), publicKey, reordered)).toBe(true);
    });

    it('should reject a changed value', () => {
        const changed = text.replace('"value":106.8783', '"value":6.8783');

        expect(changed).not.toBe(text);
        expect(verifyEnvelope(JSON.parse(changed), publicKey, changed)).toBe(false);
    });

    it('should reject another key', () => {
        const forged = signEnvelope(unsigned, other.privateKey);
        const forgedText = JSON.stringify(forged);

        expect(verifyEnvelope(JSON.parse(forgedText), publicKey, forgedText)).toBe(false);
    });
});
