import { describe, expect, it } from 'vitest';

import { isoFromMs, parseTime, rememberLast } from './time';

describe('parseTime', () => {
    it('should match Date.parse', () => {
        const texts = ['2017-03-20T14:31:44.000Z', '2017-03-20T14:31:44.000Z', '2017-03-20T14:31:45Z', 'not a time', 'not a time', '2017-03-20T16:31:44+02:00', ''];
        for (const text of texts) expect(Object.is(parseTime(text), Date.parse(text))).toBe(true);
    });
});

describe('isoFromMs', () => {
    it('should match toISOString', () => {
        for (const ms of [0, 0, 1_490_020_304_000, 1_490_020_304_000, 1_490_020_305_123, -1]) {
            expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
        }
    });
});

describe('rememberLast', () => {
    it('should compute once per repeated argument', () => {
        let calls = 0;
        const double = rememberLast((value: number) => {
            calls += 1;
            return value * 2;
        });

        expect([double(2), double(2), double(3), double(2)]).toEqual([4, 4, 6, 4]);
        expect(calls).toBe(3);
    });
});
