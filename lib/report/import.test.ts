import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Workbook } from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { METRICS } from '../metrics';
import { DATA_DIR } from '../paths';
import type { Asset, Rejection } from '../types';
import { REPORT_COLUMNS, type ReportColumn } from './columns';
import { ReportFileError } from './header';
import { importReport, type ImportedRow, type ImportSummary } from './import';
import type { ReportInput } from './source';
import { loadWellRegistry, type WellRegistry } from './wells';

const CSV_FILE = join(DATA_DIR, 'equinor-volve', 'volve_daily_production.csv');
const XLSX_FILE = join(DATA_DIR, 'equinor-volve', 'volve_production_daily.xlsx');
const ASSETS_FILE = join(DATA_DIR, 'assets.json');
const VOLUMES = ['BORE_OIL_VOL', 'BORE_GAS_VOL', 'BORE_WAT_VOL', 'BORE_WI_VOL'];

const NUMERIC_COLUMNS = [
    'ON_STREAM_HRS',
    'AVG_DOWNHOLE_PRESSURE',
    'AVG_DOWNHOLE_TEMPERATURE',
    'AVG_DP_TUBING',
    'AVG_ANNULUS_PRESS',
    'AVG_CHOKE_SIZE_P',
    'AVG_WHP_P',
    'AVG_WHT_P',
    'DP_CHOKE_SIZE',
    'BORE_OIL_VOL',
    'BORE_GAS_VOL',
    'BORE_WAT_VOL',
    'BORE_WI_VOL',
];

interface Collected {
    summary: ImportSummary;
    accepted: Map<number, ImportedRow>;
    rejected: Rejection[];
    totalRows?: number;
    ms: number;
}

async function collect(input: ReportInput, wells: WellRegistry): Promise<Collected> {
    const accepted = new Map<number, ImportedRow>();
    const rejected: Rejection[] = [];
    let totalRows: number | undefined;
    const started = Date.now();
    const summary = await importReport(input, {
        wells,
        onStart: (info) => {
            totalRows = info.totalRows;
        },
        onAccepted: (row) => accepted.set(row.ref, row),
        onRejected: (rejection) => rejected.push(rejection),
    });
    return { summary, accepted, rejected, totalRows, ms: Date.now() - started };
}

/** Last Sunday of October, found by stepping back from 31 October. */
function lastSundayOfOctober(year: number): number {
    return 31 - new Date(Date.UTC(year, 9, 31)).getUTCDay();
}

/**
 * What the Volve CSV must give, counted straight from its lines (it has no quoted fields): the
 * rejected rows with their codes and the number of non-empty numeric cells of the accepted rows.
 */
function expectedFromCsv(): { rows: number; rejected: Map<number, string>; readings: number; longDays: number[] } {
    const lines = readFileSync(CSV_FILE, 'utf8').split('\n').filter((line) => line.trim() !== '');
    const header = lines[0].split(',');
    const column = (fields: string[], name: string): string => fields[header.indexOf(name)];
    const registry = JSON.parse(readFileSync(ASSETS_FILE, 'utf8')) as { assets: Asset[] };
    const wells = new Set(registry.assets.map((asset) => asset.attributes?.npd_well_bore_name).filter(Boolean));
    const seen = new Set<string>();
    const rejected = new Map<number, string>();
    const longDays: number[] = [];
    let readings = 0;

    lines.slice(1).forEach((line, index) => {
        const ref = index + 2;
        const fields = line.split(',');
        expect(fields.length, `line ${ref}`).toBe(header.length);
        const day = column(fields, 'DATEPRD');
        const well = column(fields, 'NPD_WELL_BORE_NAME');
        const hours = Number(column(fields, 'ON_STREAM_HRS') || '0');
        const [year, month, date] = day.split('-').map(Number);
        const dstEnd = month === 10 && date === lastSundayOfOctober(year);
        const key = `${well}|${day}`;

        let code: string | undefined;
        if (!wells.has(well)) code = 'unknown_well';
        else if (seen.has(key)) code = 'duplicate_row';
        else if (VOLUMES.some((name) => Number(column(fields, name) || '0') < 0)) code = 'negative_volume';
        else if (hours < 0 || hours > 25 || (hours > 24 && !dstEnd)) code = 'invalid_hours';
        seen.add(key);

        if (hours > 24) longDays.push(ref);
        if (code) rejected.set(ref, code);
        else readings += NUMERIC_COLUMNS.filter((name) => column(fields, name) !== '').length;
    });
    return { rows: lines.length - 1, rejected, readings, longDays };
}

