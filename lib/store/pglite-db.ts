// Main-thread side of the embedded engine: a Db that forwards each statement to the PGlite
// worker thread (pglite-worker.ts) and awaits its reply.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { ServiceError } from '../errors';
import { type Db, type Queryable, type QueryResult, SerialQueue } from './db';
import { databaseError } from './db-errors';
import type { PgliteWorkerData, WorkerError, WorkerMessage, WorkerRequest } from './pglite-worker';

/**
 * Starts the worker thread. The compiled build has pglite-worker.js beside this file. Running
 * from the TypeScript sources (vitest), there is only pglite-worker.ts: it is transpiled with
 * esbuild, a development dependency, and run as eval code.
 */
function startWorker(data: PgliteWorkerData): Worker {
    const compiled = join(__dirname, 'pglite-worker.js');
    if (existsSync(compiled)) return new Worker(compiled, { workerData: data });

    const sourcePath = join(__dirname, 'pglite-worker.ts');
    const esbuild = require('esbuild') as typeof import('esbuild');
    const { code } = esbuild.transformSync(readFileSync(sourcePath, 'utf8'), {
        loader: 'ts',
        format: 'cjs',
        target: 'node20',
        sourcefile: sourcePath,
    });
    // Eval code resolves packages from the working folder; resolve them from the source file instead.
    const wrapped = `(function (require) {\n${code}\n})(require('node:module').createRequire(${JSON.stringify(sourcePath)}));`;
    return new Worker(wrapped, { eval: true, workerData: data });
}

function toThrowable(error: WorkerError): Error {
    return Object.assign(new Error(error.message), error);
}

interface Pending {
    resolve: (rows: unknown[]) => void;
    reject: (error: Error) => void;
}

class PgliteWorkerDb implements Db {
    private readonly queue = new SerialQueue();
    private readonly pending = new Map<number, Pending>();
    private nextId = 1;
    private closed = false;
    private exited?: Promise<void>;

    private constructor(
        private readonly dataDir: string,
        private worker: Worker | undefined,
    ) {}

    static async open(dataDir: string): Promise<PgliteWorkerDb> {
        const db = new PgliteWorkerDb(dataDir, undefined);
        db.worker = await db.spawn();
        return db;
    }

    /** Starts a worker and resolves once PGlite has opened the data folder. */
    private spawn(): Promise<Worker> {
        mkdirSync(this.dataDir, { recursive: true });
        const worker = startWorker({ dataDir: this.dataDir });
        this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));

        const action = `Opening the embedded database in ${this.dataDir}`;
        return new Promise((resolve, reject) => {
            const onError = (error: Error): void => fail(error);
            const onExit = (code: number): void => fail(new Error(`the worker exited with code ${code} while starting`));
            const fail = (error: Error): void => {
                worker.off('error', onError);
                worker.off('exit', onExit);
                worker.removeAllListeners('message');
                reject(databaseError(error, action));
                void worker.terminate();
            };
            worker.once('error', onError);
            worker.once('exit', onExit);
            worker.once('message', (message: WorkerMessage) => {
                if (message.type !== 'ready') {
                    fail(message.type === 'open-failed' ? toThrowable(message.error) : new Error(`unexpected message ${message.type}`));
                    return;
                }
                worker.off('error', onError);
                worker.off('exit', onExit);
                this.watch(worker);
                resolve(worker);
            });
        });
    }

    private watch(worker: Worker): void {
        worker.on('message', (message: WorkerMessage) => {
            if (message.type !== 'reply') return;
            const pending = this.pending.get(message.id);
            if (!pending) return;
            this.pending.delete(message.id);
            if ('error' in message) pending.reject(toThrowable(message.error));
            else pending.resolve(message.rows ?? []);
        });
        const onLost = (reason: string): void => {
            if (this.worker !== worker) return;
            this.worker = undefined;
            // The next statement starts a new worker, which reopens the data folder.
            const error = new ServiceError(
                `The embedded database worker stopped (${reason}) with ${this.pending.size} statements in progress; `
                    + 'they were not committed and can be retried.',
                { retriable: true, badge: 'database restarting', context: { dataDir: this.dataDir } },
            );
            for (const pending of this.pending.values()) pending.reject(error);
            this.pending.clear();
        };
        worker.on('error', (error) => onLost(error.message));
        worker.on('exit', (code) => onLost(`exit code ${code}`));
    }

    private async send(request: Omit<WorkerRequest, 'id'>): Promise<unknown[]> {
        if (this.closed && request.op !== 'close') {
            throw new ServiceError(`The embedded database in ${this.dataDir} is closed; open the store again.`);
        }
        this.worker ??= await this.spawn();
        const worker = this.worker;
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            worker.postMessage({ ...request, id } satisfies WorkerRequest);
        });
    }

    private async run<T>(request: Omit<WorkerRequest, 'id'>): Promise<QueryResult<T>> {
        try {
            return { rows: (await this.send(request)) as T[] };
        } catch (thrown) {
            throw databaseError(thrown, request.op === 'exec' ? 'Database statement' : 'Database query');
        }
    }

    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
        return this.queue.run(() => this.run<T>({ op: 'query', sql, params }));
    }

    exec(sql: string): Promise<void> {
        return this.queue.run(async () => {
            await this.run({ op: 'exec', sql });
        });
    }

    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
        // The engine has one connection, so no other statement may run until the transaction ends.
        const tx: Queryable = {
            query: <R>(sql: string, params?: unknown[]) => this.run<R>({ op: 'query', sql, params }),
            exec: async (sql: string) => {
                await this.run({ op: 'exec', sql });
            },
        };
        return this.queue.run(async () => {
            await tx.exec('BEGIN');
            try {
                const result = await fn(tx);
                await tx.exec('COMMIT');
                return result;
            } catch (thrown) {
                // A failed ROLLBACK means the worker is gone, which discards the transaction anyway.
                await tx.exec('ROLLBACK').catch(() => undefined);
                throw thrown;
            }
        });
    }

    close(): Promise<void> {
        return this.queue.run(async () => {
            if (this.closed) return;
            this.closed = true;
            const worker = this.worker;
            if (!worker) return;
            try {
                await this.send({ op: 'close' });
            } finally {
                this.worker = undefined;
                await worker.terminate();
                await this.exited;
            }
        });
    }
}

/** Opens (and creates, when empty) the embedded database in `dataDir`, an absolute path. */
export function openPgliteDb(dataDir: string): Promise<Db> {
    return PgliteWorkerDb.open(dataDir);
}
