// Applies pending migrations at start-up, each in its own transaction, and records them in
// schema_migrations.
import { ConfigError } from '../errors';
import type { Db, Queryable } from './db';
import { MIGRATIONS, type Migration } from './migrations';

/**
 * Key of the transaction-scoped advisory lock that serialises migrations when several runtimes
 * start against one PostgreSQL database at the same time.
 */
const MIGRATION_LOCK_KEY = 7_517_260_741;

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`;

export interface MigrationResult {
    /** Versions applied by this call, in order. */
    applied: number[];
    /** Schema version of the database afterwards. */
    version: number;
}

function checkOrder(migrations: readonly Migration[]): void {
    migrations.forEach((migration, index) => {
        if (migration.version !== index + 1) {
            throw new Error(`Migration "${migration.name}" has version ${migration.version}; expected ${index + 1}.`);
        }
    });
}

/** Takes the migration lock, creates schema_migrations if needed and returns the current version. */
async function lockAndReadVersion(tx: Queryable): Promise<number> {
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await tx.exec(CREATE_MIGRATIONS_TABLE);
    const { rows } = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    return rows[0]?.version ?? 0;
}

function tooNewError(databaseVersion: number, codeVersion: number): ConfigError {
    return new ConfigError(
        `The database has schema version ${databaseVersion}, but this version of Upstream Live knows schema `
            + `versions up to ${codeVersion}. Upgrade Upstream Live to a release that includes schema version `
            + `${databaseVersion}; migrations only move forward, so the database cannot be downgraded.`,
        { badge: 'schema too new', context: { databaseVersion, codeVersion } },
    );
}

/**
 * Brings the database schema up to the last migration in `migrations`. Throws a ConfigError
 * when the database is newer than the code.
 */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
    checkOrder(migrations);
    const latest = migrations.length;
    const applied: number[] = [];
    let version = await db.transaction(lockAndReadVersion);

    for (const migration of migrations) {
        if (version > latest) throw tooNewError(version, latest);
        if (migration.version <= version) continue;

        version = await db.transaction(async (tx) => {
            // Another runtime may have migrated while this one waited for the lock.
            const current = await lockAndReadVersion(tx);
            if (current >= migration.version) return current;
            await tx.exec(migration.sql);
            await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
            applied.push(migration.version);
            return migration.version;
        });
    }
    if (version > latest) throw tooNewError(version, latest);
    return { applied, version };
}
