import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { DeviceRegistry, parseDeviceRecords, type DeviceRecord } from './registry';

const folder = mkdtempSync(join(tmpdir(), 'ul-registry-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function publicPem(): string {
    return generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
}

function device(id: string, extra: Partial<DeviceRecord> = {}): DeviceRecord {
    return { device_id: id, cert_id: `${id}-cert`, operator: 'petrobras', public_key: publicPem(), ...extra };
}

/** Writes the file and moves its modification time, so a rewrite within one clock tick is still seen. */
function writeRegistry(path: string, records: unknown, mtimeSeconds: number): void {
    writeFileSync(path, typeof records === 'string' ? records : JSON.stringify(records));
    utimesSync(path, mtimeSeconds, mtimeSeconds);
}

describe('DeviceRegistry', () => {
    it('should load devices with parsed keys', () => {
        const path = join(folder, 'devices.json');
        writeRegistry(path, [device('edge-01', { assets: ['3w-well-00004'] }), device('edge-02')], 1000);
        const registry = new DeviceRegistry(path);

        expect(registry.size).toBe(2);
        expect(registry.get('edge-01')?.assets).toEqual(['3w-well-00004']);
        expect(registry.get('edge-01')?.key.asymmetricKeyType).toBe('ed25519');
        expect(registry.get('edge-02')?.assets).toBeUndefined();
        expect(registry.get('edge-09')).toBeUndefined();
    });

    it('should read the file again after it changes', () => {
        const path = join(folder, 'changing.json');
        writeRegistry(path, [device('edge-01')], 1000);
        const registry = new DeviceRegistry(path, { recheckMs: 0 });

        expect(registry.get('edge-02')).toBeUndefined();

        writeRegistry(path, [device('edge-01'), device('edge-02')], 2000);

        expect(registry.get('edge-02')?.cert_id).toBe('edge-02-cert');
    });

    it('should keep the previous devices when a change is invalid', () => {
        const path = join(folder, 'broken.json');
        writeRegistry(path, [device('edge-01')], 1000);
        const errors: Error[] = [];
        const registry = new DeviceRegistry(path, { recheckMs: 0, onReloadError: (err) => errors.push(err) });
        writeRegistry(path, '[{"device_id":', 2000);

        expect(registry.get('edge-01')?.device_id).toBe('edge-01');
        expect(registry.get('edge-01')?.device_id).toBe('edge-01');
        expect(errors.length).toBe(1);
        expect(errors[0].message).toContain('is not valid JSON');
        expect(registry.lastReloadError).toBe(errors[0]);

        writeRegistry(path, [device('edge-03')], 3000);

        expect(registry.get('edge-01')).toBeUndefined();
        expect(registry.get('edge-03')?.device_id).toBe('edge-03');
        expect(registry.lastReloadError).toBeUndefined();
    });

    it('should not look at the file again within the recheck interval', () => {
        const path = join(folder, 'cached.json');
        writeRegistry(path, [device('edge-01')], 1000);
        const registry = new DeviceRegistry(path, { recheckMs: 60_000 });
        writeRegistry(path, [device('edge-02')], 2000);

        expect(registry.get('edge-01')?.device_id).toBe('edge-01');
    });

    it('should name the path of a missing file', () => {
        const path = join(folder, 'absent.json');

        expect(() => new DeviceRegistry(path)).toThrow(ConfigError);
        expect(() => new DeviceRegistry(path)).toThrow(`${path} was not found`);
    });
});

describe('parseDeviceRecords', () => {
    const invalid: [string, unknown, RegExp][] = [
        ['an object', { devices: [] }, /is not a JSON array/],
        ['a missing cert_id', [{ device_id: 'a', operator: 'o', public_key: 'x' }], /entry 1 has no cert_id/],
        ['an invalid key', [{ device_id: 'a', cert_id: 'c', operator: 'o', public_key: 'x' }], /device a\) public_key is not a PEM public key/],
        ['a duplicate device', [device('a'), device('a')], /lists device a twice/],
        ['invalid assets', [device('a', { assets: 'well' as unknown as string[] })], /invalid assets/],
    ];
    for (const [name, records, message] of invalid) {
        it(`should reject ${name}`, () => {
            expect(() => parseDeviceRecords(records, 'Registry')).toThrow(message);
        });
    }
});
