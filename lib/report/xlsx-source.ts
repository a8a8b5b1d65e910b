// Reads an XLSX report with the streaming workbook reader, so the rows of a large workbook are never
// all in memory (its shared-string table is). The sheet named 'Daily Production Data' is read, else
// the first sheet of the workbook.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

import { stream, type Row } from 'exceljs';

import { ReportFileError } from './header';
import { isEmptyRow, type RawCell, type SourceRow } from './row';
import type { ReportInput, ReportSource } from './source';
import { xlsxLastRow } from './xlsx-dimension';

/** Name of the daily sheet in the Volve workbook. */
export const DAILY_SHEET_NAME = 'Daily Production Data';

/** The parts of the streaming readers this module uses; the exceljs typings omit them. */
interface StreamingWorkbook {
    model?: { sheets?: { name: string; id: number }[] };
}
interface StreamingWorksheet {
    id: number;
    name: string;
    [Symbol.asyncIterator](): AsyncIterator<Row>;
}

/** The object forms of an exceljs cell value: formula, rich text, hyperlink and error. */
interface ExcelCellObject {
    formula?: string;
    sharedFormula?: string;
    result?: unknown;
    richText?: { text: string }[];
    text?: unknown;
    error?: string;
}

/** Flattens an exceljs cell value: formulas to their cached result, rich text and links to text. */
export function xlsxCell(value: unknown): RawCell {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    if (value instanceof Date) return value;
    if (typeof value === 'object') {
        const cell = value as ExcelCellObject;
        if ('formula' in cell || 'sharedFormula' in cell) {
            // A formula saved without its calculated value stays visible as the formula text.
            return cell.result === undefined ? `=${cell.formula ?? cell.sharedFormula}` : xlsxCell(cell.result);
        }
        if (Array.isArray(cell.richText)) return cell.richText.map((run) => run.text).join('');
        if ('text' in cell) return xlsxCell(cell.text);
        if (typeof cell.error === 'string') return cell.error;
    }
    return String(value);
}

/** Cells of an exceljs row, 0-based (exceljs row values start at index 1). */
function rowCells(row: Row): RawCell[] {
    const values = Array.isArray(row.values) ? row.values : [];
    const cells: RawCell[] = [];
    for (let i = 1; i < values.length; i += 1) cells.push(xlsxCell(values[i]));
    return cells;
}

function unreadable(err: unknown, input: ReportInput, rowsRead: number): unknown {
    if (err instanceof ReportFileError) return err;
    const after = rowsRead > 0 ? ` after ${rowsRead} rows; the rows before the failure were already imported` : '';
    return new ReportFileError(
        'unreadable_file',
        `Reading the workbook ${input.name} failed${after}: ${(err as Error)?.message ?? String(err)}. ` +
            'Check that the file is a complete .xlsx workbook (open and save it again in a spreadsheet program) ' +
            'and submit it again.',
        { file: input.name, cause: err },
    );
}

/** Iterates the rows of the chosen sheet; other sheets are skipped unread. */
async function* sheetRows(input: ReportInput, bytes: Readable, sheetName: string): AsyncGenerator<Row> {
    const reader = new stream.xlsx.WorkbookReader(bytes, {
        worksheets: 'emit',
        sharedStrings: 'cache',
        // Styles are needed to tell date cells from number cells.
        styles: 'cache',
        hyperlinks: 'ignore',
        entries: 'ignore',
    });
    let chosenSheet: string | undefined;
    for await (const sheet of reader as unknown as AsyncIterable<StreamingWorksheet>) {
        if (chosenSheet === undefined) {
            const sheets = (reader as unknown as StreamingWorkbook).model?.sheets ?? [];
            chosenSheet = sheets.some((s) => s.name === sheetName) ? sheetName : (sheets[0]?.name ?? sheet.name);
        }
        if (sheet.name !== chosenSheet) continue;
        yield* sheet as unknown as AsyncIterable<Row>;
        return;
    }
    const message = `The workbook ${input.name} has no worksheet. Submit a workbook with the sheet '${sheetName}'.`;
    throw new ReportFileError('empty_file', message, { file: input.name });
}

export async function openXlsx(input: ReportInput, sheetName = DAILY_SHEET_NAME): Promise<ReportSource> {
    const lastRow = await xlsxLastRow(input, sheetName);
    const bytes: Readable = input.buffer ? Readable.from([input.buffer]) : createReadStream(input.path as string);
    const rows = sheetRows(input, bytes, sheetName);
    let rowsRead = 0;
    const close = (): void => {
        bytes.destroy();
    };

    let header: { ref: number; cells: RawCell[] } | undefined;
    try {
        for (;;) {
            const next = await rows.next();
            if (next.done) break;
            const cells = rowCells(next.value);
            if (!isEmptyRow(cells)) {
                header = { ref: next.value.number, cells };
                break;
            }
        }
    } catch (err) {
        close();
        throw unreadable(err, input, 0);
    }
    if (!header) {
        close();
        const message =
            `The sheet read from ${input.name} is empty. ` +
            `Submit a workbook whose sheet '${sheetName}' has a header row and data rows.`;
        throw new ReportFileError('empty_file', message, { file: input.name });
    }

    async function* dataRows(): AsyncGenerator<SourceRow> {
        try {
            for (;;) {
                const next = await rows.next();
                if (next.done) return;
                rowsRead += 1;
                yield { ref: next.value.number, cells: rowCells(next.value) };
            }
        } catch (err) {
            throw unreadable(err, input, rowsRead);
        } finally {
            close();
        }
    }

    return {
        format: 'xlsx',
        header,
        totalRows: lastRow !== undefined && lastRow > header.ref ? lastRow - header.ref : undefined,
        rows: dataRows(),
        close,
    };
}