describe('importReport with the Volve daily production files', () => {
    let wells: WellRegistry;
    let csv: Collected;
    let xlsx: Collected;
    const expected = expectedFromCsv();

    beforeAll(async () => {
        wells = await loadWellRegistry(ASSETS_FILE);
        csv = await collect({ name: 'volve_daily_production.csv', path: CSV_FILE }, wells);
        xlsx = await collect({ name: 'volve_production_daily.xlsx', path: XLSX_FILE }, wells);
        console.log(`CSV summary (${csv.ms} ms):`, JSON.stringify(csv.summary));
        console.log(`XLSX summary (${xlsx.ms} ms):`, JSON.stringify(xlsx.summary));
    }, 120_000);

    it('should match counts taken from the CSV', () => {
        expect(csv.summary.rows).toBe(expected.rows);
        expect(csv.summary.rows).toBe(15_634);
        expect(csv.summary.rejected_rows).toBe(expected.rejected.size);
        expect(csv.summary.accepted_rows).toBe(expected.rows - expected.rejected.size);
        expect(csv.summary.readings).toBe(expected.readings);
        expect(csv.summary.by_code).toEqual({ negative_volume: 4 });
        expect(csv.rejected.map((r) => [Number(r.ref), r.code])).toEqual([...expected.rejected.entries()]);
    });

    it('should accept 25-hour days when summer time ends', () => {
        expect(expected.longDays.length).toBe(20);
        for (const ref of expected.longDays) expect(csv.accepted.has(ref), `row ${ref}`).toBe(true);
    });

    it('should reject negative water volumes', () => {
        const lowest = csv.rejected.find((r) => r.ref === '3504');
        expect(lowest?.code).toBe('negative_volume');
        expect(lowest?.field).toBe('BORE_WAT_VOL');
        expect(lowest?.value).toBe('-457.84');
        expect(lowest?.source).toBe('report:volve_daily_production.csv');
        expect(lowest?.reason).toContain('BORE_WAT_VOL');
        expect(lowest?.reason).toContain('-457.84');
    });

    it('should give identical results for the XLSX copy', () => {
        expect(xlsx.summary.rows).toBe(csv.summary.rows);
        expect(xlsx.summary.accepted_rows).toBe(csv.summary.accepted_rows);
        expect(xlsx.summary.readings).toBe(csv.summary.readings);
        expect(xlsx.summary.by_code).toEqual(csv.summary.by_code);
        expect(xlsx.rejected.map((r) => [r.ref, r.code, r.field])).toEqual(csv.rejected.map((r) => [r.ref, r.code, r.field]));
        expect([...xlsx.accepted.keys()]).toEqual([...csv.accepted.keys()]);
        for (const [ref, row] of csv.accepted) {
            expect(xlsx.accepted.get(ref), `row ${ref}`).toEqual(row);
        }
    });

    it('should know the row count in advance', () => {
        expect(csv.totalRows).toBe(15_634);
        expect(xlsx.totalRows).toBe(15_634);
    });

    it('should map columns to metrics in source units', () => {
        const first = csv.accepted.get(2);
        expect(first?.asset_id).toBe('volve-15-9-f-1-c');
        expect(first?.day).toBe('2014-04-07');
        expect(first?.attributes).toEqual({ flow_kind: 'production', well_type: 'WI' });
        expect(first?.readings.map((r) => [r.metric, r.unit])).toEqual([
            ['on_stream_hours', 'h'],
            ['pressure_downhole', 'bar'],
            ['temp_downhole', 'degC'],
            ['pressure_tubing_dp', 'bar'],
            ['pressure_annulus', 'bar'],
            ['choke_opening', '%'],
            ['pressure_wellhead', 'bar'],
            ['temp_wellhead', 'degC'],
            ['pressure_choke_dp', 'bar'],
            ['oil_rate', 'Sm3/d'],
            ['gas_rate', 'Sm3/d'],
            ['water_rate', 'Sm3/d'],
        ]);
        expect(first?.readings.every((r) => r.ts === '2014-04-07T00:00:00.000Z' && r.asset_id === 'volve-15-9-f-1-c')).toBe(true);

        const metrics = new Set([...csv.accepted.values()].flatMap((row) => row.readings.map((r) => r.metric)));
        for (const metric of metrics) expect(METRICS.has(metric), metric).toBe(true);
    });

    it('should skip empty cells only', () => {
        // Row 3: no downhole pressure, temperature or tubing drop, and no injected water.
        const row = csv.accepted.get(3);
        const metrics = row?.readings.map((r) => r.metric);
        expect(metrics).not.toContain('pressure_downhole');
        expect(metrics).not.toContain('water_injection_rate');
        expect(row?.readings.find((r) => r.metric === 'choke_opening')?.value).toBe(1.0030591666666666);
    });
});

