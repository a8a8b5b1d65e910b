import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { StableFiles, archiveReport, isReportFileName, listReportFiles, loadLedger, saveLedger } from './inbox-files';

let dir: string;

beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ul-inbox-'));
});

afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe('isReportFileName', () => {
    it('should take csv and xlsx files in any case', () => {
        expect(isReportFileName('day.csv')).toBe(true);
        expect(isReportFileName('DAY.XLSX')).toBe(true);
    });

    it('should skip hidden files, lock files and other formats', () => {
        expect(isReportFileName('.imported.json')).toBe(false);
        expect(isReportFileName('.day.csv')).toBe(false);
        expect(isReportFileName('~$day.xlsx')).toBe(false);
        expect(isReportFileName('day.csv.error.txt')).toBe(false);
        expect(isReportFileName('day.xls')).toBe(false);
    });
});

describe('StableFiles', () => {
    it('should report a file once two listings agree', () => {
        const stable = new StableFiles();

        expect(stable.ready([{ name: 'a.csv', size: 10, mtimeMs: 1 }])).toEqual([]);
        expect(stable.ready([{ name: 'a.csv', size: 20, mtimeMs: 2 }])).toEqual([]);
        expect(stable.ready([{ name: 'a.csv', size: 20, mtimeMs: 2 }])).toEqual(['a.csv']);
    });
});

describe('listReportFiles', () => {
    it('should list report files only, sorted by name', async () => {
        await writeFile(join(dir, 'b.csv'), 'x');
        await writeFile(join(dir, 'a.xlsx'), 'x');
        await writeFile(join(dir, 'notes.txt'), 'x');
        await archiveReport(dir, 'processed', { name: 'c.csv', buffer: Buffer.from('x') });

        expect((await listReportFiles(dir)).map((file) => file.name)).toEqual(['a.xlsx', 'b.csv']);
    });

    it('should name the other visible files', async () => {
        await writeFile(join(dir, 'b.csv'), 'x');
        await writeFile(join(dir, 'notes.txt'), 'x');
        await writeFile(join(dir, '.hidden.txt'), 'x');
        await writeFile(join(dir, '~$b.xlsx'), 'x');
        const ignored: string[] = [];

        await listReportFiles(dir, ignored);

        expect(ignored).toEqual(['notes.txt']);
    });
});

describe('archiveReport', () => {
    it('should keep both files when the name is taken', async () => {
        await writeFile(join(dir, 'day.csv'), 'first');
        await archiveReport(dir, 'processed', { name: 'day.csv', path: join(dir, 'day.csv') });
        await writeFile(join(dir, 'day.csv'), 'second');
        const second = await archiveReport(dir, 'processed', { name: 'day.csv', path: join(dir, 'day.csv') });

        const names = (await readdir(join(dir, 'processed'))).sort();
        expect(names).toHaveLength(2);
        expect(names[0]).toMatch(/^day\.\d{8}T\d{6}Z\.csv$/);
        expect(names[1]).toBe('day.csv');
        expect(await readFile(second, 'utf8')).toBe('second');
        expect(await readdir(dir)).toEqual(['processed']);
    });

    it('should write the reason beside a failed file', async () => {
        const path = await archiveReport(dir, 'failed', { name: 'up.csv', buffer: Buffer.from('x') }, 'header is wrong');

        expect(await readFile(`${path}.error.txt`, 'utf8')).toBe('header is wrong\n');
    });
});

describe('ledger', () => {
    it('should start empty and keep what was saved', async () => {
        expect(await loadLedger(dir)).toEqual({});

        const entry = { file: 'day.csv', imported_at: '2024-01-01T00:00:00.000Z', rows: 3, accepted_rows: 2, rejected_rows: 1 };
        await saveLedger(dir, { abc: entry });

        expect(await loadLedger(dir)).toEqual({ abc: entry });
        expect(await readdir(dir)).toEqual(['.imported.json']);
    });

    it('should reject a ledger that is not an object', async () => {
        await writeFile(join(dir, '.imported.json'), '[1, 2]');

        await expect(loadLedger(dir)).rejects.toThrow('Repair it, or delete it');
    });
});
