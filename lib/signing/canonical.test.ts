import { describe, expect, it } from 'vitest';

import { ValidationError } from '../errors';
import { canonicalJson } from './canonical';

describe('canonicalJson', () => {
    it('should sort keys at every depth without whitespace', () => {
        const value = { b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } };

        expect(canonicalJson(value)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
    });

    it('should not depend on key insertion order', () => {
        expect(canonicalJson({ seq: 1, v: 1, device_id: 'd' })).toBe(canonicalJson({ device_id: 'd', v: 1, seq: 1 }));
    });

    it('should order keys by UTF-16 code units', () => {
        // U+1F600 is the surrogate pair D83D DE00 in UTF-16, so it sorts before U+FF21 although
        // its code point is larger. Upper case letters sort before lower case ones.
        const value = { '\uFF21': 1, '\u{1F600}': 2, b: 3, B: 4, '10': 5, '9': 6 };

        expect(canonicalJson(value)).toBe('{"10":5,"9":6,"B":4,"b":3,"\u{1F600}":2,"\uFF21":1}');
    });

    it('should write numbers and strings as JSON.stringify does', () => {
        expect(canonicalJson([1e21, -0, 0.1, 1.843341e7, 'a"b\n', '\u2028'])).toBe('[1e+21,0,0.1,18433410,"a\\"b\\n","\u2028"]');
    });

    it('should sort mixed key sets', () => {
        // Objects that share a first key but not the rest, in a row, as in a mixed batch.
        const value = [{ a: 1, c: 2 }, { a: 1, b: 2 }, { a: 1, c: 2, b: 3 }, { a: 1, c: 2 }, { c: 1, a: 2 }, { a: 1, 'b"': 2 }];

        expect(canonicalJson(value)).toBe('[{"a":1,"c":2},{"a":1,"b":2},{"a":1,"b":3,"c":2},{"a":1,"c":2},{"a":2,"c":1},{"a":1,"b\\"":2}]');
    });

    it('should sort many object shapes', () => {
        const value = Array.from({ length: 200 }, (_, index) => ({ [`k${index}`]: index, a: index }));
        const expected = `[${value.map((_, index) => `{"a":${index},"k${index}":${index}}`).join(',')}]`;

        expect(canonicalJson(value)).toBe(expected);
        expect(canonicalJson(value)).toBe(expected);
    });

    it('should keep array order', () => {
        expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    });

    const invalid: [string, unknown, string][] = [
        ['NaN', { readings: [{ value: Number.NaN }] }, '$.readings[0].value'],
        ['Infinity', { v: Number.POSITIVE_INFINITY }, '$.v'],
        ['undefined property', { sig: undefined }, '$.sig'],
        ['undefined element', [1, undefined], '$[1]'],
        // eslint-disable-next-line no-sparse-arrays
        ['array hole', [1, , 3], '$[1]'],
        ['Date', { ts: new Date(0) }, '$.ts'],
        ['function', { f: () => 1 }, '$.f'],
        ['bigint', { n: 1n }, '$.n'],
    ];
    for (const [name, value, path] of invalid) {
        it(`should reject ${name} with its path`, () => {
            let thrown: unknown;
            try {
                canonicalJson(value);
            } catch (err) {
                thrown = err;
            }

            expect(thrown).toBeInstanceOf(ValidationError);
            expect((thrown as ValidationError).code).toBe('invalid_json_value');
            expect((thrown as ValidationError).field).toBe(path);
            expect((thrown as Error).message).toContain(path);
        });
    }
});
