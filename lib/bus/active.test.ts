import { describe, expect, it } from 'vitest';

import { parseActive } from './active';

describe('parseActive', () => {
    it('should read an unset setting as active', () => {
        expect(parseActive(undefined)).toBe(true);
        expect(parseActive('')).toBe(true);
    });

    it('should read the usual words for on and off', () => {
        for (const text of ['true', 'TRUE', ' yes ', 'on', '1']) expect(parseActive(text)).toBe(true);
        for (const text of ['false', 'No', 'off', '0']) expect(parseActive(text)).toBe(false);
        expect(parseActive(false)).toBe(false);
    });

    it('should reject other text', () => {
        expect(parseActive('maybe')).toBeUndefined();
        expect(parseActive(2)).toBeUndefined();
    });
});
