import { describe, expect, it } from 'vitest';

import { globToRegExp, selectFiles, splitPatterns } from './files';

describe('globToRegExp', () => {
    it('should match names, folders and any depth', () => {
        expect(globToRegExp('*.csv').test('a.csv')).toBe(true);
        expect(globToRegExp('*.csv').test('2/a.csv')).toBe(false);
        expect(globToRegExp('**/*.csv').test('a.csv')).toBe(true);
        expect(globToRegExp('**/*.csv').test('2/x/a.csv')).toBe(true);
        expect(globToRegExp('2/WELL-0000?_*.csv').test('2/WELL-00009_2017.csv')).toBe(true);
        expect(globToRegExp('2/WELL-0000?_*.csv').test('2/WELL-00010_2017.csv')).toBe(false);
    });

    it('should match dots and brackets literally', () => {
        expect(globToRegExp('a.csv').test('abcsv')).toBe(false);
        expect(globToRegExp('(1).csv').test('(1).csv')).toBe(true);
    });
});

describe('selectFiles', () => {
    it('should keep names matching any pattern', () => {
        const names = ['0/a.csv', '2/b.csv', '6/c.csv'];

        expect(selectFiles(names, splitPatterns(' 0/*.csv, 6/c.csv ,'))).toEqual(['0/a.csv', '6/c.csv']);
    });
});
