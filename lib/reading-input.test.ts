import { describe, expect, it } from 'vitest';

import { checkReadings } from './reading-input';

const NOW = new Date('2024-05-01T00:00:00.000Z');
const GOOD = { asset_id: 'well-1', metric: 'pressure_tpt', value: 1500, unit: 'psi', ts: '2024-04-30T23:59:59.000Z' };

describe('checkReadings', () => {
    it('should pass readings with numbers or null values', () => {
        const result = checkReadings([GOOD, { ...GOOD, value: null }], 'rules:test', NOW);

        expect(result.readings).toEqual([GOOD, { ...GOOD, value: null }]);
        expect(result.rejections).toEqual([]);
    });

    it('should reject a payload that is not an array', () => {
        const result = checkReadings(GOOD, 'rules:test', NOW);

        expect(result.readings).toEqual([]);
        expect(result.rejections).toEqual([
            {
                source: 'rules:test',
                code: 'invalid_payload',
                reason: 'msg.payload is not an array of readings; wire the rules node after the normalizer.',
                payload: GOOD,
                received_at: '2024-05-01T00:00:00.000Z',
            },
        ]);
    });

    it.each([
        ['a string', 'pressure', undefined],
        ['a missing asset', { ...GOOD, asset_id: '' }, 'asset_id'],
        ['a missing unit', { ...GOOD, unit: undefined }, 'unit'],
        ['a bad timestamp', { ...GOOD, ts: '31/10/2017' }, 'ts'],
        ['a text value', { ...GOOD, value: '1500' }, 'value'],
        ['an infinite value', { ...GOOD, value: Infinity }, 'value'],
    ])('should reject %s', (_case, item, field) => {
        const result = checkReadings([GOOD, item], 'rules:test', NOW);

        expect(result.readings).toEqual([GOOD]);
        expect(result.rejections).toHaveLength(1);
        expect(result.rejections[0]).toMatchObject({ code: 'invalid_reading', ref: 'item 1', payload: item });
        expect(result.rejections[0].field).toBe(field);
    });
});
