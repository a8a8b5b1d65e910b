import { describe, expect, it } from 'vitest';

import { checkQueryNames, intParam, isoParam } from './http';

describe('isoParam', () => {
    it('should accept ISO times and dates', () => {
        expect(isoParam('2017-10-31T19:30:00Z', 'from')).toBe('2017-10-31T19:30:00.000Z');
        expect(isoParam('2017-10-31T21:30:00+02:00', 'from')).toBe('2017-10-31T19:30:00.000Z');
        expect(isoParam('2017-10-31', 'from')).toBe('2017-10-31T00:00:00.000Z');
        expect(isoParam('2024-02-29', 'from')).toBe('2024-02-29T00:00:00.000Z');
        expect(isoParam(undefined, 'from')).toBeUndefined();
    });

    it.each(['yesterday', '12', '2026-02-30T00:00:00Z', '2026-02-30', '2025-02-29', '2026-13-01', '2017-10-31 19:30:00'])('should reject %s', (value) => {
        expect(() => isoParam(value, 'from')).toThrow(`Query parameter from="${value}" is not an ISO 8601 time`);
    });
});

describe('intParam', () => {
    it('should accept plain whole numbers in range', () => {
        expect(intParam('10', 'limit', 1, 100)).toBe(10);
        expect(intParam(undefined, 'limit', 1, 100)).toBeUndefined();
    });

    it.each(['0x10', '1e3', '  5', '-1', '0', '101', '2.5'])('should reject %s', (value) => {
        expect(() => intParam(value, 'limit', 1, 100)).toThrow(`Query parameter limit="${value}" must be a whole number from 1 to 100`);
    });
});

describe('checkQueryNames', () => {
    it('should accept listed names and access_token', () => {
        const problems = checkQueryNames(new URLSearchParams('limit=5&access_token=t&since='), ['since', 'limit']);

        expect(problems).toEqual({ unknown: [], repeated: [] });
    });

    it('should list unknown and repeated names once each', () => {
        const problems = checkQueryNames(new URLSearchParams('lmit=1&limit=2&lmit=3&limit=4&access_token=a&access_token=b'), ['limit']);

        expect(problems.unknown).toEqual(['lmit']);
        expect(problems.repeated).toEqual(['lmit', 'limit', 'access_token']);
    });

    it('should compare decoded names exactly', () => {
        const problems = checkQueryNames(new URLSearchParams('asset%5Fid=a&Limit=1&limit%5B%5D=2'), ['asset_id', 'limit']);

        expect(problems.unknown).toEqual(['Limit', 'limit[]']);
    });
});
