import { describe, expect, it } from 'vitest';

import { decodeWords, engineeringValue, isWord, readBit } from './decode';

describe('decodeWords 16-bit', () => {
    it('should read uint16 words unchanged', () => {
        expect(decodeWords([0x1234], 'uint16')).toBe(4660);
        expect(decodeWords([0xffff], 'uint16')).toBe(65535);
    });

    it('should read int16 as two complement', () => {
        expect(decodeWords([0x7fff], 'int16')).toBe(32767);
        expect(decodeWords([0x8000], 'int16')).toBe(-32768);
        expect(decodeWords([0xffff], 'int16')).toBe(-1);
        expect(decodeWords([0xfc18], 'int16')).toBe(-1000);
    });
});

describe('decodeWords 32-bit', () => {
    it('should read uint32 in both word orders', () => {
        // 100000 = 0x0001_86A0
        expect(decodeWords([0x0001, 0x86a0], 'uint32', 'big')).toBe(100_000);
        expect(decodeWords([0x86a0, 0x0001], 'uint32', 'little')).toBe(100_000);
        expect(decodeWords([0xffff, 0xffff], 'uint32')).toBe(4_294_967_295);
    });

    it('should read int32 as two complement', () => {
        expect(decodeWords([0xffff, 0xfffe], 'int32', 'big')).toBe(-2);
        expect(decodeWords([0xfffe, 0xffff], 'int32', 'little')).toBe(-2);
        expect(decodeWords([0x8000, 0x0000], 'int32')).toBe(-2_147_483_648);
        expect(decodeWords([0x7fff, 0xffff], 'int32')).toBe(2_147_483_647);
    });

    it('should read float32 in both word orders', () => {
        // 123.5 = 0x42F7_0000, -1.5 = 0xBFC0_0000, and 0x461D_B066 is 10092.099609375
        expect(decodeWords([0x42f7, 0x0000], 'float32', 'big')).toBe(123.5);
        expect(decodeWords([0x0000, 0x42f7], 'float32', 'little')).toBe(123.5);
        expect(decodeWords([0xbfc0, 0x0000], 'float32')).toBe(-1.5);
        expect(decodeWords([0x461d, 0xb066], 'float32')).toBe(10_092.099_609_375);
    });

    it('should return NaN for a float32 NaN', () => {
        expect(decodeWords([0x7fc0, 0x0000], 'float32')).toBeNaN();
    });

    it('should default to the big word order', () => {
        expect(decodeWords([0x0001, 0x0000], 'uint32')).toBe(65_536);
    });
});

describe('decodeWords input checks', () => {
    it('should reject a wrong word count', () => {
        expect(() => decodeWords([1], 'float32')).toThrow(/float32 needs 2 words/);
        expect(() => decodeWords([1, 2], 'uint16')).toThrow(/uint16 needs 1 words/);
    });

    it('should reject values outside 16 bits', () => {
        expect(() => decodeWords([65_536], 'uint16')).toThrow(RangeError);
        expect(() => decodeWords([-1], 'int16')).toThrow(RangeError);
        expect(() => decodeWords([1.5], 'uint16')).toThrow(RangeError);
    });
});

describe('isWord and readBit', () => {
    it('should accept only 16-bit whole numbers', () => {
        expect(isWord(0)).toBe(true);
        expect(isWord(65_535)).toBe(true);
        expect(isWord(65_536)).toBe(false);
        expect(isWord('12')).toBe(false);
    });

    it('should read booleans and 0 or 1 as bits', () => {
        expect(readBit(true)).toBe(1);
        expect(readBit(0)).toBe(0);
        expect(readBit(2)).toBeUndefined();
        expect(readBit('1')).toBeUndefined();
    });
});

describe('engineeringValue', () => {
    it('should apply scale then offset', () => {
        expect(engineeringValue(2000, 0.5, -40)).toBe(960);
        expect(engineeringValue(-1000, 0.01, 0)).toBe(-10);
    });

    it('should remove the noise of decimal scales', () => {
        // 16098 * 0.1 is 1609.8000000000002 in binary floating point.
        expect(16_098 * 0.1).not.toBe(1609.8);
        expect(engineeringValue(16_098, 0.1, 0)).toBe(1609.8);
        expect(engineeringValue(3, 0.1, 0)).toBe(0.3);
    });
});
