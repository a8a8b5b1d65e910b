import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../../lib/paths';
import type { Reading, Rejection } from '../../lib/types';
import normalizeNode from './normalize';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

interface Received {
    topic?: string;
    payload: unknown;
    flagged?: { code: string; reason: string }[];
    [key: string]: unknown;
}

const demoAssets = (JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: { asset_id: string }[] }).assets;
let folder: string;

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'ul-normalize-'));
});

afterEach(async () => {
    await helper.unload();
    rmSync(folder, { recursive: true, force: true });
});

function flow(config: Record<string, unknown> = {}): Record<string, unknown>[] {
    return [
        { id: 'n1', type: 'ul-normalize', assetsFile: 'data/assets.json', maxFutureSeconds: 300, dedupSize: 1000, ...config, wires: [['clean'], ['rejected']] },
        { id: 'clean', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ];
}

/** Collects the next `count` messages that reach a helper node. */
function nextMessages(id: string, count: number): Promise<Received[]> {
    const received: Received[] = [];
    return new Promise((resolve) => {
        helper.getNode(id).on('input', (msg: Received) => {
            received.push(msg);
            if (received.length === count) resolve(received);
        });
    });
}

function reading(overrides: Partial<Record<keyof Reading, unknown>> = {}): Record<string, unknown> {
    return { asset_id: '3w-well-00001', metric: 'pressure_downhole', value: 1.843341e7, unit: 'Pa', ts: '2017-03-20T14:31:44Z', ...overrides };
}

describe('ul-normalize outputs', () => {
    it('should send one clean message', async () => {
        await helper.load(normalizeNode, flow());
        const clean = nextMessages('clean', 1);
        const rejected = nextMessages('rejected', 1);

        const bad = reading({ unit: 'degC' });
        helper.getNode('n1').receive({
            payload: [reading(), reading({ asset_id: 'volve-15-9-f-12', metric: 'oil_rate', value: 100, unit: 'Sm3/d' }), bad, reading({ metric: 'pressure_tpt' })],
        });
        const [msg] = await clean;
        const [rejection] = await rejected;

        // Two assets: msg.topic stays as it came in (here unset), and the readings keep their order.
        expect(msg.topic).toBeUndefined();
        expect((msg.payload as Reading[]).map((r) => [r.asset_id, r.metric, r.value, r.unit])).toEqual([
            ['3w-well-00001', 'pressure_downhole', 2673.54008505, 'psi'],
            ['volve-15-9-f-12', 'oil_rate', 628.981077043, 'bopd'],
            ['3w-well-00001', 'pressure_tpt', 2673.54008505, 'psi'],
        ]);
        expect((msg.payload as Reading[])[1]).toEqual(
            { asset_id: 'volve-15-9-f-12', metric: 'oil_rate', value: 628.981077043, unit: 'bopd', ts: '2017-03-20T14:31:44.000Z', quality_flag: 'GOOD' },
        );
        const rows = rejection.payload as Rejection[];
        expect(rows).toHaveLength(1);
        expect(rows[0].code).toBe('wrong_unit');
        expect(rows[0].field).toBe('unit');
        expect(rows[0].source).toBe('node:n1');
        expect(rows[0].payload).toEqual(bad);
    });

    it('should accept a single reading object', async () => {
        await helper.load(normalizeNode, flow());
        const clean = nextMessages('clean', 1);

        helper.getNode('n1').receive({ payload: reading({ metric: 'temp_tpt', value: 212, unit: 'degF' }) });
        const [msg] = await clean;

        expect(msg.topic).toBe('3w-well-00001');
        expect((msg.payload as Reading[])[0]).toMatchObject({ metric: 'temp_tpt', value: 100, unit: 'degC' });
    });

    it('should use msg.source and msg.ref in rejections', async () => {
        await helper.load(normalizeNode, flow());
        const rejected = nextMessages('rejected', 1);

        helper.getNode('n1').receive({ source: 'mqtt:ops/petrobras/3w-well-00001/readings', ref: 42, payload: [reading(), reading({ value: '12.3' })] });
        const [msg] = await rejected;
        const rows = msg.payload as Rejection[];

        expect(rows[0].source).toBe('mqtt:ops/petrobras/3w-well-00001/readings');
        expect(rows[0].ref).toBe('42#1');
        expect(rows[0].code).toBe('non_numeric_value');
        expect(rows[0].reason).toContain('"12.3"');
    });

    it('should send rejections only when there are some', async () => {
        await helper.load(normalizeNode, flow());
        const clean = nextMessages('clean', 1);
        const rejected = nextMessages('rejected', 1);
        const node = helper.getNode('n1');

        node.receive({ payload: [reading()] });
        await clean;
        node.receive({ payload: [reading({ asset_id: 'well-999' })] });
        const [msg] = await rejected;

        expect((msg.payload as Rejection[]).map((r) => r.code)).toEqual(['unknown_asset']);
    });

    it('should reject future timestamps', async () => {
        await helper.load(normalizeNode, flow({ maxFutureSeconds: 60 }));
        const rejected = nextMessages('rejected', 1);
        const ts = new Date(Date.now() + 3_600_000).toISOString();

        helper.getNode('n1').receive({ payload: [reading({ ts })] });
        const [msg] = await rejected;
        const row = (msg.payload as Rejection[])[0];

        expect(row.code).toBe('future_timestamp');
        expect(row.reason).toContain(ts);
        expect(row.reason).toContain('at most 60 s is accepted');
    });

    it('should drop duplicates across messages', async () => {
        await helper.load(normalizeNode, flow());
        const clean = nextMessages('clean', 2);
        const node = helper.getNode('n1');

        node.receive({ payload: [reading()] });
        node.receive({ payload: [reading(), reading({ ts: '2017-03-20T14:31:45Z' })] });
        const [, second] = await clean;

        expect((second.payload as Reading[]).map((r) => r.ts)).toEqual(['2017-03-20T14:31:45.000Z']);
    });

    it('should flag out-of-range readings', async () => {
        await helper.load(normalizeNode, flow());
        const clean = nextMessages('clean', 1);

        helper.getNode('n1').receive({ payload: [reading({ value: 35_000, unit: 'psi' })] });
        const [msg] = await clean;

        expect((msg.payload as Reading[])[0].quality_flag).toBe('BAD');
        expect(msg.flagged?.map((note) => note.code)).toEqual(['out_of_range']);
    });

    it('should accept any asset without an assets file', async () => {
        await helper.load(normalizeNode, flow({ assetsFile: '' }));
        const clean = nextMessages('clean', 1);

        helper.getNode('n1').receive({ payload: [reading({ asset_id: 'well-999' })] });
        const [msg] = await clean;

        expect(msg.topic).toBe('well-999');
    });

    it('should reject assets outside msg.device', async () => {
        await helper.load(normalizeNode, flow());
        const rejected = nextMessages('rejected', 1);

        helper.getNode('n1').receive({ device: { device_id: 'edge-1', operator: 'equinor' }, payload: [reading()] });
        const [msg] = await rejected;

        expect((msg.payload as Rejection[])[0].code).toBe('asset_not_allowed');
    });

    it('should fail a message with a malformed msg.device', async () => {
        await helper.load(normalizeNode, flow());
        const node = helper.getNode('n1');
        const failed = new Promise<unknown>((resolve) => {
            node.on('call:error', (call: { args: unknown[] }) => resolve(call.args[0]));
        });

        node.receive({ device: 'edge-1', payload: [reading()] });
        const error = await failed;

        expect(String(error)).toContain('bad-device');
    });
});

describe('ul-normalize asset registry', () => {
    it('should reload the assets file when it changes', async () => {
        const path = join(folder, 'assets.json');
        writeFileSync(path, JSON.stringify({ assets: [demoAssets[0]] }));
        await helper.load(normalizeNode, flow({ assetsFile: path }));
        const node = helper.getNode('n1');
        const reloaded = new Promise<void>((resolve) => {
            node.log = () => resolve();
        });
        const rejected = nextMessages('rejected', 1);
        const clean = nextMessages('clean', 1);

        node.receive({ payload: [reading({ asset_id: demoAssets[1].asset_id })] });
        const [before] = await rejected;
        writeFileSync(path, JSON.stringify({ assets: demoAssets.slice(0, 2) }));
        await reloaded;
        node.receive({ payload: [reading({ asset_id: demoAssets[1].asset_id })] });
        const [after] = await clean;

        expect((before.payload as Rejection[])[0].code).toBe('unknown_asset');
        expect(after.topic).toBe(demoAssets[1].asset_id);
    });

    it('should keep the previous registry when the new file is invalid', async () => {
        const path = join(folder, 'assets.json');
        writeFileSync(path, JSON.stringify({ assets: [demoAssets[0]] }));
        await helper.load(normalizeNode, flow({ assetsFile: path }));
        const node = helper.getNode('n1');
        const warned = new Promise<string>((resolve) => {
            node.warn = (text: string) => resolve(text);
        });
        const clean = nextMessages('clean', 1);

        writeFileSync(path, '{ "assets": [ ');
        await warned;
        node.receive({ payload: [reading()] });
        const [msg] = await clean;

        expect(msg.topic).toBe(demoAssets[0].asset_id);
    });
});

describe('ul-normalize configuration', () => {
    it.each([
        ['negative max future', { maxFutureSeconds: '-1' }],
        ['fractional dedup size', { dedupSize: '2.5' }],
        ['missing assets file', { assetsFile: 'no/such/assets.json' }],
    ])('should report a %s once at deploy', async (_name, config) => {
        await helper.load(normalizeNode, flow(config));
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
        expect(helper.getNode('n1')._inputCallback).toBeNull();
    });
});
