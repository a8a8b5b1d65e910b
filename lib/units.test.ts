import { describe, expect, it } from 'vitest';

import { ValidationError } from './errors';
import { CANONICAL_UNITS } from './metrics';
import { acceptedUnits, normalizeUnitSpelling, removeRoundingNoise, resolveConversion, toCanonical } from './units';

// Expected values are computed by hand from the exact factors:
// 1 psi = 6894.757293168 Pa, 1 bbl = 0.158987294928 m3, 1 ft3 = 0.3048^3 = 0.028316846592 m3.
const conversions: [metric: string, value: number, unit: string, expected: number, canonical: string][] = [
    // 1.843341e7 / 6894.757293168 = 2673.540085...
    ['pressure_downhole', 1.843341e7, 'Pa', 2673.54008505, 'psi'],
    ['pressure_tpt', 1, 'bar', 14.503773773, 'psi'],
    ['pressure_tpt', 100, 'kPa', 14.503773773, 'psi'],
    ['pressure_wellhead', 1, 'MPa', 145.03773773, 'psi'],
    ['pressure_annulus', 1, 'kgf/cm2', 14.2233433071, 'psi'],
    ['pressure_annulus', 1, 'kgf/cm²', 14.2233433071, 'psi'],
    ['pressure_wellhead', 1234.5, 'psi', 1234.5, 'psi'],
    ['temp_tpt', 212, 'degF', 100, 'degC'],
    ['temp_tpt', -40, 'degF', -40, 'degC'],
    ['temp_wellhead', 300, 'K', 26.85, 'degC'],
    ['temp_downhole', 81.5, '°C', 81.5, 'degC'],
    ['temp_downhole', 81.5, 'C', 81.5, 'degC'],
    ['temp_downhole', 81.5, 'degC', 81.5, 'degC'],
    // 100 / 0.158987294928 = 628.98107704...
    ['oil_rate', 100, 'Sm3/d', 628.981077043, 'bopd'],
    ['oil_rate', 1, 'm3/d', 6.28981077043, 'bopd'],
    ['oil_rate', 1, 'm³/d', 6.28981077043, 'bopd'],
    ['oil_rate', 1500, 'bbl/d', 1500, 'bopd'],
    ['oil_rate', 1500, 'bopd', 1500, 'bopd'],
    // 1 m3/s x 86400 s/d / 28316.846592 m3 per million ft3 = 3.0511872...
    ['gas_lift_rate', 1, 'sm3/s', 3.05118720474, 'mmscfd'],
    ['gas_rate', 1e6, 'Sm3/d', 35.3146667215, 'mmscfd'],
    ['gas_rate', 1000, 'Sm3/h', 0.847552001316, 'mmscfd'],
    ['gas_rate', 2500, 'Mscf/d', 2.5, 'mmscfd'],
    ['gas_rate', 3e6, 'scf/d', 3, 'mmscfd'],
    ['gas_rate', 12.5, 'MMscf/d', 12.5, 'mmscfd'],
    ['water_rate', 100, 'Sm3/d', 628.981077043, 'bwpd'],
    ['water_injection_rate', 10, 'm3/d', 62.8981077043, 'bwpd'],
    ['water_rate', 800, 'bbl/d', 800, 'bwpd'],
    ['liquid_flow', 1, 'm3/h', 6.28981077043, 'bph'],
    ['liquid_flow', 42, 'bbl/h', 42, 'bph'],
    ['choke_opening', 0.35, 'fraction', 35, '%'],
    ['choke_opening', 42, '%', 42, '%'],
    ['on_stream_hours', 90, 'min', 1.5, 'h'],
    ['on_stream_hours', 5400, 's', 1.5, 'h'],
    ['on_stream_hours', 24, 'h', 24, 'h'],
    ['pressure_downhole', 101325, '  Pa ', 14.6959487755, 'psi'],
];

