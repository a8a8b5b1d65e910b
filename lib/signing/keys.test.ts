import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import type { Reading } from '../types';
import { signEnvelope, verifyEnvelope } from './envelope';
import { generateDeviceKey, loadPrivateKey, loadPublicKey, parsePublicKey } from './keys';

const folder = mkdtempSync(join(tmpdir(), 'ul-keys-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const reading: Reading = { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 1.335972e7, unit: 'Pa', ts: '2017-10-31T19:30:25.000Z', quality_flag: 'GOOD' };

describe('generateDeviceKey', () => {
    it('should write a private key readable only by the owner', () => {
        const publicPem = generateDeviceKey(folder, 'edge-01');

        expect(publicPem).toContain('BEGIN PUBLIC KEY');
        expect(readFileSync(join(folder, 'edge-01.pub'), 'utf8')).toBe(publicPem);
        expect(statSync(join(folder, 'edge-01.key')).mode & 0o777).toBe(0o600);
    });

    it('should produce a key pair that signs and verifies', () => {
        const publicPem = generateDeviceKey(folder, 'edge-02');
        const envelope = signEnvelope({ v: 1, device_id: 'edge-02', cert_id: 'c1', seq: 1, operator: 'petrobras', readings: [reading] }, loadPrivateKey(join(folder, 'edge-02.key')));

        expect(verifyEnvelope(envelope, parsePublicKey(publicPem, 'test'))).toBe(true);
        expect(verifyEnvelope(envelope, loadPublicKey(join(folder, 'edge-02.pub')))).toBe(true);
    });

    it('should not overwrite an existing key', () => {
        generateDeviceKey(folder, 'edge-03');
        const before = readFileSync(join(folder, 'edge-03.key'), 'utf8');

        expect(() => generateDeviceKey(folder, 'edge-03')).toThrow(/already exists/);
        expect(readFileSync(join(folder, 'edge-03.key'), 'utf8')).toBe(before);
    });

    it('should reject a device id with a path separator', () => {
        expect(() => generateDeviceKey(folder, '../evil')).toThrow(ConfigError);
    });
});

describe('loadPrivateKey', () => {
    it('should name the path of a missing file', () => {
        const path = join(folder, 'absent.key');

        expect(() => loadPrivateKey(path)).toThrow(ConfigError);
        expect(() => loadPrivateKey(path)).toThrow(`${path} was not found`);
    });

    it('should reject a file that is not a key', () => {
        const path = join(folder, 'text.key');
        writeFileSync(path, 'not a key');

        expect(() => loadPrivateKey(path)).toThrow(/not a PEM private key/);
    });

    it('should reject an RSA key', () => {
        const path = join(folder, 'rsa.key');
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }));

        expect(() => loadPrivateKey(path)).toThrow(/rsa key, not Ed25519/);
    });

    it('should reject a private key as public key', () => {
        generateDeviceKey(folder, 'edge-04');

        expect(() => loadPublicKey(join(folder, 'edge-04.key'))).toThrow(/private key where a public key is expected/);
    });
});
