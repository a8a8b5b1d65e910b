import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { endpointSession, parseOpcUaEndpointConfig } from './endpoint-config';

let dataDir: string;

beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ul-opcua-endpoint-config-'));
    mkdirSync(join(dataDir, 'certs'));
    writeFileSync(join(dataDir, 'certs', 'client.pem'), '-----BEGIN CERTIFICATE-----\n');
    writeFileSync(join(dataDir, 'certs', 'client.key'), '-----BEGIN PRIVATE KEY-----\n');
});

afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
});

describe('parseOpcUaEndpointConfig', () => {
    it('should default to an anonymous session', () => {
        const settings = parseOpcUaEndpointConfig({ endpoint: ' opc.tcp://10.0.0.5:4840 ' }, {}, dataDir);

        expect(settings).toEqual({
            endpoint: 'opc.tcp://10.0.0.5:4840',
            securityMode: 'None',
            securityPolicy: 'None',
            pkiFolder: join(dataDir, 'opcua-pki'),
            acceptUnknownCertificate: false,
        });
    });

    it('should resolve files under data folder', () => {
        const settings = parseOpcUaEndpointConfig(
            {
                endpoint: 'opc.tcp://10.0.0.5:4840',
                securityMode: 'SignAndEncrypt',
                securityPolicy: 'Basic256Sha256',
                certificateFile: 'certs/client.pem',
                privateKeyFile: join(dataDir, 'certs', 'client.key'),
                trustListFolder: 'pki/pad-7',
                acceptUnknownCertificate: 'true',
                userName: 'edge',
            },
            { password: 's3cret' },
            dataDir,
        );

        expect(settings).toEqual({
            endpoint: 'opc.tcp://10.0.0.5:4840',
            securityMode: 'SignAndEncrypt',
            securityPolicy: 'Basic256Sha256',
            pkiFolder: join(dataDir, 'pki', 'pad-7'),
            acceptUnknownCertificate: true,
            certificateFile: join(dataDir, 'certs', 'client.pem'),
            privateKeyFile: join(dataDir, 'certs', 'client.key'),
            user: { userName: 'edge', password: 's3cret' },
        });
    });

    const invalid: [string, Record<string, unknown>, Record<string, unknown>, RegExp][] = [
        ['a missing endpoint', {}, {}, /endpoint "" is invalid/],
        ['a mode without a policy', { endpoint: 'opc.tcp://a:1', securityMode: 'Sign' }, {}, /does not go with policy None/],
        ['a certificate without key', { endpoint: 'opc.tcp://a:1', certificateFile: 'certs/client.pem' }, {}, /private key file is missing/],
        ['a key without certificate', { endpoint: 'opc.tcp://a:1', privateKeyFile: 'certs/client.key' }, {}, /certificate file is missing/],
        [
            'an unreadable certificate',
            { endpoint: 'opc.tcp://a:1', certificateFile: 'certs/absent.pem', privateKeyFile: 'certs/client.key' },
            {},
            /certificate file "certs\/absent.pem" cannot be read \(.*certs\/absent.pem: ENOENT\)/,
        ],
        [
            'an unreadable private key',
            { endpoint: 'opc.tcp://a:1', certificateFile: 'certs/client.pem', privateKeyFile: '/nowhere/client.key' },
            {},
            /private key file "\/nowhere\/client.key" cannot be read/,
        ],
        ['a user without password', { endpoint: 'opc.tcp://a:1', userName: 'edge' }, {}, /User edge has no password/],
        ['a password without user', { endpoint: 'opc.tcp://a:1' }, { password: 'x' }, /password is set but the user name is empty/],
        ['an unset password variable', { endpoint: 'opc.tcp://a:1', userName: 'edge' }, { password: '${UL_OPCUA_PASSWORD}' }, /password refers to the environment variable UL_OPCUA_PASSWORD, which is not set/],
        ['an unset user variable', { endpoint: 'opc.tcp://a:1', userName: '${UL_OPCUA_USER}' }, { password: 'x' }, /user name refers to the environment variable UL_OPCUA_USER/],
    ];
    for (const [name, config, credentials, message] of invalid) {
        it(`should reject ${name}`, () => {
            expect(() => parseOpcUaEndpointConfig(config, credentials, dataDir)).toThrow(ConfigError);
            expect(() => parseOpcUaEndpointConfig(config, credentials, dataDir)).toThrow(message);
        });
    }
});

describe('endpointSession', () => {
    it('should return the session of an endpoint', () => {
        const session = { endpoint: 'opc.tcp://a:1' };

        expect(endpointSession('pad-7', { type: 'ul-opcua-endpoint', session })).toBe(session);
    });

    it('should name a missing endpoint', () => {
        expect(() => endpointSession('pad-7', null)).toThrow(/OPC UA endpoint "pad-7" \(property endpoint\) was not found/);
    });

    it('should reject another node type', () => {
        expect(() => endpointSession('pad-7', { type: 'ul-bus' })).toThrow(/"pad-7" \(property endpoint\) was not found/);
    });

    it('should pass on the endpoint problem', () => {
        const found = { type: 'ul-opcua-endpoint', name: 'Pad 7', problem: 'The endpoint "" is invalid.' };

        expect(() => endpointSession('pad-7', found)).toThrow('The OPC UA endpoint Pad 7 (pad-7) is not configured: The endpoint "" is invalid.');
    });
});
