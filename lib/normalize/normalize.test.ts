import { describe, expect, it } from 'vitest';

import { DATA_DIR } from '../paths';
import type { Reading } from '../types';
import { loadAssetRegistry } from './asset-registry';
import { deviceScopeFrom, groupByAsset, normalize, type NormalizeOptions } from './normalize';
import { RecentKeys } from './recent-keys';

const NOW = Date.parse('2017-03-20T15:00:00.000Z');
const assets = loadAssetRegistry(`${DATA_DIR}/assets.json`);

function reading(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { asset_id: '3w-well-00001', metric: 'pressure_downhole', value: 1.843341e7, unit: 'Pa', ts: '2017-03-20T14:31:44Z', ...overrides };
}

function run(items: unknown[], options: Partial<NormalizeOptions> = {}) {
    return normalize(items, { source: 'test:batch', now: NOW, assets, ...options });
}

describe('normalize clean readings', () => {
    it('should convert to canonical units and normalize ts', () => {
        const result = run([reading(), reading({ metric: 'oil_rate', value: 100, unit: 'Sm3/d', asset_id: 'volve-15-9-f-12' })]);

        expect(result.rejected).toEqual([]);
        expect(result.clean).toEqual([
            { asset_id: '3w-well-00001', metric: 'pressure_downhole', value: 2673.54008505, unit: 'psi', ts: '2017-03-20T14:31:44.000Z', quality_flag: 'GOOD' },
            { asset_id: 'volve-15-9-f-12', metric: 'oil_rate', value: 628.981077043, unit: 'bopd', ts: '2017-03-20T14:31:44.000Z', quality_flag: 'GOOD' },
        ]);
    });

    it('should convert offsets to UTC', () => {
        const result = run([reading({ ts: '2017-03-20T11:31:44.5-03:00' })]);

        expect(result.clean[0].ts).toBe('2017-03-20T14:31:44.500Z');
    });

    it('should keep the incoming quality flag', () => {
        const result = run([reading({ quality_flag: 'SUSPECT' })]);

        expect(result.clean[0].quality_flag).toBe('SUSPECT');
        expect(result.flagged).toEqual([]);
    });

    it('should accept any asset without a registry', () => {
        const result = run([reading({ asset_id: 'new-well-9' })], { assets: undefined });

        expect(result.clean).toHaveLength(1);
        expect(result.rejected).toHaveLength(0);
    });
});

describe('normalize quality flags', () => {
    it('should flag out-of-range values BAD and keep them', () => {
        // 35000 psi exceeds the plausible 0 to 30000 psi of pressure_downhole.
        const result = run([reading({ value: 35_000, unit: 'psi', quality_flag: 'GOOD' })]);

        expect(result.clean).toHaveLength(1);
        expect(result.clean[0].quality_flag).toBe('BAD');
        expect(result.clean[0].value).toBe(35_000);
        expect(result.flagged).toHaveLength(1);
        expect(result.flagged[0].code).toBe('out_of_range');
        expect(result.flagged[0].reason).toContain('35000 psi');
        expect(result.flagged[0].reason).toContain('0 to 30000 psi');
    });

    it('should test the range in canonical units', () => {
        // 0.5 fraction is 50 %, inside 0..100; 1.5 fraction is 150 %, outside.
        const result = run([
            reading({ metric: 'choke_opening', value: 0.5, unit: 'fraction' }),
            reading({ metric: 'choke_opening', value: 1.5, unit: 'fraction', ts: '2017-03-20T14:31:45Z' }),
        ]);

        expect(result.clean.map((r) => r.quality_flag)).toEqual(['GOOD', 'BAD']);
    });

    it('should store null values with quality BAD', () => {
        const result = run([reading({ value: null })]);

        expect(result.clean).toEqual([
            { asset_id: '3w-well-00001', metric: 'pressure_downhole', value: null, unit: 'psi', ts: '2017-03-20T14:31:44.000Z', quality_flag: 'BAD' },
        ]);
        expect(result.flagged[0].code).toBe('null_value');
    });
});

