// The report inbox: imports reports one at a time, from a watched folder or handed in directly,
// skips content imported before (by SHA-256), and files each report under processed/ or failed/.
import { join } from 'node:path';

import { UpstreamError, toError } from '../errors';
import type { Rejection } from '../types';
import { ReportFileError } from './header';
import { importReport, type ImportedRow, type ImportProgress, type ImportSummary } from './import';
import {
    FAILED_DIR,
    PROCESSED_DIR,
    StableFiles,
    archiveReport,
    listReportFiles,
    loadLedger,
    saveLedger,
    sha256,
    sha256File,
    type Ledger,
    type LedgerEntry,
} from './inbox-files';
import { reportFormat, type ReportFormat } from './source';
import { loadWellRegistry } from './wells';

/** Rejections handed out together in one batch. */
export const REJECTION_BATCH = 500;

export interface InboxJob<T> {
    /** File name without folders. */
    name: string;
    /** Absolute path of a file on disk, for `watch` and `file` jobs. */
    path?: string;
    /** Content of an upload, for `upload` jobs. */
    buffer?: Buffer;
    /** Origin of the job: the watched folder (`watch`), a path (`file`) or uploaded bytes (`upload`). */
    origin: 'watch' | 'file' | 'upload';
    /** Import even when the same content was imported before. */
    force?: boolean;
    /** Caller's data, handed back with every event of this job. */
    tag: T;
}

export interface InboxSummary extends ImportSummary {
    sha256: string;
    /** Set when the content was imported before and this file was skipped. */
    already_imported?: LedgerEntry;
}

export type JobResult =
    | { status: 'imported' | 'skipped'; summary: InboxSummary }
    | { status: 'failed'; error: Error; rejection?: Rejection }
    | { status: 'aborted' };

export interface InboxEvents<T> {
    onStart(job: InboxJob<T>, info: { format: ReportFormat; totalRows?: number }): void;
    onAccepted(job: InboxJob<T>, row: ImportedRow): void;
    onRejected(job: InboxJob<T>, rejections: Rejection[]): void;
    onProgress(job: InboxJob<T>, progress: ImportProgress): void;
    onDone(job: InboxJob<T>, result: JobResult): void;
    /** Listing or importing from the watched folder failed outside any one file. Polling goes on. */
    onPollError(error: Error): void;
    /** A file in the watched folder is not a report (.csv or .xlsx); called once per name. */
    onIgnored?(name: string): void;
}

export interface InboxOptions<T> {
    /** Absolute path of the watched folder. Without it nothing is watched and the ledger is kept in memory. */
    watchDir?: string;
    /** Absolute path of the asset registry, read at the start of every import. */
    assetsFile: string;
    /** Time between two listings of the watched folder, in milliseconds. */
    pollMs: number;
    chunkRows?: number;
    sheetName?: string;
    /** Tag of the jobs the watcher creates. */
    watchTag: T;
    events: InboxEvents<T>;
}

/** Builds the Rejection of a whole file that could not be imported, for the quarantine. */
export function fileRejection(error: ReportFileError, name: string, hash: string | undefined): Rejection {
    const rejection: Rejection = {
        source: `report:${name}`,
        reason: error.message,
        code: error.code,
        payload: { file: name, sha256: hash },
        received_at: new Date().toISOString(),
    };
    if (error.ref !== undefined) rejection.ref = String(error.ref);
    if (error.field !== undefined) rejection.field = error.field;
    if (error.value !== undefined) rejection.value = error.value;
    return rejection;
}

export class ReportInbox<T> {
    private readonly options: InboxOptions<T>;
    private readonly abort = new AbortController();
    private readonly stable = new StableFiles();
    private readonly memoryLedger: Ledger = {};
    private readonly reportedIgnored = new Set<string>();
    private queue: Promise<unknown> = Promise.resolve();
    private timer: NodeJS.Timeout | undefined;
    private closed = false;

    constructor(options: InboxOptions<T>) {
        this.options = options;
    }

    /** Starts watching the folder, when one is configured. */
    start(): void {
        if (this.options.watchDir) this.schedulePoll(0);
    }

    /** Queues an import and returns its result, which is also handed to `onDone`. */
    submit(job: InboxJob<T>): Promise<JobResult> {
        const run = this.queue.then(() => this.runJob(job));
        this.queue = run.catch(() => undefined);
        return run;
    }

    /** Stops watching, stops the running import at its next chunk and waits for it. */
    async close(): Promise<void> {
        this.closed = true;
        if (this.timer) clearTimeout(this.timer);
        this.abort.abort(new Error('report import stopped because the node is closing'));
        await this.queue;
    }

    private schedulePoll(delay: number): void {
        if (this.closed) return;
        this.timer = setTimeout(() => {
            this.poll()
                .catch((err: unknown) => this.options.events.onPollError(toError(err)))
                .finally(() => this.schedulePoll(this.options.pollMs));
        }, delay);
    }