/** A valid Volve-like row; fixtures override single cells. */
const BASE_ROW: Record<ReportColumn, string> = {
    DATEPRD: '2014-04-07',
    WELL_BORE_CODE: 'NO 15/9-F-12 H',
    NPD_WELL_BORE_CODE: '5599',
    NPD_WELL_BORE_NAME: '15/9-F-12',
    NPD_FIELD_CODE: '3420717',
    NPD_FIELD_NAME: 'VOLVE',
    NPD_FACILITY_CODE: '369304',
    NPD_FACILITY_NAME: 'MÆRSK, INSPIRER',
    ON_STREAM_HRS: '24',
    AVG_DOWNHOLE_PRESSURE: '250.5',
    AVG_DOWNHOLE_TEMPERATURE: '106.1',
    AVG_DP_TUBING: '160.2',
    AVG_ANNULUS_PRESS: '11',
    AVG_CHOKE_SIZE_P: '31.5',
    AVG_CHOKE_UOM: '%',
    AVG_WHP_P: '90.3',
    AVG_WHT_P: '73.5',
    DP_CHOKE_SIZE: '60.25',
    BORE_OIL_VOL: '2735.53',
    BORE_GAS_VOL: '422115.01',
    BORE_WAT_VOL: '14.19',
    BORE_WI_VOL: '',
    FLOW_KIND: 'production',
    WELL_TYPE: 'OP',
};

/** Fixture rows in file order (the first is row 2) with the code each must get; undefined = accepted. */
const FIXTURE: { cells: Partial<Record<ReportColumn, string>>; code?: string; field?: string }[] = [
    { cells: {} },
    { cells: { DATEPRD: '2014-02-30' }, code: 'invalid_date', field: 'DATEPRD' },
    { cells: { NPD_WELL_BORE_NAME: '15/9-F-99' }, code: 'unknown_well', field: 'NPD_WELL_BORE_NAME' },
    { cells: { DATEPRD: '2014-04-09', BORE_OIL_VOL: 'abc' }, code: 'non_numeric_value', field: 'BORE_OIL_VOL' },
    { cells: { DATEPRD: '2014-04-10', BORE_OIL_VOL: '-5' }, code: 'negative_volume', field: 'BORE_OIL_VOL' },
    { cells: { DATEPRD: '2014-04-11', ON_STREAM_HRS: '26' }, code: 'invalid_hours', field: 'ON_STREAM_HRS' },
    { cells: {}, code: 'duplicate_row' },
    { cells: { DATEPRD: '2014-10-26', ON_STREAM_HRS: '25' } },
    { cells: { DATEPRD: '2014-06-01', ON_STREAM_HRS: '24.5' }, code: 'invalid_hours', field: 'ON_STREAM_HRS' },
    { cells: { DATEPRD: '2014-06-02', AVG_CHOKE_UOM: 'in' }, code: 'wrong_unit', field: 'AVG_CHOKE_UOM' },
    { cells: { DATEPRD: '2014-04-08', AVG_DOWNHOLE_PRESSURE: '', AVG_DP_TUBING: '', AVG_CHOKE_UOM: '' } },
    { cells: { DATEPRD: 'x', BORE_GAS_VOL: 'abc' }, code: 'invalid_date', field: 'DATEPRD' },
    { cells: { DATEPRD: '' }, code: 'invalid_date', field: 'DATEPRD' },
];

