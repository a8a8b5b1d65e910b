// Reads a CSV report into header and data rows. UTF-8 with or without a byte order mark, CRLF or
// LF line ends (mixed too), quoted fields with commas, quotes and line breaks.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

import { CsvError, parse, type Info, type Parser } from 'csv-parse';

import { ReportFileError } from './header';
import type { RawCell, SourceRow } from './row';
import type { ReportInput, ReportSource } from './source';

function parser(input: ReportInput): Parser {
    const bytes: Readable = input.buffer ? Readable.from([input.buffer]) : createReadStream(input.path as string);
    const csv = parse({
        bom: true,
        info: true,
        record_delimiter: ['\r\n', '\n'],
        relax_column_count: true,
        skip_empty_lines: true,
    });
    bytes.on('error', (err) => csv.destroy(err));
    return bytes.pipe(csv);
}

interface ParsedRecord {
    record: string[];
    info: Info;
}

/**
 * Row number as a spreadsheet shows the file: records so far plus skipped empty lines. It equals the
 * line number unless an earlier quoted field contains a line break.
 */
function rowNumber(info: Info): number {
    return info.records + info.empty_lines;
}

function structureError(err: unknown, input: ReportInput): unknown {
    if (!(err instanceof CsvError)) return err;
    const line = typeof err.lines === 'number' ? err.lines : undefined;
    return new ReportFileError(
        'malformed_csv',
        `The report ${input.name} is not valid CSV${line ? ` near line ${line}` : ''}: ${err.message}. ` +
            'Nothing of it was imported. Quote fields that contain commas, quotes or line breaks, ' +
            'double the quotes inside quoted fields, and submit the file again.',
        { file: input.name, ref: line, cause: err },
    );
}

/**
 * Parses the whole file once without using it, so a structural error rejects the file before any
 * row is imported, and returns the number of data rows (records after the header).
 */
async function countDataRows(input: ReportInput): Promise<number> {
    let records = 0;
    try {
        for await (const _record of parser(input)) records += 1;
    } catch (err) {
        throw structureError(err, input);
    }
    return Math.max(records - 1, 0);
}

export async function openCsv(input: ReportInput): Promise<ReportSource> {
    const totalRows = await countDataRows(input);
    const csv = parser(input);
    const records = csv[Symbol.asyncIterator]() as AsyncIterator<ParsedRecord>;

    const first = await records.next().catch((err: unknown) => {
        throw structureError(err, input);
    });
    if (first.done) {
        const message = `The report ${input.name} is empty. Submit a file with a header row and data rows.`;
        throw new ReportFileError('empty_file', message, { file: input.name });
    }
    const header = first.value;
    const width = header.record.length;

    async function* rows(): AsyncGenerator<SourceRow> {
        try {
            for (;;) {
                const next = await records.next();
                if (next.done) return;
                const { record, info } = next.value;
                const cells: RawCell[] = record.slice(0, width);
                const extraCells = record.slice(width).filter((field) => field.trim() !== '').length;
                yield { ref: rowNumber(info), cells, extraCells };
            }
        } catch (err) {
            throw structureError(err, input);
        } finally {
            csv.destroy();
        }
    }

    return {
        format: 'csv',
        header: { ref: rowNumber(header.info), cells: header.record },
        totalRows,
        rows: rows(),
        close: () => {
            csv.destroy();
        },
    };
}
