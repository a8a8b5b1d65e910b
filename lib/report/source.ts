// A report file as a stream of rows, whatever its format.
import { extname } from 'node:path';

import { ReportFileError } from './header';
import type { RawCell, SourceRow } from './row';

/** A report to import: a file on disk or an uploaded buffer, with the file name it was submitted as. */
export interface ReportInput {
    /** File name without folders, used in the rejection source `report:<name>` and in messages. */
    name: string;
    path?: string;
    buffer?: Buffer;
}

export type ReportFormat = 'csv' | 'xlsx';

export interface ReportSource {
    format: ReportFormat;
    header: { ref: number; cells: RawCell[] };
    /** Number of data rows when the reader knows it in advance, used for progress only. */
    totalRows?: number;
    rows: AsyncGenerator<SourceRow>;
    /** Releases the file. Safe to call more than once. */
    close(): void;
}

/**
 * Returns the file name of a path, splitting at both slash and backslash because browsers on
 * Windows may send the full client path of an upload. Undefined when no usable name remains.
 */
export function fileNameOf(path: string): string | undefined {
    const name = path.trim().split(/[\\/]/).pop() ?? '';
    return name === '' || name === '.' || name === '..' ? undefined : name;
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Picks the format from the file extension, or for an upload without one from the first bytes. */
export function reportFormat(input: ReportInput): ReportFormat {
    const extension = extname(input.name).toLowerCase();
    if (extension === '.csv') return 'csv';
    if (extension === '.xlsx') return 'xlsx';
    if (!extension && input.buffer) return input.buffer.subarray(0, 4).equals(ZIP_MAGIC) ? 'xlsx' : 'csv';
    throw new ReportFileError(
        'unsupported_file',
        `The report ${input.name} has the extension ${JSON.stringify(extension)}, which is not a report format. ` +
            'Submit the report as .csv or .xlsx.',
        { file: input.name, value: extension },
    );
}
