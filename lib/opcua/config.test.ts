import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { parseOpcUaReaderConfig, parseOwnReaderSettings, type OpcUaReaderConfig, type OpcUaReaderSettings } from './config';

const ITEMS = '[{ "nodeId": "ns=1;s=WellheadPressure", "tag": "WHP" }, { "nodeId": "ns=1;s=T-TPT" }]';

function ownSettings(config: OpcUaReaderConfig): OpcUaReaderSettings {
    if (config.mode !== 'own') throw new Error(`expected the reader's own settings, got mode ${config.mode}`);
    return config.settings;
}

describe('parseOpcUaReaderConfig', () => {
    it('should resolve PKI folder under data folder', () => {
        const config = parseOpcUaReaderConfig(
            { endpoint: ' opc.tcp://127.0.0.1:4840 ', securityMode: 'SignAndEncrypt', securityPolicy: 'Aes128_Sha256_RsaOaep', items: ITEMS, samplingInterval: '250', publishingInterval: 500 },
            '/var/lib/upstream-live',
        );

        expect(config).toEqual({
            mode: 'own',
            settings: {
                endpoint: 'opc.tcp://127.0.0.1:4840',
                securityMode: 'SignAndEncrypt',
                securityPolicy: 'Aes128_Sha256_RsaOaep',
                pkiFolder: join('/var/lib/upstream-live', 'opcua-pki'),
                acceptUnknownCertificate: false,
                items: [
                    { nodeId: 'ns=1;s=WellheadPressure', tag: 'WHP' },
                    { nodeId: 'ns=1;s=T-TPT', tag: 'ns=1;s=T-TPT' },
                ],
                samplingIntervalMs: 250,
                publishingIntervalMs: 500,
            },
        });
    });

    it('should keep an absolute PKI folder and default the intervals', () => {
        const settings = ownSettings(parseOpcUaReaderConfig({ endpoint: 'opc.tcp://plc:4840', items: ITEMS, pkiFolder: '/etc/ul/pki', acceptUnknownCertificate: true }, '/data'));

        expect(settings.pkiFolder).toBe('/etc/ul/pki');
        expect(settings.acceptUnknownCertificate).toBe(true);
        expect(settings.securityMode).toBe('None');
        expect(settings.samplingIntervalMs).toBe(1000);
        expect(settings.publishingIntervalMs).toBe(1000);
    });

    it('should select an endpoint config node by id', () => {
        const config = parseOpcUaReaderConfig({ endpoint: ' pad-7-endpoint ', endpointUrl: 'opc.tcp://ignored:4840', items: ITEMS, publishingInterval: '200' }, '/data');

        expect(config).toEqual({
            mode: 'endpoint',
            endpointId: 'pad-7-endpoint',
            subscription: {
                items: [
                    { nodeId: 'ns=1;s=WellheadPressure', tag: 'WHP' },
                    { nodeId: 'ns=1;s=T-TPT', tag: 'ns=1;s=T-TPT' },
                ],
                samplingIntervalMs: 1000,
                publishingIntervalMs: 200,
            },
        });
    });

    it('should read the URL field with no endpoint', () => {
        const settings = ownSettings(parseOpcUaReaderConfig({ endpoint: '', endpointUrl: 'opc.tcp://plc:4841', items: ITEMS }, '/data'));

        expect(settings.endpoint).toBe('opc.tcp://plc:4841');
        expect(settings.pkiFolder).toBe(join('/data', 'opcua-pki'));
    });

    it('should check the node list of an endpoint reader', () => {
        expect(() => parseOpcUaReaderConfig({ endpoint: 'pad-7-endpoint', items: '[]' }, '/data')).toThrow(/node list is empty/);
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
        ['a missing endpoint', { items: ITEMS }, /No OPC UA endpoint is selected \(property endpoint\)/],
        ['an empty server URL', { endpoint: '', endpointUrl: ' ', items: ITEMS }, /No OPC UA endpoint is selected/],
        ['an http endpoint', { endpoint: 'http://a:1', items: ITEMS }, /endpoint "http:\/\/a:1" is invalid/],
        ['an unknown mode', { endpoint: 'opc.tcp://a:1', securityMode: 'Encrypt', items: ITEMS }, /security mode "Encrypt" is unknown/],
        ['an unknown policy', { endpoint: 'opc.tcp://a:1', securityMode: 'Sign', securityPolicy: 'Basic128Rsa15', items: ITEMS }, /policy "Basic128Rsa15" is unknown/],
        ['a mode without a policy', { endpoint: 'opc.tcp://a:1', securityMode: 'Sign', items: ITEMS }, /does not go with policy None/],
        ['invalid JSON', { endpoint: 'opc.tcp://a:1', items: '[{' }, /not valid JSON/],
        ['a missing node id', { endpoint: 'opc.tcp://a:1', items: '[{"tag": "x"}]' }, /entry 1 has no nodeId/],
        ['a repeated tag', { endpoint: 'opc.tcp://a:1', items: '[{"nodeId": "i=2258", "tag": "x"}, {"nodeId": "i=2259", "tag": "x"}]' }, /tag x twice/],
        ['a negative interval', { endpoint: 'opc.tcp://a:1', items: ITEMS, samplingInterval: -5 }, /sampling interval "-5" is invalid/],
    ];
    for (const [name, config, message] of invalid) {
        it(`should reject ${name}`, () => {
            expect(() => parseOpcUaReaderConfig(config, '/data')).toThrow(ConfigError);
            expect(() => parseOpcUaReaderConfig(config, '/data')).toThrow(message);
        });
    }
});

describe('parseOwnReaderSettings', () => {
    it('should prefer a URL in endpoint', () => {
        const settings = parseOwnReaderSettings({ endpoint: 'opc.tcp://old:4840', endpointUrl: 'opc.tcp://new:4840', items: ITEMS }, '/data');

        expect(settings.endpoint).toBe('opc.tcp://old:4840');
    });
});
