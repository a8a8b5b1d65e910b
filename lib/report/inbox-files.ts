// File operations of the report inbox folder: listing new reports, hashing them, the ledger of
// imported content and moving files to processed/ or failed/.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

import { UpstreamError } from '../errors';

/** Ledger of imported content in the inbox folder, keyed by SHA-256 of the file bytes. */
export const LEDGER_FILE = '.imported.json';
export const PROCESSED_DIR = 'processed';
export const FAILED_DIR = 'failed';

const REPORT_EXTENSIONS = new Set(['.csv', '.xlsx']);

export interface LedgerEntry {
    file: string;
    imported_at: string;
    rows: number;
    accepted_rows: number;
    rejected_rows: number;
}

export type Ledger = Record<string, LedgerEntry>;

export interface ListedFile {
    name: string;
    size: number;
    mtimeMs: number;
}

export function sha256(buffer: Buffer): string {
    return createHash('sha256').update(buffer).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
}

/** Returns true for file names the inbox imports: .csv and .xlsx, not hidden, not an Excel lock file. */
export function isReportFileName(name: string): boolean {
    return REPORT_EXTENSIONS.has(extname(name).toLowerCase()) && !name.startsWith('.') && !name.startsWith('~$');
}

/**
 * Lists the report files directly in the folder (not in its subfolders). Names of other visible
 * files, which the inbox leaves alone, are added to `ignored` when it is given.
 */
export async function listReportFiles(dir: string, ignored?: string[]): Promise<ListedFile[]> {
    const files: ListedFile[] = [];
    for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!entry.isFile()) continue;
        if (!isReportFileName(entry.name)) {
            if (!entry.name.startsWith('.') && !entry.name.startsWith('~$')) ignored?.push(entry.name);
            continue;
        }
        try {
            const info = await stat(join(dir, entry.name));
            files.push({ name: entry.name, size: info.size, mtimeMs: info.mtimeMs });
        } catch {
            // The file was moved or deleted between listing and stat; the next poll no longer lists it.
        }
    }
    return files.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Tells which files are complete: a file is ready once its size and modification time are the
 * same in two consecutive listings, so a file still being copied in is not read half-written.
 */
export class StableFiles {
    private previous = new Map<string, string>();

    ready(listing: ListedFile[]): string[] {
        const current = new Map(listing.map((file) => [file.name, `${file.size}:${file.mtimeMs}`]));
        const unchanged = listing.filter((file) => this.previous.get(file.name) === current.get(file.name));
        this.previous = current;
        return unchanged.map((file) => file.name);
    }
}

export async function loadLedger(dir: string): Promise<Ledger> {
    const path = join(dir, LEDGER_FILE);
    let text: string;
    try {
        text = await readFile(path, 'utf8');
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
        throw new UpstreamError(`Reading the import ledger ${path} failed: ${(err as Error).message}.`, {
            cause: err,
            badge: 'ledger unreadable',
        });
    }
    try {
        const ledger = JSON.parse(text) as unknown;
        if (ledger && typeof ledger === 'object' && !Array.isArray(ledger)) return ledger as Ledger;
    } catch {
        // Reported below with the fix.
    }
    throw new UpstreamError(
        `The import ledger ${path} is not a JSON object of file hashes. ` +
            'Repair it, or delete it to let files already imported be imported again.',
        { badge: 'ledger invalid' },
    );
}

/** Writes the ledger through a temporary file and a rename, so a crash never leaves half a ledger. */
export async function saveLedger(dir: string, ledger: Ledger): Promise<void> {
    const path = join(dir, LEDGER_FILE);
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(ledger, null, 4)}\n`);
    await rename(temporary, path);
}

async function exists(path: string): Promise<boolean> {
    try {
        await access(path);
        return true;
    } catch {
        return false;
    }
}

/** Returns a name not taken in the folder: the name itself, else with a UTC time stamp before the extension. */
async function freeName(dir: string, name: string): Promise<string> {
    if (!(await exists(join(dir, name)))) return name;
    const extension = extname(name);
    const base = name.slice(0, name.length - extension.length);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    for (let attempt = 1; ; attempt += 1) {
        const candidate = `${base}.${stamp}${attempt > 1 ? `-${attempt}` : ''}${extension}`;
        if (!(await exists(join(dir, candidate)))) return candidate;
    }
}

/**
 * Moves a file (or writes an uploaded buffer) into `<dir>/processed/` or `<dir>/failed/`, keeping
 * its name unless taken, and writes `<name>.error.txt` beside it when an error text is given.
 * Returns the path of the archived file.
 */
export async function archiveReport(
    dir: string,
    target: typeof PROCESSED_DIR | typeof FAILED_DIR,
    report: { name: string; path?: string; buffer?: Buffer },
    errorText?: string,
): Promise<string> {
    const folder = join(dir, target);
    await mkdir(folder, { recursive: true });
    const name = await freeName(folder, report.name);
    const destination = join(folder, name);
    if (report.path) await rename(report.path, destination);
    else await writeFile(destination, report.buffer ?? Buffer.alloc(0));
    if (errorText !== undefined) await writeFile(`${destination}.error.txt`, `${errorText}\n`);
    return destination;
}
