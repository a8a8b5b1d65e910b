import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { describeRegister, parseRegisterMapConfig, type RawRegisterMapConfig } from './registers';

const base = { operator: 'petrobras', assetId: '3w-well-00001' };

function configWith(registers: unknown[], extra: RawRegisterMapConfig = {}): RawRegisterMapConfig {
    return { ...base, registers: JSON.stringify(registers), ...extra };
}

describe('parseRegisterMapConfig defaults', () => {
    it('should fill in unit, type, word order, scale and asset', () => {
        const settings = parseRegisterMapConfig(configWith([{ function: 'holding', address: 3, metric: 'pressure_tpt', unit: 'kPa' }]));

        expect(settings.operator).toBe('petrobras');
        expect(settings.unitId).toBe(1);
        expect(settings.registers).toEqual([
            { index: 1, unitId: 1, function: 'holding', address: 3, type: 'uint16', wordOrder: 'big', scale: 1, offset: 0, unit: 'kPa', asset_id: '3w-well-00001', metric: 'pressure_tpt' },
        ]);
    });

    it('should give coils the bool type', () => {
        const settings = parseRegisterMapConfig(configWith([{ function: 'coil', address: 0, metric: 'choke_opening', unit: '%', scale: 100 }]));

        expect(settings.registers[0].type).toBe('bool');
    });

    it('should take the node unit id as default', () => {
        const settings = parseRegisterMapConfig(configWith([{ function: 'input', address: 0, metric: 'temp_tpt', unit: 'degC' }], { unitId: '7' }));

        expect(settings.unitId).toBe(7);
        expect(settings.registers[0].unitId).toBe(7);
    });

    it('should accept parsed entries with their own asset and unit', () => {
        const settings = parseRegisterMapConfig({
            operator: 'petrobras',
            registers: [{ unit_id: 2, function: 'holding', address: '10', type: 'float32', word_order: 'little', asset_id: 'well-b', metric: 'pressure_tpt', unit: 'Pa' }],
        });

        expect(settings.registers[0]).toMatchObject({ unitId: 2, address: 10, type: 'float32', wordOrder: 'little', asset_id: 'well-b' });
    });

    it('should let one address serve two units', () => {
        const settings = parseRegisterMapConfig(
            configWith([
                { unit_id: 1, function: 'holding', address: 0, metric: 'pressure_tpt', unit: 'kPa' },
                { unit_id: 2, function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' },
                { unit_id: 1, function: 'input', address: 0, metric: 'pressure_upstream_choke', unit: 'kPa' },
            ]),
        );

        expect(settings.registers.length).toBe(3);
    });
});

describe('parseRegisterMapConfig rejects', () => {
    const cases: [string, RawRegisterMapConfig, RegExp][] = [
        ['missing operator', { assetId: 'w', registers: '[]' }, /No operator is set/],
        ['empty map', configWith([]), /register map is empty/],
        ['invalid JSON', { ...base, registers: '[{' }, /not valid JSON/],
        ['non-array map', { ...base, registers: '{}' }, /not a JSON array/],
        ['unknown field', configWith([{ function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC', scal: 2 }]), /Register 1 has the unknown field "scal"/],
        ['unknown function', configWith([{ function: 'holdings', address: 0, metric: 'temp_tpt', unit: 'degC' }]), /Register 1 has the function "holdings"; use one of holding, input, coil, discrete/],
        ['negative address', configWith([{ function: 'holding', address: -1, metric: 'temp_tpt', unit: 'degC' }]), /Register 1 has the address -1/],
        ['address past 65535', configWith([{ function: 'holding', address: 65_536, metric: 'temp_tpt', unit: 'degC' }]), /address 65536; use the data address/],
        ['unknown type', configWith([{ function: 'holding', address: 0, type: 'float64', metric: 'temp_tpt', unit: 'degC' }]), /Register 1 \(holding 0\) has the type "float64"/],
        ['coil with a word type', configWith([{ function: 'coil', address: 0, type: 'uint16', metric: 'choke_opening', unit: '%' }]), /coil holds one bit; remove the type or set it to bool/],
        ['register with bool', configWith([{ function: 'holding', address: 0, type: 'bool', metric: 'choke_opening', unit: '%' }]), /holding register with the type bool/],
        [
            '32-bit type at the last word',
            configWith([{ function: 'holding', address: 65_535, type: 'float32', metric: 'temp_tpt', unit: 'degC' }]),
            /Register 1 \(holding 65535\) is a float32, which needs 2 words, but 65535 is the last address; move it to address 65534 or lower/,
        ],
        ['word order on 16 bits', configWith([{ function: 'holding', address: 0, type: 'int16', word_order: 'little', metric: 'temp_tpt', unit: 'degC' }]), /word_order, which applies to 32-bit types only/],
        ['unknown word order', configWith([{ function: 'holding', address: 0, type: 'int32', word_order: 'middle', metric: 'temp_tpt', unit: 'degC' }]), /word_order "middle"; use one of big, little/],
        ['text scale', configWith([{ function: 'holding', address: 0, scale: '0.1', metric: 'temp_tpt', unit: 'degC' }]), /scale "0.1"; use a finite number/],
        ['zero scale', configWith([{ function: 'holding', address: 0, scale: 0, metric: 'temp_tpt', unit: 'degC' }]), /scale 0, which turns every value into the offset/],
        ['missing unit', configWith([{ function: 'holding', address: 0, metric: 'temp_tpt' }]), /Register 1 \(holding 0\) has no unit/],
        ['unknown metric', configWith([{ function: 'holding', address: 0, metric: 'pressure', unit: 'kPa' }]), /Register 1 \(holding 0\): Metric 'pressure' is not in the metric catalogue. Use a metric id/],
        ['unknown unit', configWith([{ function: 'holding', address: 4, metric: 'pressure_tpt', unit: 'kpascal' }]), /Register 1 \(holding 4\): .*unit 'kpascal'/],
        ['wrong unit', configWith([{ function: 'holding', address: 4, metric: 'pressure_tpt', unit: 'degC' }]), /Register 1 \(holding 4\): Metric 'pressure_tpt' is a pressure in psi, but unit 'degC' is a temperature unit/],
        ['gauge pressure unit', configWith([{ function: 'holding', address: 4, metric: 'pressure_tpt', unit: 'psig' }]), /Register 1 \(holding 4\): .*psig/],
        ['no asset', { operator: 'o', registers: [{ function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' }] }, /names no asset_id and the node has no asset/],
        ['unit id past 255', configWith([{ unit_id: 256, function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' }]), /unit id 256; use a whole number from 0 to 255/],
        ['node unit id', configWith([{ function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' }], { unitId: 'one' }), /The node has the unit id "one"/],
    ];
    for (const [name, config, message] of cases) {
        it(`should reject ${name}`, () => {
            expect(() => parseRegisterMapConfig(config)).toThrow(ConfigError);
            expect(() => parseRegisterMapConfig(config)).toThrow(message);
        });
    }

    it('should name both overlapping registers', () => {
        const config = configWith([
            { function: 'holding', address: 10, type: 'float32', metric: 'pressure_tpt', unit: 'Pa' },
            { function: 'holding', address: 12, metric: 'temp_tpt', unit: 'degC' },
            { function: 'holding', address: 11, metric: 'pressure_upstream_choke', unit: 'kPa' },
        ]);

        expect(() => parseRegisterMapConfig(config)).toThrow(
            'Register 3 (uint16 at holding 11 of unit 1, pressure_upstream_choke of 3w-well-00001) overlaps register 1 (float32 at holding 10-11 of unit 1); move one of them to free addresses or remove the duplicate.',
        );
    });

    it('should record the position of the entry at fault', () => {
        const config = configWith([
            { function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' },
            { function: 'holding', address: 0, metric: 'pressure_tpt', unit: 'kPa' },
        ]);
        const unknownUnit = configWith([{ function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' }, { function: 'input', address: 0, metric: 'pressure_tpt', unit: 'kpa' }]);

        expect(() => parseRegisterMapConfig(config)).toThrow(expect.objectContaining({ context: { register: 2 } }));
        expect(() => parseRegisterMapConfig(unknownUnit)).toThrow(expect.objectContaining({ context: { register: 2 } }));
    });

    it('should reject two coils on one bit', () => {
        const config = configWith([
            { function: 'coil', address: 5, metric: 'choke_opening', unit: '%', asset_id: 'a' },
            { function: 'coil', address: 5, metric: 'choke_opening', unit: '%', asset_id: 'b' },
        ]);

        expect(() => parseRegisterMapConfig(config)).toThrow(/Register 2 .* overlaps register 1/);
    });

    it('should reject two registers for one reading', () => {
        const config = configWith([
            { function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' },
            { function: 'input', address: 0, metric: 'temp_tpt', unit: 'degC' },
        ]);

        expect(() => parseRegisterMapConfig(config)).toThrow(/Register 2 .* and register 1 both give temp_tpt of 3w-well-00001/);
    });
});

describe('describeRegister', () => {
    it('should name position, addresses and reading', () => {
        const [register] = parseRegisterMapConfig(configWith([{ unit_id: 3, function: 'input', address: 7, type: 'int32', metric: 'temp_tpt', unit: 'degC' }])).registers;

        expect(describeRegister(register)).toBe('Register 1 (int32 at input 7-8 of unit 3, temp_tpt of 3w-well-00001)');
    });
});
