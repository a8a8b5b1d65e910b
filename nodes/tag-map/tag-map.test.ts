import { createRequire } from 'node:module';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Reading, Rejection } from '../../lib/types';
import replayNode from '../replay/replay';
import tagMapNode from './tag-map';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

const mapNode = { id: 'map-1', type: 'ul-tag-map', assetId: '3w-well-00004', operator: 'petrobras', preset: '3w', map: '[]', ignore: 'class', wires: [['readings'], ['rejected']] };
const sinks = [
    { id: 'readings', type: 'helper' },
    { id: 'rejected', type: 'helper' },
];

function nextMessage(id: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

function logsAt(level: number): { msg: unknown }[] {
    return helper
        .log()
        .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
        .filter((entry: { level: number }) => entry.level === level);
}

describe('ul-tag-map with replay', () => {
    it('should map a replayed 3W row to readings of one asset', async () => {
        await helper.load([replayNode, tagMapNode], [
            { id: 'replay-1', type: 'ul-replay', file: 'petrobras-3w/6/WELL-00004_20171031193025.csv', speed: '1e9', timestamps: 'original', autostart: true, loop: false, startRow: '1', endRow: '1', wires: [['map-1'], [], []] },
            mapNode,
            ...sinks,
        ]);
        const msg = await nextMessage('readings');

        expect(msg.topic).toBe('3w-well-00004');
        expect(msg.operator).toBe('petrobras');
        const ts = '2017-10-31T19:30:25.000Z';
        expect(msg.payload as Reading[]).toEqual([
            { asset_id: '3w-well-00004', metric: 'pressure_downhole', value: 0, unit: 'Pa', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 1.335972e7, unit: 'Pa', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'temp_tpt', value: 106.8783, unit: 'degC', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'pressure_upstream_choke', value: 5.757488e6, unit: 'Pa', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'temp_downstream_choke', value: 72.78588, unit: 'degC', ts, quality_flag: 'GOOD' },
        ]);
    });
});

describe('ul-tag-map points', () => {
    it('should map a point named by its topic', async () => {
        await helper.load(tagMapNode, [{ ...mapNode, preset: 'none', map: JSON.stringify([{ tag: 'HR1', metric: 'oil_rate', unit: 'bopd' }]) }, ...sinks]);
        const received = nextMessage('readings');
        helper.getNode('map-1').receive({ topic: 'HR1', payload: { value: 950, ts: '2024-05-01T00:00:00Z' } });
        const msg = await received;

        expect(msg.payload).toEqual([{ asset_id: '3w-well-00004', metric: 'oil_rate', value: 950, unit: 'bopd', ts: '2024-05-01T00:00:00.000Z', quality_flag: 'GOOD' }]);
    });

    it('should reject unmapped tags and warn once per tag', async () => {
        await helper.load(tagMapNode, [mapNode, ...sinks]);
        const node = helper.getNode('map-1');
        const rejections: Rejection[][] = [];
        helper.getNode('rejected').on('input', (msg: { payload: Rejection[] }) => rejections.push(msg.payload));
        const second = new Promise<void>((resolve) => {
            helper.getNode('rejected').on('input', () => {
                if (rejections.length === 2) resolve();
            });
        });
        node.receive({ topic: 'file.csv', payload: { ts: '2024-05-01T00:00:00Z', values: { 'P-TPT': 1, XYZ: 5 } } });
        node.receive({ topic: 'file.csv', payload: { ts: '2024-05-01T00:00:01Z', values: { 'P-TPT': 2, XYZ: 6 } } });
        await second;

        expect(rejections.map((list) => list.map((rejection) => [rejection.code, rejection.field, rejection.value, rejection.source]))).toEqual([
            [['unmapped_tag', 'XYZ', 5, 'tag-map:file.csv']],
            [['unmapped_tag', 'XYZ', 6, 'tag-map:file.csv']],
        ]);
        const warnings = logsAt(30).filter((entry) => String(entry.msg).includes('unmapped-tag'));
        expect(warnings.length).toBe(1);
    });
});

describe('ul-tag-map configuration', () => {
    it('should report an unknown metric once at deploy', async () => {
        await helper.load(tagMapNode, [{ ...mapNode, map: JSON.stringify([{ tag: 'A', metric: 'flow', unit: 'x' }]) }, ...sinks]);
        const errors = logsAt(20);

        expect(errors.length).toBe(1);
        expect(String(errors[0].msg)).toContain('unknown metric "flow"');
    });
});
