import { describe, expect, it } from 'vitest';

import { numberArrayParam, textArrayParam } from './sql-values';

describe('array literals', () => {
    it('should quote each text element', () => {
        expect(textArrayParam(['well-1', 'oil_rate', ''])).toBe('{"well-1","oil_rate",""}');
        expect(textArrayParam([])).toBe('{}');
    });

    it('should escape specials and nulls', () => {
        expect(textArrayParam(['a"b', 'c\\d', null, 'NULL'])).toBe('{"a\\"b","c\\\\d",NULL,"NULL"}');
    });

    it('should write numbers and nulls', () => {
        expect(numberArrayParam([1_764_000_000_000, 0.1, -2.5e-7, null])).toBe('{1764000000000,0.1,-2.5e-7,NULL}');
        expect(numberArrayParam([])).toBe('{}');
    });
});