function fixtureRow(cells: Partial<Record<ReportColumn, string>>): Record<ReportColumn, string> {
    return { ...BASE_ROW, ...cells };
}

function csvLine(values: string[]): string {
    return values.map((value) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value)).join(',');
}

function fixtureCsv(rows: Partial<Record<ReportColumn, string>>[], columns: readonly string[] = REPORT_COLUMNS): string {
    const body = rows.map((cells) => csvLine(columns.map((c) => fixtureRow(cells)[c as ReportColumn] ?? '')));
    const lines = [csvLine([...columns]), ...body];
    return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** Fixture days written as date cells. The other DATEPRD values stay text in the workbook. */
const VALID_DAYS = /^2014-(04-0[7-9]|04-1[01]|06-0[12]|10-26)$/;

/** Writes the fixture as a workbook: dates as date cells, numbers as number cells, the rest as text. */
async function fixtureXlsx(path: string, firstSheet?: string): Promise<void> {
    const workbook = new Workbook();
    if (firstSheet) workbook.addWorksheet(firstSheet).addRow(['notes', 'not the report']);
    const sheet = workbook.addWorksheet(firstSheet ? 'Daily Production Data' : 'Volve');
    sheet.addRow([...REPORT_COLUMNS]);
    for (const { cells } of FIXTURE) {
        const row = fixtureRow(cells);
        sheet.addRow(
            REPORT_COLUMNS.map((column) => {
                const text = row[column];
                if (text === '') return null;
                if (column === 'DATEPRD') return VALID_DAYS.test(text) ? new Date(`${text}T00:00:00Z`) : text;
                return NUMERIC_COLUMNS.includes(column) && !Number.isNaN(Number(text)) ? Number(text) : text;
            }),
        );
    }
    sheet.getColumn(1).numFmt = 'yyyy-mm-dd';
    await workbook.xlsx.writeFile(path);
}

describe('importReport with broken rows', () => {
    let dir: string;
    let wells: WellRegistry;

    beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'ul-report-'));
        wells = await loadWellRegistry(ASSETS_FILE);
    });

    afterAll(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    function expectFixtureOutcome(result: Collected): void {
        FIXTURE.forEach((entry, index) => {
            const ref = index + 2;
            const rejection = result.rejected.find((r) => r.ref === String(ref));
            if (entry.code === undefined) {
                expect(result.accepted.has(ref), `row ${ref} accepted`).toBe(true);
                expect(rejection, `row ${ref} not rejected`).toBeUndefined();
            } else {
                expect(rejection?.code, `row ${ref} code`).toBe(entry.code);
                expect(rejection?.field, `row ${ref} field`).toBe(entry.field);
            }
        });
    }

    it('should reject each broken CSV row with its code', async () => {
        const path = join(dir, 'broken.csv');
        await writeFile(path, fixtureCsv(FIXTURE.map((f) => f.cells)));
        const result = await collect({ name: 'broken.csv', path }, wells);

        expectFixtureOutcome(result);
        expect(result.summary.rows).toBe(FIXTURE.length);
        expect(result.summary.by_code).toEqual({
            invalid_date: 3,
            unknown_well: 1,
            non_numeric_value: 1,
            negative_volume: 1,
            invalid_hours: 2,
            duplicate_row: 1,
            wrong_unit: 1,
        });
        expect(result.rejected.every((r) => r.source === 'report:broken.csv')).toBe(true);
    });

    it('should name column, value and fix', async () => {
        const path = join(dir, 'reasons.csv');
        await writeFile(path, fixtureCsv(FIXTURE.map((f) => f.cells)));
        const { rejected } = await collect({ name: 'reasons.csv', path }, wells);
        const reason = (ref: number): string => rejected.find((r) => r.ref === String(ref))?.reason ?? '';

        expect(reason(3)).toContain('"2014-02-30"');
        expect(reason(3)).toContain('YYYY-MM-DD');
        expect(reason(4)).toContain('15/9-F-99');
        expect(reason(4)).toContain('data/assets.json');
        expect(reason(5)).toContain('BORE_OIL_VOL "abc" is not a number');
        expect(reason(6)).toContain('BORE_OIL_VOL is "-5"');
        expect(reason(7)).toContain('ON_STREAM_HRS is "26"');
        expect(reason(8)).toContain('already reported in row 2');
        expect(reason(10)).toContain('2014-06-01 has 24 hours');
        expect(reason(11)).toContain('AVG_CHOKE_UOM is "in"');
        expect(reason(13)).toContain('Other problems in this row');
        expect(reason(13)).toContain('BORE_GAS_VOL');
        expect(reason(14)).toContain('DATEPRD is empty');
        const payload = rejected.find((r) => r.ref === '5')?.payload;
        expect(payload).toMatchObject({ BORE_OIL_VOL: 'abc', NPD_FACILITY_NAME: 'MÆRSK, INSPIRER' });
    });

    it('should emit no reading for empty cells', async () => {
        const path = join(dir, 'empty-cells.csv');
        await writeFile(path, fixtureCsv(FIXTURE.map((f) => f.cells)));
        const { accepted } = await collect({ name: 'empty-cells.csv', path }, wells);

        expect(accepted.get(2)?.readings.length).toBe(12);
        expect(accepted.get(12)?.readings.length).toBe(10);
        expect(accepted.get(9)?.readings.find((r) => r.metric === 'on_stream_hours')?.value).toBe(25);
    });

    it('should reject the same rows of the workbook copy', async () => {
        const path = join(dir, 'broken.xlsx');
        await fixtureXlsx(path, 'Notes');
        const result = await collect({ name: 'broken.xlsx', path }, wells);

        expectFixtureOutcome(result);
        expect(result.totalRows).toBe(FIXTURE.length);
    });

    it('should fall back to the first sheet', async () => {
        const path = join(dir, 'first-sheet.xlsx');
        await fixtureXlsx(path);
        const result = await collect({ name: 'first-sheet.xlsx', path }, wells);

        expect(result.summary.rows).toBe(FIXTURE.length);
        expectFixtureOutcome(result);
    });

    it('should read an uploaded buffer like a file', async () => {
        const buffer = Buffer.from(fixtureCsv(FIXTURE.map((f) => f.cells)));
        const result = await collect({ name: 'upload.csv', buffer }, wells);

        expectFixtureOutcome(result);
    });

    it('should reject values past the header', async () => {
        const path = join(dir, 'shifted.csv');
        const good = csvLine(REPORT_COLUMNS.map((c) => BASE_ROW[c]));
        const shifted = csvLine(REPORT_COLUMNS.map((c) => fixtureRow({ DATEPRD: '2014-04-08' })[c])) + ',extra';
        const trailing = csvLine(REPORT_COLUMNS.map((c) => fixtureRow({ DATEPRD: '2014-04-09' })[c])) + ',,';
        await writeFile(path, [csvLine([...REPORT_COLUMNS]), good, shifted, trailing].join('\n'));
        const result = await collect({ name: 'shifted.csv', path }, wells);

        expect(result.rejected.map((r) => [r.ref, r.code])).toEqual([['3', 'wrong_column_count']]);
        expect(result.accepted.has(4)).toBe(true);
    });

    it('should number rows as a spreadsheet does', async () => {
        const path = join(dir, 'lines.csv');
        const multiline = csvLine(REPORT_COLUMNS.map((c) => fixtureRow({ NPD_FACILITY_NAME: 'MÆRSK\nINSPIRER' })[c]));
        const negative = csvLine(REPORT_COLUMNS.map((c) => fixtureRow({ DATEPRD: '2014-04-08', BORE_GAS_VOL: '-1' })[c]));
        await writeFile(path, `${csvLine([...REPORT_COLUMNS])}\r\n${multiline}\n\r\n${negative}\n`);
        const result = await collect({ name: 'lines.csv', path }, wells);

        expect(result.accepted.has(2)).toBe(true);
        expect(result.rejected.map((r) => r.ref)).toEqual(['4']);
    });
});