const badCases: [name: string, item: unknown, code: string, field: string | undefined, mentions: string[]][] = [
    ['string value', reading({ value: '12.3' }), 'non_numeric_value', 'value', ['"12.3"', "'value'"]],
    ['text value', reading({ value: 'abc' }), 'non_numeric_value', 'value', ['"abc"']],
    ['NaN value', reading({ value: Number.NaN }), 'non_finite_value', 'value', ['NaN']],
    ['missing ts', { asset_id: '3w-well-00001', metric: 'pressure_downhole', value: 1, unit: 'Pa' }, 'missing_field', 'ts', ["'ts' is missing"]],
    ['missing value', { asset_id: '3w-well-00001', metric: 'pressure_downhole', unit: 'Pa', ts: '2017-03-20T14:31:44Z' }, 'missing_field', 'value', ["'value' is missing"]],
    ['malformed ts', reading({ ts: '20/03/2017 14:31' }), 'invalid_timestamp', 'ts', ['"20/03/2017 14:31"']],
    ['ts without offset', reading({ ts: '2017-03-20T14:31:44' }), 'invalid_timestamp', 'ts', ['"2017-03-20T14:31:44"']],
    ['impossible date', reading({ ts: '2017-02-30T00:00:00Z' }), 'invalid_timestamp', 'ts', ['"2017-02-30T00:00:00Z"']],
    ['bad asset id', reading({ asset_id: 'Well 1' }), 'invalid_reading', 'asset_id', ['"Well 1"']],
    ['bad quality flag', reading({ quality_flag: 'OK' }), 'invalid_reading', 'quality_flag', ['"OK"', 'GOOD']],
    ['extra field', reading({ tag: 'P-PDG' }), 'invalid_reading', 'tag', ["'tag'", '"P-PDG"']],
    ['not an object', 'P-PDG=12', 'invalid_reading', undefined, ['"P-PDG=12"']],
    ['unknown metric', reading({ metric: 'oil_rat' }), 'unknown_metric', 'metric', ["'oil_rat'", 'oil_rate']],
    ['unknown metric without match', reading({ metric: 'viscosity' }), 'unknown_metric', 'metric', ["'viscosity'"]],
    ['wrong unit', reading({ unit: 'degC' }), 'wrong_unit', 'unit', ["'degC'", 'pressure_downhole', 'psi, Pa']],
    ['unknown unit', reading({ unit: 'atm' }), 'unknown_unit', 'unit', ["'atm'", 'pressure_downhole']],
    ['overflowing value', reading({ value: 1.7e308, unit: 'fraction', metric: 'choke_opening' }), 'non_finite_value', 'value', ['1.7e+308']],
    ['future ts', reading({ ts: '2017-03-20T15:10:00Z' }), 'future_timestamp', 'ts', ['2017-03-20T15:10:00Z', '10 min', '2017-03-20T15:00:00.000Z', 'NTP']],
    ['unknown asset', reading({ asset_id: 'well-999' }), 'unknown_asset', 'asset_id', ["'well-999'", 'asset registry']],
];

describe('normalize rejections', () => {
    it.each(badCases)('should reject %s', (_name, item, code, field, mentions) => {
        const result = run([item], { ref: 'seq:7' });

        expect(result.clean).toEqual([]);
        expect(result.rejected).toHaveLength(1);
        const rejection = result.rejected[0];
        expect(rejection.code).toBe(code);
        expect(rejection.field).toBe(field);
        for (const text of mentions) expect(rejection.reason).toContain(text);
        expect(rejection.payload).toBe(item);
        expect(rejection.source).toBe('test:batch');
        expect(rejection.ref).toBe('seq:7#0');
        expect(rejection.received_at).toBe('2017-03-20T15:00:00.000Z');
    });

    it('should carry the offending value', () => {
        const result = run([reading({ value: '12.3' }), reading({ unit: 'degC' })]);

        expect(result.rejected.map((r) => r.value)).toEqual(['12.3', 'degC']);
    });

    it('should accept ts within the future tolerance', () => {
        const result = run([reading({ ts: '2017-03-20T15:04:59Z' })]);

        expect(result.clean).toHaveLength(1);
    });

    it('should apply a custom future tolerance', () => {
        const result = run([reading({ ts: '2017-03-20T15:00:30Z' })], { maxFutureMs: 10_000 });

        expect(result.rejected[0].code).toBe('future_timestamp');
        expect(result.rejected[0].reason).toContain('30 s ahead');
    });

    it('should omit ref without a batch ref', () => {
        const result = run([reading({ unit: 'degC' })]);

        expect(result.rejected[0]).not.toHaveProperty('ref');
    });
});

