// Checks once, before any services test runs, that UL_TEST_DATABASE_URL is set and reachable,
// so that a missing server fails with one clear message instead of one error per test.
import { Client } from 'pg';

import { describeStoreSpec } from '../../lib/store/spec';
import { testDatabaseUrl } from './store-target';

export default async function setup(): Promise<void> {
    const connectionString = testDatabaseUrl();
    const client = new Client({ connectionString, connectionTimeoutMillis: 10_000 });
    try {
        await client.connect();
        await client.query('SELECT 1');
    } catch (error) {
        throw new Error(`Cannot connect to ${describeStoreSpec({ engine: 'postgres', connectionString })} from UL_TEST_DATABASE_URL: `
            + `${(error as Error).message}. Start it with \`scripts/services.sh start\` (as root) and export the URL it prints.`);
    } finally {
        await client.end().catch(() => undefined);
    }
}
