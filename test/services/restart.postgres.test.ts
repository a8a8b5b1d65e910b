// PostgreSQL restarted by pg_ctlcluster while the store's batch writer loads 100,000 readings:
// every submitted reading must be stored exactly once, and the writer must resume by itself.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BatchWriter } from '../../lib/store/batch-writer';
import { closeAllStores, openStore, type StoreHandle } from '../../lib/store/index';
import type { WriteResult } from '../../lib/store/types';
import { loadReadings } from './load-suite';
import { postgresTarget, testDatabaseUrl } from './store-target';

const run = promisify(execFile);
const MESSAGE_SIZE = 100;

/** Finds the pg_ctlcluster cluster (version and name) that listens on the port of UL_TEST_DATABASE_URL. */
async function localCluster(): Promise<{ version: string; name: string }> {
    const port = new URL(testDatabaseUrl()).port || '5432';
    let listing: string;
    try {
        listing = (await run('pg_lsclusters', ['--no-header'])).stdout;
    } catch (error) {
        throw new Error(`pg_lsclusters failed (${(error as Error).message}); the restart test needs the server that scripts/services.sh starts.`);
    }
    for (const line of listing.split('\n')) {
        const [version, name, clusterPort] = line.trim().split(/\s+/);
        if (clusterPort === port) return { version, name };
    }
    throw new Error(`No pg_ctlcluster cluster listens on port ${port}; the restart test needs the server that scripts/services.sh starts.`);
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

describe('PostgreSQL restarted during a load', () => {
    const target = postgresTarget();
    let store: StoreHandle;
    let cluster: { version: string; name: string };

    beforeAll(async () => {
        cluster = await localCluster();
        store = await openStore(await target.createSpec());
    });

    afterAll(async () => {
        await closeAllStores();
        await target.cleanup();
    });

    // fast: the normal restart, which rolls back open transactions. immediate: a crash without a
    // checkpoint, after which the server replays its write-ahead log.
    for (const mode of ['fast', 'immediate'] as const) {
        it(`should store every reading through a restart in ${mode} mode`, async () => {
            const readings = loadReadings(`restart-${mode}-well`, '2017-06-01T00:00:00.000Z');
            let committed = 0;
            const retries: string[] = [];
            const writer = new BatchWriter({
                write: (batch) => store.writeReadings(batch),
                maxDelayMs: 1_000,
                listener: {
                    written: (summary) => {
                        committed += summary.readings;
                    },
                    retrying: (error) => {
                        retries.push(error.message);
                    },
                },
            });

            const started = performance.now();
            const submitted: Promise<WriteResult>[] = [];
            for (let start = 0; start < readings.length; start += MESSAGE_SIZE) {
                submitted.push(writer.submit(readings.slice(start, start + MESSAGE_SIZE)));
            }
            await waitFor(() => committed >= 20_000, 60_000, '20,000 committed readings');
            const committedAtRestart = committed;
            const restartStarted = performance.now();
            await run('pg_ctlcluster', ['--mode', mode, cluster.version, cluster.name, 'restart']);
            const restartMs = performance.now() - restartStarted;
            const committedAfterRestart = committed;

            const outcomes = await Promise.allSettled(submitted);
            const elapsedMs = performance.now() - started;
            await writer.close();
            const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
            const results = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
            const { rows } = await store.query<{ count: unknown }>(
                'SELECT count(*) AS count FROM readings WHERE starts_with(asset_id, $1)',
                [`restart-${mode}-well`],
            );

            console.log(`${mode} restart after ${committedAtRestart} of 100,000 readings took ${Math.round(restartMs)} ms `
                + `(${committedAfterRestart} committed when it returned); `
                + `load finished in ${Math.round(elapsedMs)} ms after ${retries.length} retried writes; first error: ${retries[0] ?? 'none'}`);
            expect(committedAtRestart).toBeLessThan(readings.length);
            expect(failures).toEqual([]);
            expect(results.reduce((sum, result) => sum + result.inserted + result.duplicates, 0)).toBe(readings.length);
            // The writer saw the outage and resumed without help.
            expect(retries.length).toBeGreaterThan(0);
            expect(Number(rows[0].count)).toBe(readings.length);
        });
    }

    it('should keep the rollups of every reading', async () => {
        await store.refreshRollups();
        const raw = await store.query<{ count: unknown }>('SELECT count(value) AS count FROM readings');

        for (const table of ['readings_1m', 'readings_15m', 'readings_1h']) {
            const rollup = await store.query<{ count: unknown }>(`SELECT sum(count) AS count FROM ${table}`);

            expect(Number(rollup.rows[0].count), table).toBe(Number(raw.rows[0].count));
        }
        // Two loads of 10 wells, 2 metrics and 84 minutes each.
        const minutes = await store.query<{ count: unknown }>('SELECT count(*) AS count FROM readings_1m');
        expect(Number(minutes.rows[0].count)).toBe(2 * 10 * 2 * 84);
    });
});