describe('normalize device scope', () => {
    it('should reject assets outside the device list', () => {
        const device = { device_id: 'edge-7', assets: ['3w-well-00003'] };
        const result = run([reading(), reading({ asset_id: '3w-well-00003' })], { device });

        expect(result.clean.map((r) => r.asset_id)).toEqual(['3w-well-00003']);
        expect(result.rejected[0].code).toBe('asset_not_allowed');
        expect(result.rejected[0].field).toBe('asset_id');
        expect(result.rejected[0].reason).toContain("'edge-7'");
        expect(result.rejected[0].reason).toContain("'3w-well-00001'");
    });

    it("should reject another operator's assets", () => {
        const device = { device_id: 'edge-8', operator: 'equinor' };
        const result = run([reading(), reading({ asset_id: 'volve-15-9-f-12' })], { device });

        expect(result.clean.map((r) => r.asset_id)).toEqual(['volve-15-9-f-12']);
        expect(result.rejected[0].code).toBe('asset_not_allowed');
        expect(result.rejected[0].reason).toContain("'petrobras'");
    });

    it('should read a device scope from a message property', () => {
        expect(deviceScopeFrom({ device_id: 'edge-1', operator: 'equinor', assets: ['a', 3] })).toEqual({
            device_id: 'edge-1',
            operator: 'equinor',
            assets: ['a'],
        });
        expect(deviceScopeFrom({ operator: 'equinor' })).toBeUndefined();
        expect(deviceScopeFrom('edge-1')).toBeUndefined();
    });
});

