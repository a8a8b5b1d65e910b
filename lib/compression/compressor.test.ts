import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError, ValidationError } from '../errors';
import { DATA_DIR } from '../paths';
import { readReplayFile } from '../replay/reader';
import type { Reading } from '../types';
import { ReadingCompressor, type CompressorOptions } from './compressor';
import { compressorOptions, parseCompressionConfig } from './config';

const PSI_PA = 6894.757293168;

/** Readings of one 3W column as the tag map sends them: source unit, one asset. */
async function columnReadings(file: string, tag: string, metric: string, unit: string): Promise<Reading[]> {
    const readings: Reading[] = [];
    for await (const line of readReplayFile(join(DATA_DIR, file))) {
        if (!line.ok) continue;
        const value = line.row.values[tag];
        if (value === undefined) continue;
        readings.push({ asset_id: '3w-well-00004', metric, value, unit, ts: line.row.source_ts, quality_flag: 'GOOD' });
    }
    return readings;
}

/** Largest difference between the non-null readings and linear interpolation between the archived ones. */
function maxError(original: Reading[], archived: Reading[]): number {
    const points = archived.map((r) => ({ t: Date.parse(r.ts), v: r.value }));
    let worst = 0;
    let j = 0;
    for (const reading of original) {
        if (reading.value === null) continue;
        const t = Date.parse(reading.ts);
        while (j + 1 < points.length && points[j + 1].t <= t) j++;
        const before = points[j];
        const after = points[j + 1];
        if (before.v === null) return Infinity;
        let estimate = before.v;
        if (before.t < t) {
            if (!after || after.v === null) return Infinity;
            estimate = before.v + ((after.v - before.v) * (t - before.t)) / (after.t - before.t);
        }
        worst = Math.max(worst, Math.abs(estimate - reading.value));
    }
    return worst;
}

function run(compressor: ReadingCompressor, readings: Reading[]): Reading[] {
    return [...compressor.addAll(readings), ...compressor.flush()];
}

const fixed = (maxError: number, extra: Partial<CompressorOptions> = {}): CompressorOptions => ({
    resolveBound: () => ({ maxError, source: 'absolute' }),
    ...extra,
});

function reading(ts: string, value: number | null, extra: Partial<Reading> = {}): Reading {
    return { asset_id: 'w1', metric: 'temp_tpt', value, unit: 'degC', ts, quality_flag: 'GOOD', ...extra };
}

describe('ReadingCompressor on a real 3W file', () => {
    const file = 'petrobras-3w/6/WELL-00004_20171031193025.csv';

    it('should keep P-TPT within 0.5 % of its span', async () => {
        const readings = await columnReadings(file, 'P-TPT', 'pressure_tpt', 'Pa');
        const values = readings.map((r) => r.value as number);
        const bound = 0.005 * (Math.max(...values) - Math.min(...values));
        const archived = run(new ReadingCompressor(fixed(bound)), readings);

        expect(maxError(readings, archived)).toBeLessThanOrEqual(bound);
        // This hour-long file is noisy against its small span; the full data set compresses far more.
        expect(readings.length / archived.length).toBeGreaterThan(3);
        expect(archived[0]).toBe(readings[0]);
        expect(archived[archived.length - 1]).toBe(readings[readings.length - 1]);
    });

    it('should convert span percent to source unit', async () => {
        const readings = await columnReadings(file, 'P-MON-CKP', 'pressure_upstream_choke', 'Pa');
        const settings = parseCompressionConfig({ maxErrors: '{"pressure_upstream_choke": {"percent": 0.1, "span": 2000}}', heartbeat: 0 });
        const compressor = new ReadingCompressor(compressorOptions(settings));
        const archived = run(compressor, readings);
        const bound = 2 * PSI_PA;

        expect(compressor.seriesInfo('3w-well-00004', 'pressure_upstream_choke')?.maxError).toBeCloseTo(bound, 6);
        expect(maxError(readings, archived)).toBeLessThanOrEqual(bound);
    });

    it('should keep T-TPT within bound with a deadband', async () => {
        const readings = await columnReadings(file, 'T-TPT', 'temp_tpt', 'degC');
        const archived = run(new ReadingCompressor(fixed(0.05, { deadbandFraction: 0.25 })), readings);

        expect(maxError(readings, archived)).toBeLessThanOrEqual(0.05);
        expect(archived.length).toBeLessThan(readings.length / 5);
    });

    it('should archive at least once per heartbeat', async () => {
        const readings = await columnReadings(file, 'T-TPT', 'temp_tpt', 'degC');
        const archived = run(new ReadingCompressor(fixed(10, { heartbeatMs: 60_000 })), readings);
        const times = archived.map((r) => Date.parse(r.ts));
        const gaps = times.slice(1).map((t, i) => t - times[i]);

        expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000);
        expect(archived.length).toBeGreaterThanOrEqual(Math.ceil((times[times.length - 1] - times[0]) / 60_000));
    });
});