describe('toCanonical', () => {
    it.each(conversions)('should convert %s %s %s', (metric, value, unit, expected, canonical) => {
        const result = toCanonical(metric, value, unit);

        expect(result.unit).toBe(canonical);
        expect(Math.abs(result.value - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-10);
    });

    it('should pass canonical values through unrounded', () => {
        const value = 1234.567890123456;

        expect(toCanonical('pressure_tpt', value, 'psi').value).toBe(value);
    });

    it('should remove floating-point noise from converted values', () => {
        // 300 - 273.15 is 26.850000000000023 in binary floating point.
        expect(toCanonical('temp_tpt', 300, 'K').value).toBe(26.85);
        expect(toCanonical('choke_opening', 0.1 + 0.2, 'fraction').value).toBe(30);
    });
});

const unitErrors: [metric: string, unit: string, code: string, mentions: string[]][] = [
    ['pressure_downhole', 'degC', 'wrong_unit', ['pressure_downhole', "'degC'", 'a temperature unit', 'psi, Pa, kPa, MPa, bar, kgf/cm2']],
    ['water_rate', 'bopd', 'wrong_unit', ['water_rate', "'bopd'", 'an oil rate unit', 'bwpd, bbl/d, Sm3/d, m3/d']],
    ['liquid_flow', 'Sm3/d', 'wrong_unit', ['liquid_flow', "'Sm3/d'", 'bph, bbl/h, m3/h']],
    ['temp_tpt', 'furlong', 'unknown_unit', ['temp_tpt', "'furlong'", 'degC, degF, K']],
    ['pressure_downhole', 'pa', 'unknown_unit', ['pressure_downhole', "'pa'", 'psi, Pa']],
    ['pressure_wellhead', 'psig', 'unknown_unit', ['pressure_wellhead', "'psig'", 'gauge or absolute', 'psi, Pa']],
    ['pressure_wellhead', 'barg', 'unknown_unit', ['pressure_wellhead', "'barg'", 'gauge or absolute']],
    ['oil_rate', 'constructor', 'unknown_unit', ['oil_rate', "'constructor'"]],
    ['oil_rate', '', 'unknown_unit', ['oil_rate', "''"]],
];

describe('resolveConversion errors', () => {
    it.each(unitErrors)('should reject %s in %s', (metric, unit, code, mentions) => {
        let thrown: unknown;
        try {
            resolveConversion(metric, unit);
        } catch (err) {
            thrown = err;
        }

        expect(thrown).toBeInstanceOf(ValidationError);
        const error = thrown as ValidationError;
        expect(error.code).toBe(code);
        expect(error.field).toBe('unit');
        expect(error.value).toBe(unit);
        for (const text of mentions) expect(error.message).toContain(text);
    });

    it('should reject a metric outside the catalogue', () => {
        expect(() => resolveConversion('oil_rat', 'bopd')).toThrow(expect.objectContaining({ code: 'unknown_metric', field: 'metric' }));
    });
});

describe('unit spelling', () => {
    it('should resolve aliases and superscripts', () => {
        expect(normalizeUnitSpelling('°C')).toBe('degC');
        expect(normalizeUnitSpelling(' m³/d ')).toBe('m3/d');
        expect(normalizeUnitSpelling('sm3/s')).toBe('Sm3/s');
        expect(normalizeUnitSpelling('hr')).toBe('h');
    });

    it('should leave unknown spellings unchanged', () => {
        expect(normalizeUnitSpelling('toString')).toBe('toString');
        expect(normalizeUnitSpelling('MPA')).toBe('MPA');
    });

    it('should list the canonical unit first', () => {
        for (const [quantity, canonical] of Object.entries(CANONICAL_UNITS)) {
            expect(acceptedUnits(quantity as keyof typeof CANONICAL_UNITS)[0]).toBe(canonical);
        }
    });
});

describe('removeRoundingNoise', () => {
    it('should keep 12 significant digits', () => {
        expect(removeRoundingNoise(628.9810770432105)).toBe(628.981077043);
        expect(removeRoundingNoise(123_456_789_012.345)).toBe(123_456_789_012);
        expect(removeRoundingNoise(0)).toBe(0);
        expect(removeRoundingNoise(-0.30000000000000004)).toBe(-0.3);
    });
});