describe('importReport with files that cannot be imported', () => {
    let dir: string;
    let wells: WellRegistry;

    beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'ul-report-'));
        wells = await loadWellRegistry(ASSETS_FILE);
    });

    afterAll(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    async function failure(input: ReportInput): Promise<{ error: ReportFileError; handedOut: number }> {
        let handedOut = 0;
        const error = await importReport(input, {
            wells,
            onAccepted: () => (handedOut += 1),
            onRejected: () => (handedOut += 1),
        }).then(
            () => undefined,
            (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(ReportFileError);
        return { error: error as ReportFileError, handedOut };
    }

    it('should reject a file missing a required column', async () => {
        const path = join(dir, 'no-oil.csv');
        await writeFile(path, fixtureCsv([{}, { DATEPRD: '2014-04-08' }], REPORT_COLUMNS.filter((c) => c !== 'BORE_OIL_VOL')));
        const { error, handedOut } = await failure({ name: 'no-oil.csv', path });

        expect(error.code).toBe('missing_columns');
        expect(error.field).toBe('BORE_OIL_VOL');
        expect(error.ref).toBe(1);
        expect(error.message).toContain('missing the required column BORE_OIL_VOL');
        expect(error.message).toContain(`Expected header: ${REPORT_COLUMNS.join(',')}`);
        expect(handedOut).toBe(0);
    });

    it('should point out a semicolon separator', async () => {
        const { error } = await failure({ name: 'semicolons.csv', buffer: Buffer.from(`${REPORT_COLUMNS.join(';')}\n`) });

        expect(error.code).toBe('missing_columns');
        expect(error.message).toContain('comma-separated');
    });

    it('should reject an unclosed quote up front', async () => {
        const text = fixtureCsv([{}, {}]).replace('MÆRSK, INSPIRER"', 'MÆRSK, INSPIRER');
        const { error, handedOut } = await failure({ name: 'quote.csv', buffer: Buffer.from(text) });

        expect(error.code).toBe('malformed_csv');
        expect(handedOut).toBe(0);
    });

    it('should reject a file that is not a report format', async () => {
        const { error } = await failure({ name: 'report.pdf', buffer: Buffer.from('%PDF-1.4') });

        expect(error.code).toBe('unsupported_file');
    });

    it('should reject a workbook that is not a zip archive', async () => {
        const { error } = await failure({ name: 'broken.xlsx', buffer: Buffer.from('not a workbook') });

        expect(error.code).toBe('unreadable_file');
    });

    it('should reject an empty file', async () => {
        const { error } = await failure({ name: 'empty.csv', buffer: Buffer.alloc(0) });

        expect(error.code).toBe('empty_file');
    });

    it('should stop at a chunk boundary when aborted', async () => {
        const controller = new AbortController();
        let accepted = 0;
        const run = importReport(
            { name: 'volve_daily_production.csv', path: CSV_FILE },
            {
                wells,
                chunkRows: 100,
                signal: controller.signal,
                onAccepted: () => {
                    accepted += 1;
                    if (accepted === 150) controller.abort(new Error('stop'));
                },
            },
        );

        await expect(run).rejects.toThrow('stop');
        expect(accepted).toBe(200);
    });
});
