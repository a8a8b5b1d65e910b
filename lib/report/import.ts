// Imports one daily production report: header check, then every row to readings or a rejection,
// in chunks that give the event loop a turn, ending with a summary.
import type { Reading, Rejection } from '../types';
import { openCsv } from './csv-source';
import { mapHeader } from './header';
import { checkRow, isEmptyRow, receivedCells, rowReadings, type RowProblem, type SourceRow } from './row';
import { reportFormat, type ReportFormat, type ReportInput, type ReportSource } from './source';
import type { WellRegistry } from './wells';
import { openXlsx } from './xlsx-source';

/** The readings of one accepted row: one well on one production day. */
export interface ImportedRow {
    ref: number;
    asset_id: string;
    /** Production day, YYYY-MM-DD. */
    day: string;
    readings: Reading[];
    /** Row attributes that are not measurements. */
    attributes: { flow_kind: string | null; well_type: string | null };
}

export interface ImportSummary {
    file: string;
    format: ReportFormat;
    /** Data rows read (the header and empty rows are not counted). */
    rows: number;
    accepted_rows: number;
    rejected_rows: number;
    readings: number;
    /** Rejected rows per rejection code. */
    by_code: Record<string, number>;
    duration_ms: number;
}

export interface ImportProgress {
    rows: number;
    /** Data rows in the file, when the reader knows it in advance. */
    totalRows?: number;
}

export interface ImportOptions {
    wells: WellRegistry;
    /** Sheet to read from a workbook. Default 'Daily Production Data', else the first sheet. */
    sheetName?: string;
    /** Rows handled between two turns of the event loop. Default 250. */
    chunkRows?: number;
    /** Stops the import at the next chunk boundary. */
    signal?: AbortSignal;
    onStart?(info: { format: ReportFormat; totalRows?: number }): void;
    onAccepted?(row: ImportedRow): void;
    onRejected?(rejection: Rejection): void;
    /** Called after every chunk and once at the end. */
    onProgress?(progress: ImportProgress): void;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Builds the rejection of a row. Its first problem gives code, field and value, and the reason lists all. */
function rejection(source: string, row: SourceRow, header: string[], problems: RowProblem[]): Rejection {
    const [first, ...others] = problems;
    const otherReasons = others.map((p) => p.reason).join(' ');
    const reason = others.length === 0 ? first.reason : `${first.reason} Other problems in this row: ${otherReasons}`;
    const rejected: Rejection = {
        source,
        reason,
        code: first.code,
        ref: String(row.ref),
        payload: receivedCells(row.cells, header),
        received_at: new Date().toISOString(),
    };
    if (first.column !== undefined) rejected.field = first.column;
    if (first.value instanceof Date) rejected.value = first.value.toISOString();
    else if (first.value !== undefined) rejected.value = first.value;
    return rejected;
}

/** Opens a report in its format. A broken file throws ReportFileError. */
export async function openReport(input: ReportInput, sheetName?: string): Promise<ReportSource> {
    return reportFormat(input) === 'csv' ? openCsv(input) : openXlsx(input, sheetName);
}

/**
 * Imports one report. Throws ReportFileError before any row is handed out when the file cannot be
 * imported at all (missing required columns, broken CSV, unreadable workbook). A workbook that
 * breaks part-way throws after the rows before the break were handed out.
 */
export async function importReport(input: ReportInput, options: ImportOptions): Promise<ImportSummary> {
    const started = Date.now();
    const chunkRows = Math.max(1, options.chunkRows ?? 250);
    const source = `report:${input.name}`;
    const report = await openReport(input, options.sheetName);

    try {
        const columns = mapHeader(report.header.cells, input.name, report.header.ref);
        const header = report.header.cells.map((cell) => String(cell ?? '').trim());
        const context = { wells: options.wells, firstRowOf: new Map<string, number>() };
        const summary: ImportSummary = {
            file: input.name,
            format: report.format,
            rows: 0,
            accepted_rows: 0,
            rejected_rows: 0,
            readings: 0,
            by_code: {},
            duration_ms: 0,
        };
        options.onStart?.({ format: report.format, totalRows: report.totalRows });

        const handleRow = (row: SourceRow): void => {
            summary.rows += 1;
            const outcome = checkRow(row, columns, context);
            if (outcome.accepted) {
                const readings = rowReadings(outcome.row, outcome.assetId);
                summary.accepted_rows += 1;
                summary.readings += readings.length;
                options.onAccepted?.({
                    ref: row.ref,
                    asset_id: outcome.assetId,
                    day: outcome.row.DATEPRD,
                    readings,
                    attributes: { flow_kind: outcome.row.FLOW_KIND, well_type: outcome.row.WELL_TYPE },
                });
            } else {
                const rejected = rejection(source, row, header, outcome.problems);
                summary.rejected_rows += 1;
                summary.by_code[rejected.code] = (summary.by_code[rejected.code] ?? 0) + 1;
                options.onRejected?.(rejected);
            }
        };

        // Empty rows count towards the chunk too, so a file of blank rows cannot hold the event loop.
        let sinceYield = 0;
        for await (const row of report.rows) {
            if (!isEmptyRow(row.cells) || row.extraCells) handleRow(row);

            sinceYield += 1;
            if (sinceYield >= chunkRows) {
                sinceYield = 0;
                options.onProgress?.({ rows: summary.rows, totalRows: report.totalRows });
                await yieldToEventLoop();
                options.signal?.throwIfAborted();
            }
        }

        options.onProgress?.({ rows: summary.rows, totalRows: report.totalRows });
        summary.duration_ms = Date.now() - started;
        return summary;
    } finally {
        report.close();
    }
}