describe('normalize duplicates', () => {
    it('should drop repeats within a batch', () => {
        const result = run([reading(), reading({ ts: '2017-03-20T14:31:44.000Z', value: 1 }), reading({ metric: 'pressure_tpt' })]);

        expect(result.clean.map((r) => r.metric)).toEqual(['pressure_downhole', 'pressure_tpt']);
        expect(result.duplicates).toBe(1);
    });

    it('should drop repeats across batches sharing a cache', () => {
        const seen = new RecentKeys(10);
        const first = run([reading()], { seen });
        const second = run([reading(), reading({ ts: '2017-03-20T14:31:45Z' })], { seen });

        expect(first.clean).toHaveLength(1);
        expect(second.clean.map((r) => r.ts)).toEqual(['2017-03-20T14:31:45.000Z']);
        expect(second.duplicates).toBe(1);
    });

    it('should not remember rejected readings', () => {
        const seen = new RecentKeys(10);
        run([reading({ unit: 'degC' })], { seen });
        const retry = run([reading()], { seen });

        expect(retry.clean).toHaveLength(1);
        expect(retry.duplicates).toBe(0);
    });

    it('should forget the key added first when full', () => {
        const seen = new RecentKeys(2);

        expect(seen.checkAndAdd('well-1', 'oil_rate', 1_000)).toBe(false);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 2_000)).toBe(false);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 1_000)).toBe(true);
        expect(seen.checkAndAdd('well-2', 'oil_rate', 1_000)).toBe(false);
        expect(seen.size).toBe(2);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 2_000)).toBe(true);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 1_000)).toBe(false);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 2_000)).toBe(false);
        expect(seen.checkAndAdd('well-2', 'oil_rate', 1_000)).toBe(false);
        expect(seen.size).toBe(2);
    });

    it('should tell keys apart by asset, metric and time', () => {
        const seen = new RecentKeys(10);
        seen.checkAndAdd('well-1', 'oil_rate', 1_000);

        expect(seen.checkAndAdd('well-1', 'gas_rate', 1_000)).toBe(false);
        expect(seen.checkAndAdd('well-2', 'oil_rate', 1_000)).toBe(false);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 1_001)).toBe(false);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 1_000)).toBe(true);
        expect(seen.size).toBe(4);
    });

    it('should re-add a dropped series', () => {
        const seen = new RecentKeys(2);
        seen.checkAndAdd('well-1', 'oil_rate', 1_000);
        seen.checkAndAdd('well-2', 'oil_rate', 1_000);

        expect(seen.checkAndAdd('well-1', 'oil_rate', 2_000)).toBe(false);
        expect(seen.checkAndAdd('well-1', 'oil_rate', 2_000)).toBe(true);
        expect(seen.size).toBe(2);
    });

    it('should match a reference list', () => {
        // A slow reference: the last `capacity` keys in the order they were added. The keys come
        // from a fixed pseudo-random sequence over 3 wells, 2 metrics and 4 times.
        let state = 7;
        const next = (count: number): number => {
            state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
            return Math.floor((state / 2_147_483_648) * count);
        };
        for (const capacity of [1, 2, 3, 5]) {
            const seen = new RecentKeys(capacity);
            const expectedKeys: string[] = [];
            for (let call = 0; call < 3_000; call++) {
                const asset = `well-${next(3)}`;
                const metric = next(2) === 0 ? 'oil_rate' : 'gas_rate';
                const time = next(4) * 1_000;
                const key = `${asset}|${metric}|${time}`;
                const expected = expectedKeys.includes(key);
                if (!expected) {
                    expectedKeys.push(key);
                    if (expectedKeys.length > capacity) expectedKeys.shift();
                }
                expect(seen.checkAndAdd(asset, metric, time), `call ${call} at capacity ${capacity}`).toBe(expected);
                expect(seen.size).toBe(expectedKeys.length);
            }
        }
    });

    it('should stay within capacity', () => {
        const seen = new RecentKeys(3);
        for (let well = 0; well < 1_000; well++) seen.checkAndAdd(`well-${well}`, 'oil_rate', 1_000);

        expect(seen.size).toBe(3);
        expect(seen.checkAndAdd('well-999', 'oil_rate', 1_000)).toBe(true);
        expect(seen.checkAndAdd('well-996', 'oil_rate', 1_000)).toBe(false);
        seen.clear();
        expect(seen.size).toBe(0);
        expect(seen.checkAndAdd('well-999', 'oil_rate', 1_000)).toBe(false);
    });

    it('should keep nothing at capacity 0', () => {
        const seen = new RecentKeys(0);
        const result = run([reading(), reading()], { seen });

        expect(result.clean).toHaveLength(2);
        expect(result.duplicates).toBe(0);
    });

    it('should reject an invalid capacity', () => {
        expect(() => new RecentKeys(-1)).toThrow(/Duplicate cache size -1 is invalid/);
        expect(() => new RecentKeys(1.5)).toThrow(/whole number/);
    });
});

describe('groupByAsset', () => {
    it('should keep input order per asset', () => {
        const readings = [
            { asset_id: 'a', ts: '1' },
            { asset_id: 'b', ts: '2' },
            { asset_id: 'a', ts: '3' },
        ] as Reading[];

        expect([...groupByAsset(readings)].map(([id, group]) => [id, group.map((r) => r.ts)])).toEqual([
            ['a', ['1', '3']],
            ['b', ['2']],
        ]);
    });
});

describe('normalize maximum age', () => {
    it('should reject a reading older than the maximum age', () => {
        const now = Date.parse('2026-12-04T12:00:00Z');
        const old = { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 2000, unit: 'psi', ts: '1970-01-01T00:00:00.000Z', quality_flag: 'GOOD' };
        const recent = { ...old, ts: '2026-12-03T12:00:00.000Z' };
        const result = normalize([old, recent], { source: 'test', now, maxAgeMs: 30 * 86_400_000 });

        expect(result.clean.map((reading) => reading.ts)).toEqual(['2026-12-03T12:00:00.000Z']);
        expect(result.rejected).toHaveLength(1);
        expect(result.rejected[0].code).toBe('stale_timestamp');
        expect(result.rejected[0].field).toBe('ts');
        expect(result.rejected[0].reason).toContain('1970-01-01T00:00:00.000Z');
    });

    it('should accept any age without a maximum', () => {
        const old = { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 2000, unit: 'psi', ts: '2008-02-01T00:00:00.000Z' };

        expect(normalize([old], { source: 'test' }).clean).toHaveLength(1);
    });
});