    private async poll(): Promise<void> {
        const dir = this.options.watchDir as string;
        let ready: string[];
        const ignored: string[] = [];
        try {
            ready = this.stable.ready(await listReportFiles(dir, ignored));
        } catch (err) {
            this.options.events.onPollError(toError(err));
            return;
        }
        for (const name of ignored) {
            if (this.reportedIgnored.has(name)) continue;
            this.reportedIgnored.add(name);
            this.options.events.onIgnored?.(name);
        }
        for (const name of ready) {
            if (this.closed) return;
            await this.submit({ name, path: join(dir, name), origin: 'watch', tag: this.options.watchTag });
        }
    }

    private async readLedger(): Promise<Ledger> {
        return this.options.watchDir ? loadLedger(this.options.watchDir) : this.memoryLedger;
    }

    private async recordImport(hash: string, entry: LedgerEntry): Promise<void> {
        if (!this.options.watchDir) {
            this.memoryLedger[hash] = entry;
            return;
        }
        // Read again just before writing, so entries removed by hand meanwhile are not restored.
        const ledger = await loadLedger(this.options.watchDir);
        ledger[hash] = entry;
        await saveLedger(this.options.watchDir, ledger);
    }

    /** Files the report after its import: watched files move, uploads are written, handed-in paths stay. */
    private async archive(
        job: InboxJob<T>,
        target: typeof PROCESSED_DIR | typeof FAILED_DIR,
        errorText?: string,
    ): Promise<void> {
        const dir = this.options.watchDir;
        if (!dir || job.origin === 'file') return;
        await archiveReport(dir, target, job, errorText);
    }

    private async runJob(job: InboxJob<T>): Promise<JobResult> {
        const result: JobResult = this.closed ? { status: 'aborted' } : await this.importJob(job);
        this.options.events.onDone(job, result);
        return result;
    }

    private async importJob(job: InboxJob<T>): Promise<JobResult> {
        const { events } = this.options;
        let hash: string | undefined;
        let pending: Rejection[] = [];
        const flush = (): void => {
            if (pending.length > 0) events.onRejected(job, pending);
            pending = [];
        };

        try {
            const format = reportFormat(job);
            hash = job.buffer ? sha256(job.buffer) : await hashFile(job.path as string);
            const previous = (await this.readLedger())[hash];
            if (previous && !job.force) {
                if (job.origin === 'watch') await this.archive(job, PROCESSED_DIR);
                return { status: 'skipped', summary: skippedSummary(job.name, format, hash, previous) };
            }

            const wells = await loadWellRegistry(this.options.assetsFile);
            const summary = await importReport(job, {
                wells,
                sheetName: this.options.sheetName,
                chunkRows: this.options.chunkRows,
                signal: this.abort.signal,
                onStart: (info) => events.onStart(job, info),
                onAccepted: (row) => events.onAccepted(job, row),
                onRejected: (rejection) => {
                    pending.push(rejection);
                    if (pending.length >= REJECTION_BATCH) flush();
                },
                onProgress: (progress) => {
                    flush();
                    events.onProgress(job, progress);
                },
            });
            flush();

            await this.recordImport(hash, {
                file: job.name,
                imported_at: new Date().toISOString(),
                rows: summary.rows,
                accepted_rows: summary.accepted_rows,
                rejected_rows: summary.rejected_rows,
            });
            await this.archive(job, PROCESSED_DIR);
            return { status: 'imported', summary: { ...summary, sha256: hash } };
        } catch (thrown) {
            flush();
            if (this.abort.signal.aborted) return { status: 'aborted' };
            const error = toError(thrown);
            const rejection = error instanceof ReportFileError ? fileRejection(error, job.name, hash) : undefined;
            const errorText = [error.message, '', `File: ${job.name}`, `SHA-256: ${hash ?? 'unknown'}`];
            errorText.push(`Failed at: ${new Date().toISOString()}`);
            try {
                await this.archive(job, FAILED_DIR, errorText.join('\n'));
            } catch (archiveError) {
                const archiveMessage = toError(archiveError).message;
                const message = `${error.message} Moving the file to ${FAILED_DIR}/ failed as well: ${archiveMessage}`;
                return { status: 'failed', error: new Error(message, { cause: error }), rejection };
            }
            return { status: 'failed', error, rejection };
        }
    }
}

async function hashFile(path: string): Promise<string> {
    try {
        return await sha256File(path);
    } catch (err) {
        const reason = toError(err).message;
        const message = `Reading the report ${path} failed: ${reason}. Check that the file exists and can be read.`;
        throw new UpstreamError(message, {
            cause: err,
            badge: 'file unreadable',
            context: { file: path },
        });
    }
}

function skippedSummary(file: string, format: ReportFormat, hash: string, previous: LedgerEntry): InboxSummary {
    return {
        file,
        format,
        rows: 0,
        accepted_rows: 0,
        rejected_rows: 0,
        readings: 0,
        by_code: {},
        duration_ms: 0,
        sha256: hash,
        already_imported: previous,
    };
}
