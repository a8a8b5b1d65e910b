// Databases for the shared store suites: a temporary embedded database (PGlite) or a database of
// its own on the PostgreSQL server named by UL_TEST_DATABASE_URL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import type { StoreSpec } from '../../lib/store/types';

export const DATABASE_URL_VARIABLE = 'UL_TEST_DATABASE_URL';

/** Where the shared suites create their databases. */
export interface StoreTarget {
    /** Engine name for test titles. */
    engine: string;
    /** Returns the spec of a new, empty database. */
    createSpec(): Promise<StoreSpec>;
    /** Returns another spelling of a spec that opens the same database. */
    alias(spec: StoreSpec): StoreSpec;
    /** Removes every database that createSpec created. Close the stores on them first. */
    cleanup(): Promise<void>;
}

export function pgliteTarget(): StoreTarget {
    const folders: string[] = [];
    return {
        engine: 'PGlite',
        async createSpec() {
            const folder = mkdtempSync(join(tmpdir(), 'ul-store-suite-'));
            folders.push(folder);
            return { engine: 'pglite', dataDir: join(folder, 'db') };
        },
        alias(spec) {
            return spec.engine === 'pglite' ? { engine: 'pglite', dataDir: join(spec.dataDir, 'x', '..') } : spec;
        },
        async cleanup() {
            for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
        },
    };
}

/** Returns UL_TEST_DATABASE_URL, or throws an error that explains how to start the test server. */
export function testDatabaseUrl(): string {
    const url = process.env[DATABASE_URL_VARIABLE];
    if (!url) {
        throw new Error(`${DATABASE_URL_VARIABLE} is not set. The services tests need a PostgreSQL server: run `
            + '`scripts/services.sh start` (as root) and export the UL_TEST_DATABASE_URL line it prints, then run `npm run test:services` again.');
    }
    return url;
}

let databaseCounter = 0;

/**
 * Creates one database per createSpec call on the server of UL_TEST_DATABASE_URL, named
 * ul_test_<pid>_<time>_<n>, and drops them in cleanup. The role needs the CREATEDB privilege,
 * which scripts/services.sh grants.
 */
export function postgresTarget(): StoreTarget {
    const adminUrl = testDatabaseUrl();
    const created: string[] = [];

    async function admin<T>(run: (client: Client) => Promise<T>): Promise<T> {
        const client = new Client({ connectionString: adminUrl });
        await client.connect();
        try {
            return await run(client);
        } finally {
            await client.end();
        }
    }

    return {
        engine: 'PostgreSQL',
        async createSpec() {
            databaseCounter += 1;
            const name = `ul_test_${process.pid}_${Date.now().toString(36)}_${databaseCounter}`;
            await admin((client) => client.query(`CREATE DATABASE ${name}`));
            created.push(name);
            const url = new URL(adminUrl);
            url.pathname = `/${name}`;
            return { engine: 'postgres', connectionString: url.toString() };
        },
        alias(spec) {
            return spec;
        },
        async cleanup() {
            const names = created.splice(0);
            await admin(async (client) => {
                for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            });
        },
    };
}
