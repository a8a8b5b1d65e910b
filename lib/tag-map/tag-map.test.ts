import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { METRICS } from '../metrics';
import { DATA_DIR } from '../paths';
import { readReplayFile, type ReplayRow } from '../replay/reader';
import { parseQuality, parseTagMapConfig, TAG_MAP_PRESETS, TagMapper } from './tag-map';

const NOW = new Date('2024-05-01T12:00:00.000Z');

async function firstRow(file: string): Promise<ReplayRow> {
    for await (const line of readReplayFile(join(DATA_DIR, file), { endRow: 1 })) {
        if (line.ok) return line.row;
    }
    throw new Error(`no valid first row in ${file}`);
}

describe('3w preset', () => {
    it('should name only catalogue metrics', () => {
        for (const mapping of TAG_MAP_PRESETS['3w']) expect(METRICS.has(mapping.metric)).toBe(true);
    });

    it('should map a real 3W row to readings', async () => {
        const row = await firstRow('petrobras-3w/6/WELL-00004_20171031193025.csv');
        const mapper = new TagMapper(parseTagMapConfig({ assetId: '3w-well-00004', operator: 'petrobras', preset: '3w' }));
        const result = mapper.map({ payload: { ts: '2024-05-01T11:59:00.000Z', values: row.values, label: row.label, row: row.row } }, 'tag-map:test', NOW);

        expect(result.rejections).toEqual([]);
        expect([...result.readings.keys()]).toEqual(['3w-well-00004']);
        const ts = '2024-05-01T11:59:00.000Z';
        expect(result.readings.get('3w-well-00004')).toEqual([
            { asset_id: '3w-well-00004', metric: 'pressure_downhole', value: 0, unit: 'Pa', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 1.335972e7, unit: 'Pa', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'temp_tpt', value: 106.8783, unit: 'degC', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'pressure_upstream_choke', value: 5.757488e6, unit: 'Pa', ts, quality_flag: 'GOOD' },
            { asset_id: '3w-well-00004', metric: 'temp_downstream_choke', value: 72.78588, unit: 'degC', ts, quality_flag: 'GOOD' },
        ]);
    });

    it('should map the gas-lift columns of a CRLF file', async () => {
        const row = await firstRow('petrobras-3w/2/WELL-00003_20180206182917.csv');
        const mapper = new TagMapper(parseTagMapConfig({ assetId: '3w-well-00003', operator: 'petrobras', preset: '3w' }));
        const result = mapper.map({ payload: { ts: row.source_ts, values: { ...row.values, QGL: 0.5 } } }, 'tag-map:test', NOW);
        const readings = result.readings.get('3w-well-00003') ?? [];

        expect(readings.map((reading) => reading.metric)).toEqual(['pressure_downhole', 'pressure_tpt', 'temp_tpt', 'pressure_upstream_choke', 'gas_lift_rate']);
        expect(readings[4]).toEqual({ asset_id: '3w-well-00003', metric: 'gas_lift_rate', value: 0.5, unit: 'sm3/s', ts: '2018-02-06T18:29:17.000Z', quality_flag: 'GOOD' });
    });
});

