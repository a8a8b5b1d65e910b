import { describe, expect, it } from 'vitest';

import { excelSerialToIsoDay, isSummerTimeEndDay, toIsoDay } from './dates';

describe('isSummerTimeEndDay', () => {
    it('should accept the last Sunday of October', () => {
        for (const day of ['2008-10-26', '2009-10-25', '2010-10-31', '2013-10-27', '2014-10-26', '2016-10-30']) {
            expect(isSummerTimeEndDay(day), day).toBe(true);
        }
    });

    it('should reject other Sundays and other days', () => {
        for (const day of ['2014-10-19', '2014-10-25', '2014-10-27', '2015-03-29', '2014-06-01', '2010-10-24']) {
            expect(isSummerTimeEndDay(day), day).toBe(false);
        }
    });
});

describe('toIsoDay', () => {
    it('should keep YYYY-MM-DD text and drop a midnight time', () => {
        expect(toIsoDay('2014-04-07')).toBe('2014-04-07');
        expect(toIsoDay(' 2014-04-07 00:00:00 ')).toBe('2014-04-07');
        expect(toIsoDay('2014-04-07T00:00:00.000Z')).toBe('2014-04-07');
    });

    it('should convert date cells and Excel serials', () => {
        expect(toIsoDay(new Date(Date.UTC(2014, 3, 7)))).toBe('2014-04-07');
        expect(excelSerialToIsoDay(41736)).toBe('2014-04-07');
        expect(excelSerialToIsoDay(61)).toBe('1900-03-01');
    });

    it('should leave a time of day visible', () => {
        expect(toIsoDay(new Date(Date.UTC(2014, 3, 7, 6)))).toBe('2014-04-07T06:00:00.000Z');
        expect(excelSerialToIsoDay(41736.25)).toBe('2014-04-07T06:00:00.000Z');
        expect(toIsoDay('07.04.2014')).toBe('07.04.2014');
    });
});
