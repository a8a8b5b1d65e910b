// The header row of a report: which column sits where, and the file-level error when required
// columns are missing.
import { ValidationError } from '../errors';
import { REPORT_COLUMNS, REQUIRED_COLUMNS, type ReportColumn } from './columns';

/**
 * A report that cannot be imported at all: required columns missing, a structurally broken CSV,
 * an unreadable workbook. Nothing of such a file is imported.
 */
export class ReportFileError extends ValidationError {
    /** Row of the file at fault, when one row is. */
    readonly ref?: number;

    constructor(
        code: string,
        message: string,
        details: { file: string; ref?: number; field?: string; value?: unknown; cause?: unknown },
    ) {
        super(code, message, {
            field: details.field,
            value: details.value,
            cause: details.cause,
            badge: code.replace(/_/g, ' '),
            context: { file: details.file, ref: details.ref },
        });
        this.ref = details.ref;
    }
}

/** Position of each known column in the file. Columns absent from the file have no entry. */
export type ColumnIndex = Partial<Record<ReportColumn, number>>;

const KNOWN = new Set<string>(REPORT_COLUMNS);

/** Normalizes a header cell: trimmed and upper case, so `Dateprd ` still names DATEPRD. */
function headerName(cell: unknown): string {
    return String(cell ?? '').trim().toUpperCase();
}

/**
 * Maps the header cells to column positions. Unknown columns are ignored, and when a column
 * appears twice, the first one is used. Throws ReportFileError (code missing_columns) naming the missing
 * required columns and the expected header.
 */
export function mapHeader(cells: readonly unknown[], file: string, ref: number): ColumnIndex {
    const index: ColumnIndex = {};
    cells.forEach((cell, position) => {
        const name = headerName(cell);
        if (KNOWN.has(name) && index[name as ReportColumn] === undefined) index[name as ReportColumn] = position;
    });

    const missing = REQUIRED_COLUMNS.filter((column) => index[column] === undefined);
    if (missing.length > 0) {
        throw new ReportFileError('missing_columns', missingColumnsMessage(cells.map(headerName), missing, file, ref), {
            file,
            ref,
            field: missing.join(','),
            value: cells.map((cell) => String(cell ?? '')),
        });
    }
    return index;
}

function missingColumnsMessage(found: string[], missing: readonly ReportColumn[], file: string, ref: number): string {
    const plural = missing.length > 1 ? 'columns' : 'column';
    const lines = [
        `The report ${file} is missing the required ${plural} ${missing.join(', ')} in its header (row ${ref}), ` +
            'so nothing of it was imported.',
        `Found header: ${found.join(',')}`,
        `Expected header: ${REPORT_COLUMNS.join(',')}`,
        `Required columns: ${REQUIRED_COLUMNS.join(', ')}. Fix the header and submit the file again.`,
    ];
    if (found.length === 1 && /[;\t]/.test(found[0])) {
        lines.push('The header looks separated by semicolons or tabs; save the file as comma-separated CSV.');
    }
    return lines.join('\n');
}