describe('ReadingCompressor series rules', () => {
    it('should archive a gap and restart after it', () => {
        const compressor = new ReadingCompressor(fixed(1));
        const input = [reading('2024-01-01T00:00:00Z', 1), reading('2024-01-01T00:00:01Z', 1), reading('2024-01-01T00:00:02Z', null), reading('2024-01-01T00:00:03Z', 5)];
        const archived = run(compressor, input);

        expect(archived).toEqual(input);
    });

    it('should start a new segment when the quality changes', () => {
        const compressor = new ReadingCompressor(fixed(1));
        const input = [
            reading('2024-01-01T00:00:00Z', 1),
            reading('2024-01-01T00:00:01Z', 1),
            reading('2024-01-01T00:00:02Z', 1),
            reading('2024-01-01T00:00:03Z', 1, { quality_flag: 'SUSPECT' }),
            reading('2024-01-01T00:00:04Z', 1, { quality_flag: 'SUSPECT' }),
        ];
        const archived = run(compressor, input);

        expect(archived).toEqual([input[0], input[2], input[3], input[4]]);
    });

    it('should keep series of different assets apart', () => {
        const compressor = new ReadingCompressor(fixed(1));
        const archived = compressor.addAll([reading('2024-01-01T00:00:00Z', 1), reading('2024-01-01T00:00:00Z', 50, { asset_id: 'w2' })]);

        expect(archived.map((r) => r.asset_id)).toEqual(['w1', 'w2']);
    });

    it('should pass a late reading through and drop a repeat', () => {
        const compressor = new ReadingCompressor(fixed(1));
        compressor.addAll([reading('2024-01-01T00:00:00Z', 1), reading('2024-01-01T00:00:05Z', 2)]);
        const late = reading('2024-01-01T00:00:03Z', 7);

        expect(compressor.add(late)).toEqual([late]);
        expect(compressor.add(reading('2024-01-01T00:00:05Z', 2))).toEqual([]);
        expect(compressor.counts).toEqual({ received: 4, archived: 2 });
    });

    const invalid: [string, unknown, string][] = [
        ['a non-object', 5, 'invalid_reading'],
        ['a missing metric', { asset_id: 'w', unit: 'degC', ts: '2024-01-01T00:00:00Z', value: 1 }, 'missing_field'],
        ['a bad time', { asset_id: 'w', metric: 'temp_tpt', unit: 'degC', ts: 'noon', value: 1 }, 'invalid_timestamp'],
        ['a text value', { asset_id: 'w', metric: 'temp_tpt', unit: 'degC', ts: '2024-01-01T00:00:00Z', value: '1' }, 'invalid_value'],
    ];
    for (const [name, input, code] of invalid) {
        it(`should reject ${name}`, () => {
            const compressor = new ReadingCompressor(fixed(1));
            let error: unknown;
            try {
                compressor.add(input as Reading);
            } catch (err) {
                error = err;
            }

            expect(error).toBeInstanceOf(ValidationError);
            expect((error as ValidationError).code).toBe(code);
        });
    }

    it('should reject a unit of the wrong quantity', () => {
        const compressor = new ReadingCompressor(compressorOptions(parseCompressionConfig({})));

        expect(() => compressor.add(reading('2024-01-01T00:00:00Z', 1, { unit: 'Pa' }))).toThrow(/wrong_unit|temperature/);
    });
});

describe('parseCompressionConfig', () => {
    it('should read every form of maximum error', () => {
        const settings = parseCompressionConfig({
            maxErrors: { pressure_tpt: 5, temp_tpt: '0.2%', oil_rate: { absolute: 10 }, gas_rate: { percent: 1, span: 50 } },
            defaultPercent: '0.25',
            deadband: 10,
            heartbeat: '30',
        });

        expect([...settings.rules]).toEqual([
            ['pressure_tpt', { absolute: 5 }],
            ['temp_tpt', { percent: 0.2 }],
            ['oil_rate', { absolute: 10 }],
            ['gas_rate', { percent: 1, span: 50 }],
        ]);
        expect(settings.defaultPercent).toBe(0.25);
        expect(settings.deadbandFraction).toBe(0.1);
        expect(settings.heartbeatMs).toBe(30_000);
    });

    it('should use 0.5 % of the catalogue span by default', () => {
        const options = compressorOptions(parseCompressionConfig({}));

        // pressure_tpt is plausible from 0 to 20,000 psi: 0.5 % is 100 psi.
        expect(options.resolveBound('pressure_tpt', 'psi').maxError).toBeCloseTo(100, 9);
        expect(options.resolveBound('pressure_tpt', 'Pa').maxError).toBeCloseTo(100 * PSI_PA, 3);
        expect(options.resolveBound('temp_tpt', 'degF').maxError).toBeCloseTo(1.5 * 1.8, 9);
        expect(options.heartbeatMs).toBe(60_000);
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
        ['invalid JSON', { maxErrors: '{' }, /not valid JSON/],
        ['an unknown metric', { maxErrors: { pressure: 1 } }, /unknown metric "pressure"/],
        ['a zero error', { maxErrors: { temp_tpt: 0 } }, /use a number above 0/],
        ['a bad percent', { maxErrors: { temp_tpt: 'half' } }, /percent such as "0.5%"/],
        ['an unknown field', { maxErrors: { temp_tpt: { percent: 1, spam: 2 } } }, /\{ "absolute": 2 \}/],
        ['a deadband of half the error', { deadband: 50 }, /below 50/],
        ['a negative heartbeat', { heartbeat: -1 }, /0 \(off\)/],
        ['a text default', { defaultPercent: 'x' }, /not a number/],
    ];
    for (const [name, config, message] of invalid) {
        it(`should reject ${name}`, () => {
            expect(() => parseCompressionConfig(config)).toThrow(ConfigError);
            expect(() => parseCompressionConfig(config)).toThrow(message);
        });
    }
});