describe('TagMapper points and rejections', () => {
    const settings = parseTagMapConfig({
        assetId: 'well-a',
        operator: 'acme',
        map: JSON.stringify([
            { tag: 'ns=2;s=WHP', metric: 'pressure_wellhead', unit: 'bar', scale: 0.001, offset: 1 },
            { tag: 'HR100', metric: 'oil_rate', unit: 'bopd', asset_id: 'well-b' },
        ]),
        ignore: 'class, heartbeat',
    });
    const mapper = new TagMapper(settings);

    it('should map a point with scale and offset', () => {
        const result = mapper.map({ payload: { tag: 'ns=2;s=WHP', value: 2000, ts: 1714564800000 } }, 'tag-map:opcua', NOW);

        expect(result.readings.get('well-a')).toEqual([
            { asset_id: 'well-a', metric: 'pressure_wellhead', value: 3, unit: 'bar', ts: '2024-05-01T12:00:00.000Z', quality_flag: 'GOOD' },
        ]);
    });

    it('should take the tag from the topic and the time from now', () => {
        const result = mapper.map({ payload: 812.5, topic: 'HR100' }, 'tag-map:HR100', NOW);

        expect(result.readings.get('well-b')).toEqual([
            { asset_id: 'well-b', metric: 'oil_rate', value: 812.5, unit: 'bopd', ts: NOW.toISOString(), quality_flag: 'GOOD' },
        ]);
    });

    it('should keep the quality given by the input', () => {
        const result = mapper.map({ payload: { tag: 'HR100', value: 1, quality: 'UncertainLastUsableValue' } }, 'tag-map:x', NOW);

        expect(result.readings.get('well-b')?.[0].quality_flag).toBe('SUSPECT');
    });

    it('should group readings by asset', () => {
        const result = mapper.map({ payload: { ts: NOW.toISOString(), values: { 'ns=2;s=WHP': 1000, HR100: 5 } } }, 'tag-map:x', NOW);

        expect([...result.readings.keys()]).toEqual(['well-a', 'well-b']);
    });

    it('should skip null values and ignored tags', () => {
        const result = mapper.map({ payload: { values: { 'ns=2;s=WHP': null, HR100: '', class: 3, heartbeat: 1 } } }, 'tag-map:x', NOW);

        expect(result.readings.size).toBe(0);
        expect(result.rejections).toEqual([]);
        expect(result.unmappedTags).toEqual([]);
    });

    it('should reject unmapped tags with tag and value', () => {
        const result = mapper.map({ payload: { ts: NOW.toISOString(), row: 17, values: { HR100: 1, HR200: 42 } } }, 'tag-map:file.csv', NOW);

        expect(result.readings.get('well-b')?.length).toBe(1);
        expect(result.unmappedTags).toEqual(['HR200']);
        expect(result.rejections).toEqual([
            {
                source: 'tag-map:file.csv',
                code: 'unmapped_tag',
                reason: 'Tag HR200 is not in the tag map; add a map entry for it or list it under ignore.',
                field: 'HR200',
                value: 42,
                ref: '17',
                payload: { tag: 'HR200', value: 42, ts: NOW.toISOString() },
                received_at: NOW.toISOString(),
            },
        ]);
    });

    it('should reject non-numeric values', () => {
        const result = mapper.map({ payload: { tag: 'HR100', value: 'n/a' } }, 'tag-map:x', NOW);

        expect(result.readings.size).toBe(0);
        expect(result.rejections.map((rejection) => [rejection.code, rejection.field, rejection.value])).toEqual([['invalid_value', 'HR100', 'n/a']]);
    });

    it('should reject an invalid timestamp', () => {
        const result = mapper.map({ payload: { tag: 'HR100', value: 1, ts: 'yesterday' } }, 'tag-map:x', NOW);

        expect(result.rejections.map((rejection) => rejection.code)).toEqual(['invalid_timestamp']);
    });

    it('should reject an unknown quality', () => {
        const result = mapper.map({ payload: { tag: 'HR100', value: 1, quality_flag: 'maybe' } }, 'tag-map:x', NOW);

        expect(result.rejections.map((rejection) => rejection.code)).toEqual(['invalid_quality']);
    });

    it('should reject a point without a tag', () => {
        const result = mapper.map({ payload: { value: 1 } }, 'tag-map', NOW);

        expect(result.rejections.map((rejection) => rejection.code)).toEqual(['missing_tag']);
    });

    it('should reject a payload without values or value', () => {
        const result = mapper.map({ payload: { temperature: 1 } }, 'tag-map', NOW);

        expect(result.rejections.map((rejection) => rejection.code)).toEqual(['invalid_input']);
    });
});

describe('parseTagMapConfig', () => {
    it('should let map entries override the preset', () => {
        const settings = parseTagMapConfig({ assetId: 'w', operator: 'o', preset: '3w', map: [{ tag: 'QGL', metric: 'gas_lift_rate', unit: 'm3/h', scale: 3600 }] });

        expect(settings.mappings.length).toBe(8);
        expect(settings.mappings.find((mapping) => mapping.tag === 'QGL')).toEqual({ tag: 'QGL', metric: 'gas_lift_rate', unit: 'm3/h', scale: 3600 });
        expect(settings.ignore).toEqual(['class']);
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
        ['missing operator', { assetId: 'w', preset: '3w' }, /No operator/],
        ['unknown preset', { assetId: 'w', operator: 'o', preset: '4w' }, /Unknown tag map preset "4w"/],
        ['invalid JSON', { assetId: 'w', operator: 'o', map: '[{' }, /not valid JSON/],
        ['unknown metric', { assetId: 'w', operator: 'o', map: [{ tag: 'a', metric: 'pressure', unit: 'Pa' }] }, /unknown metric "pressure"/],
        ['unknown field', { assetId: 'w', operator: 'o', map: [{ tag: 'a', metric: 'oil_rate', unit: 'bopd', scal: 2 }] }, /unknown field "scal"/],
        ['text scale', { assetId: 'w', operator: 'o', map: [{ tag: 'a', metric: 'oil_rate', unit: 'bopd', scale: '2' }] }, /scale "2"/],
        ['duplicate tag', { assetId: 'w', operator: 'o', map: [{ tag: 'a', metric: 'oil_rate', unit: 'bopd' }, { tag: 'a', metric: 'gas_rate', unit: 'mmscfd' }] }, /tag a twice/],
        ['no asset', { operator: 'o', preset: '3w' }, /No asset is set/],
        ['empty map', { assetId: 'w', operator: 'o', preset: 'none', map: '[]' }, /tag map is empty/],
    ];
    for (const [name, config, message] of invalid) {
        it(`should reject ${name}`, () => {
            expect(() => parseTagMapConfig(config)).toThrow(ConfigError);
            expect(() => parseTagMapConfig(config)).toThrow(message);
        });
    }
});

describe('parseQuality', () => {
    it('should read flags and OPC UA status names', () => {
        expect(parseQuality('good')).toBe('GOOD');
        expect(parseQuality('BadSensorFailure')).toBe('BAD');
        expect(parseQuality('SUSPECT')).toBe('SUSPECT');
        expect(parseQuality('fine')).toBeUndefined();
    });
});
