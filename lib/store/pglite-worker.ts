// Worker thread that owns the embedded PostgreSQL engine (PGlite). PGlite runs every query on
// the thread that calls it, so running it here keeps the main thread (flows, MQTT keep-alives,
// WebSockets) responsive during bulk loads. The main thread talks to it through pglite-db.ts.
//
// NOTE: this file must import nothing from the project. Under vitest it is transpiled on the fly
// and run as eval code, where only node: built-ins and installed packages can be required.
import { parentPort, workerData } from 'node:worker_threads';

import { PGlite } from '@electric-sql/pglite';

export interface PgliteWorkerData {
    /** Absolute path of the data folder. */
    dataDir: string;
}

export interface WorkerRequest {
    id: number;
    op: 'query' | 'exec' | 'close';
    sql?: string;
    params?: unknown[];
}

/** PostgreSQL error fields copied from the PGlite error, which cannot cross threads as it is. */
export interface WorkerError {
    message: string;
    code?: string;
    detail?: string;
    hint?: string;
    table?: string;
    column?: string;
    constraint?: string;
}

export type WorkerMessage =
    | { type: 'ready' }
    | { type: 'open-failed'; error: WorkerError }
    | { type: 'reply'; id: number; rows?: unknown[] }
    | { type: 'reply'; id: number; error: WorkerError };

function serializeError(thrown: unknown): WorkerError {
    if (!(thrown instanceof Error)) return { message: String(thrown) };
    const fields = thrown as Error & Record<string, unknown>;
    const error: WorkerError = { message: thrown.message };
    for (const key of ['code', 'detail', 'hint', 'table', 'column', 'constraint'] as const) {
        if (typeof fields[key] === 'string') error[key] = fields[key] as string;
    }
    return error;
}

async function main(): Promise<void> {
    const port = parentPort;
    if (!port) throw new Error('pglite-worker must run in a worker thread');
    const { dataDir } = workerData as PgliteWorkerData;

    let db: PGlite;
    try {
        db = await PGlite.create(dataDir);
    } catch (thrown) {
        port.postMessage({ type: 'open-failed', error: serializeError(thrown) } satisfies WorkerMessage);
        port.close();
        return;
    }
    port.postMessage({ type: 'ready' } satisfies WorkerMessage);

    port.on('message', (request: WorkerRequest) => {
        void handle(db, request).then((reply) => {
            port.postMessage(reply);
            if (request.op === 'close') port.close();
        });
    });
}

async function handle(db: PGlite, request: WorkerRequest): Promise<WorkerMessage> {
    try {
        if (request.op === 'query') {
            const result = await db.query(request.sql ?? '', request.params ?? []);
            return { type: 'reply', id: request.id, rows: result.rows };
        }
        if (request.op === 'exec') {
            await db.exec(request.sql ?? '');
            return { type: 'reply', id: request.id };
        }
        await db.close();
        return { type: 'reply', id: request.id };
    } catch (thrown) {
        return { type: 'reply', id: request.id, error: serializeError(thrown) };
    }
}

void main();
