// The connection layer under the store: the embedded engine (PGlite in a worker thread) and a
// PostgreSQL pool both implement Db, so the store runs the same SQL on either.

export interface QueryResult<T> {
    rows: T[];
}

export interface Queryable {
    /** Runs one statement with $1, $2, ... parameters. */
    query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
    /** Runs one or more statements separated by semicolons, without parameters. */
    exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
    /**
     * Runs `fn` between BEGIN and COMMIT on one connection and rolls back when it throws.
     * Inside `fn`, use only `tx`: calling the Db itself from there waits for the transaction
     * to finish on the embedded engine, which has a single connection, and so never returns.
     */
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
    close(): Promise<void>;
}

/** Runs async tasks one at a time, in call order. */
export class SerialQueue {
    private tail: Promise<unknown> = Promise.resolve();

    run<T>(task: () => Promise<T>): Promise<T> {
        const result = this.tail.then(task, task);
        // The queue must continue after a failed task; callers still see the failure.
        this.tail = result.catch(() => undefined);
        return result;
    }
}
