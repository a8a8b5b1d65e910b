import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { metricValue } from '../../lib/observability/counters';
import { signEnvelope } from '../../lib/signing/envelope';
import { generateDeviceKey, loadPrivateKey } from '../../lib/signing/keys';
import type { Reading, Rejection, SignedEnvelope } from '../../lib/types';
import replayNode from '../replay/replay';
import signNode from '../sign/sign';
import tagMapNode from '../tag-map/tag-map';
import verifyNode from './verify';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const dataDir = mkdtempSync(join(tmpdir(), 'ul-verify-node-'));
const keys = join(dataDir, 'keys');
const devicePublicKey = generateDeviceKey(keys, 'edge-01');
const otherPublicKey = generateDeviceKey(keys, 'edge-02');
writeFileSync(
    join(dataDir, 'devices.json'),
    JSON.stringify([
        { device_id: 'edge-01', cert_id: 'edge-01-2024', operator: 'petrobras', public_key: devicePublicKey, assets: ['3w-well-00004', '3w-well-00001'] },
        { device_id: 'edge-02', cert_id: 'edge-02-2024', operator: 'equinor', public_key: otherPublicKey },
    ]),
);
const TOPIC = 'ops/petrobras/3w-well-00004/readings';

beforeAll(() => {
    helper.init(require.resolve('node-red'), { upstreamLive: { dataDir } });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const verifyFlow = [
    { id: 'verify-1', type: 'ul-verify', registryFile: 'devices.json', wires: [['accepted'], ['rejected']] },
    { id: 'accepted', type: 'helper' },
    { id: 'rejected', type: 'helper' },
];

function envelopeCount(result: string): number {
    return metricValue('ul_envelopes_total', { result }) ?? 0;
}

function nextMessage(id: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

function reading(overrides: Partial<Reading> = {}): Reading {
    return { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 1.335972e7, unit: 'Pa', ts: '2017-10-31T19:30:25.000Z', quality_flag: 'GOOD', ...overrides };
}

function envelope(seq: number, overrides: Partial<SignedEnvelope> = {}, keyName = 'edge-01'): SignedEnvelope {
    return signEnvelope({ v: 1, device_id: 'edge-01', cert_id: 'edge-01-2024', seq, operator: 'petrobras', readings: [reading()], ...overrides }, loadPrivateKey(join(keys, `${keyName}.key`)));
}

/** Sends one MQTT-like message and returns the rejection, failing when the envelope is accepted. */
async function rejectionFor(payload: unknown, topic = TOPIC): Promise<Rejection> {
    const accepted = nextMessage('accepted').then(() => {
        throw new Error('the envelope was accepted');
    });
    const rejected = nextMessage('rejected');
    helper.getNode('verify-1').receive({ payload, topic });
    const msg = await Promise.race([accepted, rejected]);
    const list = msg.payload as Rejection[];
    expect(list.length).toBe(1);
    return list[0];
}

describe('ul-sign to ul-verify', () => {
    it('should carry replayed 3W readings through signing and verification', async () => {
        await helper.load([replayNode, tagMapNode, signNode, verifyNode], [
            { id: 'replay-1', type: 'ul-replay', file: 'petrobras-3w/6/WELL-00004_20171031193025.csv', speed: '1e9', timestamps: 'shift-to-now', autostart: false, loop: false, startRow: '1', endRow: '5', wires: [['map-1'], ['end'], []] },
            { id: 'map-1', type: 'ul-tag-map', assetId: '3w-well-00004', operator: 'petrobras', preset: '3w', map: '[]', ignore: 'class', wires: [['sign-1', 'mapped'], []] },
            { id: 'sign-1', type: 'ul-sign', deviceId: 'edge-01', certId: 'edge-01-2024', operator: 'petrobras', keyFile: 'keys/edge-01.key', wires: [['verify-1']] },
            ...verifyFlow,
            { id: 'mapped', type: 'helper' },
            { id: 'end', type: 'helper' },
        ]);
        const mapped: Reading[][] = [];
        const accepted: Record<string, unknown>[] = [];
        const rejected: unknown[] = [];
        helper.getNode('mapped').on('input', (msg: { payload: Reading[] }) => mapped.push(msg.payload));
        helper.getNode('rejected').on('input', (msg: unknown) => rejected.push(msg));
        const done = new Promise<void>((resolve) => {
            helper.getNode('accepted').on('input', (msg: Record<string, unknown>) => {
                accepted.push(msg);
                if (accepted.length === 5) resolve();
            });
        });
        helper.getNode('replay-1').receive({ payload: 'start' });
        await done;

        expect(rejected).toEqual([]);
        expect(accepted.map((msg) => msg.seq)).toEqual([1, 2, 3, 4, 5]);
        expect(accepted.map((msg) => msg.device_id)).toEqual(Array(5).fill('edge-01'));
        expect(accepted.map((msg) => msg.topic)).toEqual(Array(5).fill('3w-well-00004'));
        expect(accepted[0].device).toEqual({ device_id: 'edge-01', operator: 'petrobras' });
        expect(accepted[0].operator).toBe('petrobras');
        expect(accepted.map((msg) => msg.payload)).toEqual(mapped);
        expect((accepted[0].payload as Reading[]).map((item) => item.metric)).toEqual(['pressure_downhole', 'pressure_tpt', 'temp_tpt', 'pressure_upstream_choke', 'temp_downstream_choke']);
    });

    it('should pass a batch as one message', async () => {
        const replay = (id: string, file: string, map: string) => ({
            id, type: 'ul-replay', file, speed: '1e9', timestamps: 'shift-to-now', autostart: false, loop: false, startRow: '1', endRow: '3', wires: [[map], [], []],
        });
        const tagMap = (id: string, assetId: string) => ({ id, type: 'ul-tag-map', assetId, operator: 'petrobras', preset: '3w', map: '[]', ignore: 'class', wires: [['sign-1'], []] });
        await helper.load([replayNode, tagMapNode, signNode, verifyNode], [
            replay('replay-a', 'petrobras-3w/6/WELL-00004_20171031193025.csv', 'map-a'),
            replay('replay-b', 'petrobras-3w/0/WELL-00001_20170201020207.csv', 'map-b'),
            tagMap('map-a', '3w-well-00004'),
            tagMap('map-b', '3w-well-00001'),
            { id: 'sign-1', type: 'ul-sign', deviceId: 'edge-01', certId: 'edge-01-2024', operator: 'petrobras', keyFile: 'keys/edge-01.key', batchMs: 200, wires: [['verify-1', 'signed']] },
            ...verifyFlow,
            { id: 'signed', type: 'helper' },
        ]);
        const signed: Record<string, unknown>[] = [];
        const accepted: Record<string, unknown>[] = [];
        helper.getNode('signed').on('input', (msg: Record<string, unknown>) => signed.push(msg));
        helper.getNode('accepted').on('input', (msg: Record<string, unknown>) => accepted.push(msg));
        helper.getNode('replay-a').receive({ payload: 'start' });
        helper.getNode('replay-b').receive({ payload: 'start' });
        await new Promise((resolve) => setTimeout(resolve, 600));

        expect(signed.map((msg) => msg.topic)).toEqual(['ops/petrobras/edge-01/readings']);
        const batch = signed[0].payload as SignedEnvelope;
        expect(new Set(batch.readings.map((item) => item.asset_id))).toEqual(new Set(['3w-well-00004', '3w-well-00001']));
        expect(accepted.map((msg) => msg.topic)).toEqual(['ops/petrobras/edge-01/readings']);
        expect(accepted[0].seq).toBe(batch.seq);
        expect(accepted[0].device).toEqual({ device_id: 'edge-01', operator: 'petrobras' });
        // The readings keep the envelope's order.
        expect(accepted[0].payload as Reading[]).toEqual(batch.readings);
    });

    it('should accept an envelope delivered as a Buffer', async () => {
        await helper.load(verifyNode, verifyFlow);
        const accepted = nextMessage('accepted');
        helper.getNode('verify-1').receive({ payload: Buffer.from(JSON.stringify(envelope(1))), topic: TOPIC });
        const msg = await accepted;

        expect(msg.payload).toEqual([reading()]);
        expect(msg.topic).toBe('3w-well-00004');
        expect(msg.seq).toBe(1);
    });
});

describe('ul-verify rejections', () => {
    it('should reject malformed JSON', async () => {
        await helper.load(verifyNode, verifyFlow);
        const rejection = await rejectionFor('{"v":1');

        expect(rejection.code).toBe('malformed_json');
        expect(rejection.source).toBe(`mqtt:${TOPIC}`);
    });

    it('should reject arrays nested 10,000 deep', async () => {
        await helper.load(verifyNode, verifyFlow);
        const text = '['.repeat(10_000) + ']'.repeat(10_000);
        const rejection = await rejectionFor(text);

        expect(rejection.code).toBe('invalid_envelope');
        expect(rejection.payload).toBe(text);
    });

    it('should quarantine a message whose check throws', async () => {
        await helper.load(verifyNode, verifyFlow);
        const hostile = {
            get v(): number {
                throw new Error('getter failed');
            },
        };
        const rejection = await rejectionFor(hostile);

        expect(rejection.code).toBe('verify_failed');
        expect(rejection.reason).toContain('getter failed');
    });

    it('should reject an envelope without signature', async () => {
        await helper.load(verifyNode, verifyFlow);
        const { sig: _sig, ...unsigned } = envelope(1);
        const rejection = await rejectionFor(JSON.stringify(unsigned));

        expect(rejection.code).toBe('invalid_envelope');
        expect(rejection.field).toBe('sig');
    });

    it('should reject an unknown device', async () => {
        await helper.load(verifyNode, verifyFlow);
        const rejection = await rejectionFor(JSON.stringify({ ...envelope(1), device_id: 'edge-77' }));

        expect(rejection.code).toBe('unknown_device');
        expect(rejection.value).toBe('edge-77');
    });

    it('should reject another certificate id', async () => {
        await helper.load(verifyNode, verifyFlow);
        const rejection = await rejectionFor(JSON.stringify(envelope(1, { cert_id: 'edge-01-2023' })));

        expect(rejection.code).toBe('cert_mismatch');
    });

    it('should reject another operator', async () => {
        await helper.load(verifyNode, verifyFlow);
        const rejection = await rejectionFor(JSON.stringify(envelope(1, { operator: 'equinor' })), 'ops/equinor/3w-well-00004/readings');

        expect(rejection.code).toBe('operator_mismatch');
    });

    it('should reject a value changed after signing', async () => {
        await helper.load(verifyNode, verifyFlow);
        const tampered = envelope(1);
        tampered.readings[0].value = 1.4e7;
        const rejection = await rejectionFor(JSON.stringify(tampered));

        expect(rejection.code).toBe('bad_signature');
        expect(rejection.ref).toBe('1');
    });

    it('should reject an envelope signed with another device key', async () => {
        await helper.load(verifyNode, verifyFlow);
        const rejection = await rejectionFor(JSON.stringify(envelope(1, {}, 'edge-02')));

        expect(rejection.code).toBe('bad_signature');
    });

    it('should reject an asset outside the device list', async () => {
        await helper.load(verifyNode, verifyFlow);
        const signed = envelope(1, { readings: [reading({ asset_id: '3w-well-00003' })] });
        const rejection = await rejectionFor(JSON.stringify(signed), 'ops/petrobras/3w-well-00003/readings');

        expect(rejection.code).toBe('asset_not_allowed');
        expect(rejection.value).toBe('3w-well-00003');
    });

    it('should reject a topic of another asset', async () => {
        await helper.load(verifyNode, verifyFlow);
        const rejection = await rejectionFor(JSON.stringify(envelope(1)), 'ops/petrobras/3w-well-00005/readings');

        expect(rejection.code).toBe('topic_mismatch');
        expect(rejection.source).toBe('mqtt:ops/petrobras/3w-well-00005/readings');
    });

    it('should reject a topic of another operator', async () => {
        await helper.load(verifyNode, verifyFlow);
        const rejection = await rejectionFor(JSON.stringify(envelope(1)), 'ops/equinor/3w-well-00004/readings');

        expect(rejection.code).toBe('topic_mismatch');
    });

    it('should reject a reused sequence number', async () => {
        await helper.load(verifyNode, verifyFlow);
        const accepted = nextMessage('accepted');
        helper.getNode('verify-1').receive({ payload: JSON.stringify(envelope(3)), topic: TOPIC });
        await accepted;
        const rejection = await rejectionFor(JSON.stringify(envelope(3, { readings: [reading({ value: 1 })] })));

        expect(rejection.code).toBe('replayed_sequence');
        expect(rejection.value).toBe(3);
    });

    it('should drop a redelivered envelope without a rejection', async () => {
        await helper.load(verifyNode, verifyFlow);
        const line = JSON.stringify(envelope(4));
        const accepted = nextMessage('accepted');
        helper.getNode('verify-1').receive({ payload: line, topic: TOPIC });
        await accepted;
        const outputs: string[] = [];
        helper.getNode('accepted').on('input', () => outputs.push('accepted'));
        helper.getNode('rejected').on('input', () => outputs.push('rejected'));
        const before = envelopeCount('redelivered');

        await new Promise<void>((resolve) => {
            helper.getNode('verify-1').receive({ payload: line, topic: TOPIC });
            setTimeout(resolve, 100);
        });

        expect(outputs).toEqual([]);
        expect(envelopeCount('redelivered')).toBe(before + 1);
    });
});

describe('ul-verify configuration', () => {
    it('should report a missing registry file at deploy', async () => {
        await helper.load(verifyNode, [{ ...verifyFlow[0], registryFile: 'absent.json' }, ...verifyFlow.slice(1)]);
        const errors = helper
            .log()
            .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
            .filter((entry: { level: number }) => entry.level === 20);

        expect(errors.length).toBe(1);
        expect(String(errors[0].msg)).toContain(`${join(dataDir, 'absent.json')} was not found`);
    });
});
