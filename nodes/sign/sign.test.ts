import { verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { signingInput } from '../../lib/signing/envelope';
import { generateDeviceKey, loadPublicKey } from '../../lib/signing/keys';
import type { Reading, SignedEnvelope } from '../../lib/types';
import signNode from './sign';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const dataDir = mkdtempSync(join(tmpdir(), 'ul-sign-node-'));
generateDeviceKey(join(dataDir, 'keys'), 'edge-01');

beforeAll(() => {
    helper.init(require.resolve('node-red'), { upstreamLive: { dataDir } });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const readings: Reading[] = [
    { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 1.335972e7, unit: 'Pa', ts: '2017-10-31T19:30:25.000Z', quality_flag: 'GOOD' },
    { asset_id: '3w-well-00004', metric: 'temp_tpt', value: 106.8783, unit: 'degC', ts: '2017-10-31T19:30:25.000Z', quality_flag: 'GOOD' },
];

function flow(keyFile: string, batch: { batchMs?: unknown; batchMax?: unknown } = {}) {
    return [
        { id: 'sign-1', type: 'ul-sign', deviceId: 'edge-01', certId: 'edge-01-2024', operator: 'petrobras', keyFile, ...batch, wires: [['signed']] },
        { id: 'signed', type: 'helper' },
    ];
}

function signOnce(payload: unknown): Promise<Record<string, unknown>> {
    const received = new Promise<Record<string, unknown>>((resolve) => helper.getNode('signed').once('input', resolve));
    helper.getNode('sign-1').receive({ payload });
    return received;
}

function errorLogs(): { msg: unknown }[] {
    return helper
        .log()
        .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
        .filter((entry: { level: number }) => entry.level === 20);
}

describe('ul-sign', () => {
    it('should emit a signed envelope on the readings topic', async () => {
        await helper.load(signNode, flow('keys/edge-01.key'));
        const msg = await signOnce(readings);
        const envelope = msg.payload as SignedEnvelope;

        expect(msg.topic).toBe('ops/petrobras/3w-well-00004/readings');
        expect(envelope).toEqual({ v: 1, device_id: 'edge-01', cert_id: 'edge-01-2024', seq: 1, operator: 'petrobras', readings, sig: expect.any(String) });
        expect(verify(null, signingInput(envelope), loadPublicKey(join(dataDir, 'keys/edge-01.pub')), Buffer.from(envelope.sig, 'base64'))).toBe(true);
    });

    it('should continue the sequence after a restart', async () => {
        generateDeviceKey(join(dataDir, 'keys'), 'edge-seq');
        const keyFile = join(dataDir, 'keys/edge-seq.key');
        await helper.load(signNode, flow(keyFile));
        const first = [];
        for (let index = 0; index < 3; index++) first.push(((await signOnce(readings)).payload as SignedEnvelope).seq);
        await helper.unload();

        expect(first).toEqual([1, 2, 3]);
        expect(readFileSync(`${keyFile}.seq`, 'utf8')).toBe('1000\n');

        await helper.load(signNode, flow(keyFile));
        const afterRestart = ((await signOnce(readings)).payload as SignedEnvelope).seq;

        expect(afterRestart).toBe(1001);
        expect(readFileSync(`${keyFile}.seq`, 'utf8')).toBe('2000\n');
    });

    it('should sign readings of two assets as one batch on the device topic', async () => {
        await helper.load(signNode, flow('keys/edge-01.key'));
        const msg = await signOnce([readings[0], { ...readings[1], asset_id: '3w-well-00003' }]);
        const envelope = msg.payload as SignedEnvelope;

        expect(msg.topic).toBe('ops/petrobras/edge-01/readings');
        expect(envelope.readings.map((reading) => reading.asset_id)).toEqual(['3w-well-00004', '3w-well-00003']);
    });

    it('should fail a payload that is not a readings array', async () => {
        await helper.load(signNode, flow('keys/edge-01.key'));
        helper.getNode('sign-1').receive({ payload: { value: 1 } });
        await new Promise((resolve) => setImmediate(resolve));

        const errors = errorLogs();
        expect(errors.length).toBe(1);
        expect(String(errors[0].msg)).toContain('send a non-empty array of readings');
    });

    it('should report a missing key file with its path at deploy', async () => {
        await helper.load(signNode, flow('keys/absent.key'));
        const errors = errorLogs();

        expect(errors.length).toBe(1);
        expect(String(errors[0].msg)).toContain(`${join(dataDir, 'keys/absent.key')} was not found`);
        expect(String(errors[0].msg)).toContain('openssl genpkey -algorithm ed25519');
    });

    describe('with a batch window', () => {
        function wellReadings(assetId: string): Reading[] {
            return readings.map((reading) => ({ ...reading, asset_id: assetId }));
        }

        it('should sign one window in one envelope', async () => {
            await helper.load(signNode, flow('keys/edge-01.key', { batchMs: 50, batchMax: 1000 }));
            const signed: Record<string, unknown>[] = [];
            helper.getNode('signed').on('input', (msg: Record<string, unknown>) => signed.push(msg));
            const node = helper.getNode('sign-1');
            for (const well of ['3w-well-00001', '3w-well-00002', '3w-well-00003']) node.receive({ payload: wellReadings(well) });
            await new Promise((resolve) => setTimeout(resolve, 10));
            expect(signed).toEqual([]);

            await new Promise((resolve) => setTimeout(resolve, 100));
            expect(signed.length).toBe(1);
            const envelope = signed[0].payload as SignedEnvelope;
            expect(signed[0].topic).toBe('ops/petrobras/edge-01/readings');
            expect(envelope.readings.map((reading) => reading.asset_id)).toEqual([
                '3w-well-00001', '3w-well-00001', '3w-well-00002', '3w-well-00002', '3w-well-00003', '3w-well-00003',
            ]);
            const key = loadPublicKey(join(dataDir, 'keys/edge-01.pub'));
            expect(verify(null, signingInput(envelope), key, Buffer.from(envelope.sig, 'base64'))).toBe(true);
        });

        it('should close a batch at the most readings without waiting for the window', async () => {
            await helper.load(signNode, flow('keys/edge-01.key', { batchMs: 60_000, batchMax: 4 }));
            const signed: Record<string, unknown>[] = [];
            helper.getNode('signed').on('input', (msg: Record<string, unknown>) => signed.push(msg));
            const node = helper.getNode('sign-1');
            for (const well of ['3w-well-00001', '3w-well-00002', '3w-well-00003']) node.receive({ payload: wellReadings(well) });
            await new Promise((resolve) => setTimeout(resolve, 20));

            expect(signed.map((msg) => (msg.payload as SignedEnvelope).readings.length)).toEqual([4]);
            expect(signed.map((msg) => msg.topic)).toEqual(['ops/petrobras/edge-01/readings']);
        });

        it('should sign a batch of one asset on the asset topic', async () => {
            await helper.load(signNode, flow('keys/edge-01.key', { batchMs: 20 }));
            const msg = await signOnce(wellReadings('3w-well-00004'));

            expect(msg.topic).toBe('ops/petrobras/3w-well-00004/readings');
        });

        it('should fail only the bad message of a batch', async () => {
            await helper.load(signNode, flow('keys/edge-01.key', { batchMs: 30 }));
            const node = helper.getNode('sign-1');
            const received = new Promise<Record<string, unknown>>((resolve) => helper.getNode('signed').once('input', resolve));
            node.receive({ payload: wellReadings('3w-well-00001') });
            node.receive({ payload: [{ ...readings[0], value: 'high' }] });
            node.receive({ payload: wellReadings('3w-well-00002') });
            const msg = await received;

            expect((msg.payload as SignedEnvelope).readings.map((reading) => reading.asset_id)).toEqual(['3w-well-00001', '3w-well-00001', '3w-well-00002', '3w-well-00002']);
            const errors = errorLogs();
            expect(errors.length).toBe(1);
            expect(String(errors[0].msg)).toContain('readings[0].value is "high"');
        });

        it('should sign and pass on readings still waiting when the node stops', async () => {
            await helper.load(signNode, flow('keys/edge-01.key', { batchMs: 60_000 }));
            const node = helper.getNode('sign-1');
            const sent = vi.spyOn(node, 'send');
            node.receive({ payload: wellReadings('3w-well-00001') });
            await new Promise((resolve) => setTimeout(resolve, 10));
            expect(sent).not.toHaveBeenCalled();

            await helper.unload();

            expect(sent).toHaveBeenCalledTimes(1);
            const msg = sent.mock.calls[0][0] as { payload: SignedEnvelope; topic: string };
            expect(msg.payload.readings.length).toBe(2);
            expect(msg.topic).toBe('ops/petrobras/3w-well-00001/readings');
        });

        it('should report a batch window that is not a whole number at deploy', async () => {
            await helper.load(signNode, flow('keys/edge-01.key', { batchMs: 'soon' }));
            const errors = errorLogs();

            expect(errors.length).toBe(1);
            expect(String(errors[0].msg)).toBe('The batch window (ms) is "soon"; enter a whole number from 0 to 60000.');
        });
    });
});
