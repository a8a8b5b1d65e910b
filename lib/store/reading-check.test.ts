import { describe, expect, it } from 'vitest';

import { checkReadings, STORE_REJECTION_SOURCE } from './reading-check';

const good = { asset_id: 'volve-15-9-f-12', metric: 'oil_rate', value: 1200.5, unit: 'bopd', ts: '2016-06-01T00:00:00.000Z' };

describe('checkReadings', () => {
    it('should pass valid readings', () => {
        const result = checkReadings([good, { ...good, value: null, ts: '2016-06-01T02:00:00+02:00', quality_flag: 'BAD' }]);

        expect(result.readings).toHaveLength(2);
        expect(result.rejections).toHaveLength(0);
    });

    it.each([
        ['ts', { ...good, ts: '2016-06-01T00:00:00' }],
        ['ts', { ...good, ts: 'yesterday' }],
        ['value', { ...good, value: Number.NaN }],
        ['value', { ...good, value: '12' }],
        ['value', { ...good, value: 1.5e150 }],
        ['value', { ...good, value: -1e200 }],
        ['asset_id', { ...good, asset_id: '' }],
        ['unit', { ...good, unit: undefined }],
        ['quality_flag', { ...good, quality_flag: 'OK' }],
    ])('should reject a reading with an invalid %s', (field, item) => {
        const result = checkReadings([good, item], '2016-06-02T00:00:00.000Z');

        expect(result.readings).toEqual([good]);
        expect(result.rejections).toHaveLength(1);
        expect(result.rejections[0]).toMatchObject({ source: STORE_REJECTION_SOURCE, code: 'invalid_reading', field, payload: item });
    });

    it('should accept values up to 1e150', () => {
        const result = checkReadings([{ ...good, value: 1e150 }, { ...good, value: -1e150 }]);

        expect(result.readings).toHaveLength(2);
    });

    it('should name the accepted range', () => {
        const [rejection] = checkReadings([{ ...good, value: 1e200 }]).rejections;

        expect(rejection.reason).toBe('Value 1e+200 is too large to store; values from -1e150 to 1e150 are accepted. Check the unit and the scaling of the source.');
    });

    it('should key a rejection by the reading it describes', () => {
        const [rejection] = checkReadings([{ ...good, value: 'n/a' }]).rejections;

        expect(rejection.ref).toBe('volve-15-9-f-12/oil_rate/2016-06-01T00:00:00.000Z');
    });

    it('should reject an item that is not an object', () => {
        const [rejection] = checkReadings([42]).rejections;

        expect(rejection.field).toBeUndefined();
        expect(rejection.ref).toBeUndefined();
        expect(rejection.value).toBe(42);
    });
});
