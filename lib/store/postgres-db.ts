// Db on a real PostgreSQL server (or TimescaleDB) through a pg connection pool.
import { Pool, type PoolClient } from 'pg';

import type { Db, Queryable, QueryResult } from './db';
import { databaseError } from './db-errors';
import { describeStoreSpec } from './spec';

/** Connections per process; several cloud runtimes each hold their own pool. */
const POOL_MAX = 10;
/** How long a statement waits for a free or new connection before failing as retriable. */
const CONNECT_TIMEOUT_MS = 10_000;

function queryable(client: Pool | PoolClient): Queryable {
    return {
        async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
            try {
                const result = await client.query(sql, params);
                return { rows: result.rows as T[] };
            } catch (thrown) {
                throw databaseError(thrown, 'Database query');
            }
        },
        async exec(sql: string): Promise<void> {
            try {
                // Without parameters pg uses the simple query protocol, which accepts several statements.
                await client.query(sql);
            } catch (thrown) {
                throw databaseError(thrown, 'Database statement');
            }
        },
    };
}

/** Opens a pool and checks the connection once, so that a wrong address fails at start-up. */
export async function openPostgresDb(connectionString: string): Promise<Db> {
    const pool = new Pool({ connectionString, max: POOL_MAX, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // The pool drops an idle connection that breaks, and the next statement opens a new one.
    // The event needs no action, but without a listener it would crash the process.
    pool.on('error', () => undefined);

    const db = queryable(pool);
    try {
        await pool.query('SELECT 1');
    } catch (thrown) {
        await pool.end().catch(() => undefined);
        throw databaseError(thrown, `Connecting to ${describeStoreSpec({ engine: 'postgres', connectionString })}`);
    }

    return {
        ...db,
        async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
            let client: PoolClient;
            try {
                client = await pool.connect();
            } catch (thrown) {
                throw databaseError(thrown, 'Connecting to the database');
            }
            const tx = queryable(client);
            let broken: Error | undefined;
            // A checked-out connection that breaks between statements emits 'error', which would
            // crash the process without a listener. The next statement fails on it anyway.
            const onConnectionError = (error: Error): void => {
                broken = error;
            };
            client.on('error', onConnectionError);
            try {
                await tx.exec('BEGIN');
                const result = await fn(tx);
                await tx.exec('COMMIT');
                return result;
            } catch (thrown) {
                try {
                    await tx.exec('ROLLBACK');
                } catch (rollbackError) {
                    // A connection that cannot roll back must not return to the pool.
                    broken = rollbackError as Error;
                }
                throw thrown;
            } finally {
                client.off('error', onConnectionError);
                client.release(broken);
            }
        },
        async close(): Promise<void> {
            await pool.end();
        },
    };
}
