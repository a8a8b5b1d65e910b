import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ValidationError } from '../errors';
import { DATA_DIR } from '../paths';
import {
    parseSourceTimestamp,
    readLines,
    readReplayFile,
    rowErrorToRejection,
    scanReplayFile,
    type ReplayLine,
    type ReplayRow,
    type RowError,
    type RowSlice,
} from './reader';

const LF_FILE = join(DATA_DIR, 'petrobras-3w/6/WELL-00004_20171031193025.csv');
const CRLF_FILE = join(DATA_DIR, 'petrobras-3w/2/WELL-00003_20180206182917.csv');
const HEADER = 'timestamp,P-PDG,P-TPT,T-TPT,P-MON-CKP,T-JUS-CKP,P-JUS-CKGL,T-JUS-CKGL,QGL,class';

const tempDir = mkdtempSync(join(tmpdir(), 'ul-replay-reader-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

function tempFile(name: string, text: string): string {
    const path = join(tempDir, name);
    writeFileSync(path, text);
    return path;
}

async function readAll(path: string, slice?: RowSlice): Promise<{ rows: ReplayRow[]; errors: RowError[] }> {
    const rows: ReplayRow[] = [];
    const errors: RowError[] = [];
    for await (const line of readReplayFile(path, slice) as AsyncGenerator<ReplayLine>) {
        if (line.ok) rows.push(line.row);
        else errors.push(line.error);
    }
    return { rows, errors };
}

describe('readReplayFile on 3W files', () => {
    it('should read every row of an LF file', async () => {
        const { rows, errors } = await readAll(LF_FILE);

        expect(errors).toEqual([]);
        expect(rows.length).toBe(1079);
        expect(rows[0]).toEqual({
            row: 1,
            source_ts: '2017-10-31T19:30:25.000Z',
            source_ms: Date.UTC(2017, 9, 31, 19, 30, 25),
            values: {
                'P-PDG': 0,
                'P-TPT': 1.335972e7,
                'T-TPT': 106.8783,
                'P-MON-CKP': 5.757488e6,
                'T-JUS-CKP': 72.78588,
                'P-JUS-CKGL': null,
                'T-JUS-CKGL': null,
                QGL: null,
            },
            label: '0',
        });
        const last = rows[rows.length - 1];
        expect(last.row).toBe(1079);
        expect(last.source_ts).toBe('2017-10-31T19:48:23.000Z');
        expect(last.values['P-TPT']).toBe(1.345395e7);
        expect(last.values['T-JUS-CKP']).toBe(72.37832);
        expect(last.label).toBe('6');
    });

    it('should read an empty label cell as null', async () => {
        const { rows } = await readAll(LF_FILE, { startRow: 415, endRow: 415 });

        expect(rows.length).toBe(1);
        expect(rows[0].source_ts).toBe('2017-10-31T19:37:19.000Z');
        expect(rows[0].label).toBeNull();
    });

    it('should read a CRLF file without a final newline', async () => {
        const { rows, errors } = await readAll(CRLF_FILE);

        expect(errors).toEqual([]);
        expect(rows.length).toBe(5084);
        expect(rows[0].source_ts).toBe('2018-02-06T18:29:17.000Z');
        expect(rows[0].values['P-PDG']).toBe(3.278878e7);
        expect(rows[0].values['T-JUS-CKP']).toBeNull();
        expect(rows[0].label).toBe('0');
        const last = rows[rows.length - 1];
        expect(last.row).toBe(5084);
        expect(last.source_ts).toBe('2018-02-06T19:54:00.000Z');
        expect(last.values['P-PDG']).toBe(3.437803e7);
        expect(last.values['P-MON-CKP']).toBe(7.234022e5);
        expect(last.label).toBe('2');
    });

    it('should read only the requested slice', async () => {
        const { rows } = await readAll(CRLF_FILE, { startRow: 100, endRow: 109 });

        expect(rows.map((row) => row.row)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
        expect(rows[0].source_ts).toBe('2018-02-06T18:30:56.000Z');
    });

    it('should scan counts and time range', async () => {
        const scan = await scanReplayFile(LF_FILE, { startRow: 11, endRow: 20 });

        expect(scan.total).toBe(10);
        expect(scan.valid).toBe(10);
        expect(scan.rejected).toBe(0);
        expect(scan.firstMs).toBe(Date.UTC(2017, 9, 31, 19, 30, 35));
        expect(scan.maxMs).toBe(Date.UTC(2017, 9, 31, 19, 30, 44));
    });
});

describe('readReplayFile line endings', () => {
    const body = ['2020-01-01 00:00:00.000000,1,2,3,4,5,6,7,8,0', '2020-01-01 00:00:01.000000,1.5e+01,,,,,,,,1'];
    const cases: [string, string][] = [
        ['lf-final.csv', [HEADER, ...body].join('\n') + '\n'],
        ['lf-open.csv', [HEADER, ...body].join('\n')],
        ['crlf-final.csv', [HEADER, ...body].join('\r\n') + '\r\n'],
        ['crlf-open.csv', [HEADER, ...body].join('\r\n')],
        ['bom.csv', '\uFEFF' + [HEADER, ...body].join('\r\n')],
    ];

    for (const [name, text] of cases) {
        it(`should read two rows from ${name}`, async () => {
            const { rows, errors } = await readAll(tempFile(name, text));

            expect(errors).toEqual([]);
            expect(rows.length).toBe(2);
            expect(rows[0].values.QGL).toBe(8);
            expect(rows[0].label).toBe('0');
            expect(rows[1].values['P-PDG']).toBe(15);
            expect(rows[1].values.QGL).toBeNull();
            expect(rows[1].label).toBe('1');
        });
    }

    it('should split lines across read chunks', async () => {
        const many = Array.from({ length: 5000 }, (_, index) => `2020-01-01 00:00:00.000000,${index},,,,,,,,0`);
        const path = tempFile('chunks.csv', [HEADER, ...many].join('\r\n'));
        const lines: string[] = [];
        for await (const line of readLines(path)) lines.push(line);

        expect(lines.length).toBe(5001);
        expect(lines.every((line) => !line.includes('\r'))).toBe(true);
        expect(lines[5000]).toBe('2020-01-01 00:00:00.000000,4999,,,,,,,,0');
    });
});

describe('readReplayFile invalid lines', () => {
    const path = tempFile(
        'invalid.csv',
        [
            HEADER,
            '2020-01-01 00:00:00.000000,1,2,3,4,5,6,7,8,0',
            '2020-01-01 00:00:01.000000,1,2,3',
            '2020-01-01 00:00:02.000000,1,abc,3,4,5,6,7,8,0',
            '2020-02-30 00:00:03.000000,1,2,3,4,5,6,7,8,0',
            '',
            '01/01/2020 00:00:04,1,2,3,4,5,6,7,8,0',
            '2020-01-01 00:00:05.000000,1,2,3,4,5,6,7,0x10,0',
            '2020-01-01 00:00:06.000000,1,2,3,4,5,6,7,8,0',
        ].join('\n'),
    );

    it('should report each invalid line with its row number', async () => {
        const { rows, errors } = await readAll(path);

        expect(rows.map((row) => row.row)).toEqual([1, 8]);
        expect(errors.map((error) => [error.row, error.code])).toEqual([
            [2, 'wrong_column_count'],
            [3, 'invalid_number'],
            [4, 'invalid_timestamp'],
            [6, 'invalid_timestamp'],
            [7, 'invalid_number'],
        ]);
        expect(errors[1].field).toBe('P-TPT');
        expect(errors[1].value).toBe('abc');
        expect(errors[1].message).toContain('P-TPT');
        expect(errors[4].value).toBe('0x10');
    });

    it('should turn a row error into a rejection', async () => {
        const { errors } = await readAll(path);
        const rejection = rowErrorToRejection(errors[1], 'replay:invalid.csv', new Date('2024-05-01T00:00:00Z'));

        expect(rejection).toEqual({
            source: 'replay:invalid.csv',
            reason: errors[1].message,
            code: 'invalid_number',
            field: 'P-TPT',
            value: 'abc',
            ref: '3',
            payload: '2020-01-01 00:00:02.000000,1,abc,3,4,5,6,7,8,0',
            received_at: '2024-05-01T00:00:00.000Z',
        });
    });

    it('should reject a file without a timestamp header', async () => {
        const bad = tempFile('no-header.csv', '2020-01-01 00:00:00.000000,1,2\n');

        await expect(readAll(bad)).rejects.toBeInstanceOf(ValidationError);
        await expect(readAll(bad)).rejects.toThrow(/"timestamp" column/);
    });

    it('should reject an empty file', async () => {
        await expect(readAll(tempFile('empty.csv', ''))).rejects.toThrow(/is empty/);
    });

    it('should fail for a missing file', async () => {
        await expect(readAll(join(tempDir, 'absent.csv'))).rejects.toThrow(/ENOENT/);
    });
});

describe('parseSourceTimestamp', () => {
    it('should read microseconds as milliseconds in UTC', () => {
        expect(parseSourceTimestamp('2017-10-31 19:30:25.123456')).toBe(Date.UTC(2017, 9, 31, 19, 30, 25, 123));
    });

    it('should accept a timestamp without fraction', () => {
        expect(parseSourceTimestamp('2017-10-31 19:30:25')).toBe(Date.UTC(2017, 9, 31, 19, 30, 25));
    });

    it('should reject impossible dates and times', () => {
        expect(parseSourceTimestamp('2017-04-31 00:00:00')).toBeUndefined();
        expect(parseSourceTimestamp('2017-13-01 00:00:00')).toBeUndefined();
        expect(parseSourceTimestamp('2017-01-01 24:00:00')).toBeUndefined();
        expect(parseSourceTimestamp('2017-01-01 00:00:00Z')).toBeUndefined();
    });
});
