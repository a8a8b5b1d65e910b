// Benchmark of the store on PostgreSQL. It prints rows per second through the project's writer
// beside a plain COPY of the same rows into a bare table, on the same server in the same run. Then
// it prints the latency of GET /v1/readings over 24 hours and over 30 days.
//
//   npm run bench:store -- [--assets 2000] [--metrics 6] [--interval 10] [--hours 1] [--queries 200]
//
// Needs a PostgreSQL server: UL_BENCH_DATABASE_URL, else UL_TEST_DATABASE_URL (scripts/services.sh
// start prints it). The role must be allowed to create databases: each run creates a database of
// its own and drops it at the end. Prints its figures and asserts nothing, so it is not a test.
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { openStore, closeAllStores } = require(join(root, 'dist/lib/store/index.js'));
const { BatchWriter } = require(join(root, 'dist/lib/store/batch-writer.js'));
const { createApiRouter } = require(join(root, 'dist/runtime/api/routes.js'));
const express = require('express');
const { Client } = require('pg');

const HELP = `Usage: npm run bench:store -- [options]

Loads ASSETS x METRICS series at one reading every INTERVAL seconds for HOURS simulated hours
through the store writer, then the same rows with a plain COPY into a bare table, and prints both
rates and their ratio. Then loads 30 days of the same series for 2 assets and prints the p50 and
p99 latency of GET /v1/readings over 24 hours and over 30 days.

Options:
  --assets N      assets (default 2000)
  --metrics N     metrics per asset (default 6)
  --interval S    seconds between readings of one series (default 10)
  --hours H       simulated hours of the main load (default 1)
  --queries N     requests per query range (default 200)
  --help          show this text

Environment:
  UL_BENCH_DATABASE_URL, else UL_TEST_DATABASE_URL: a PostgreSQL server whose role may create databases.`;

const METRIC_NAMES = ['pressure_wellhead', 'temp_wellhead', 'pressure_tpt', 'temp_tpt', 'pressure_upstream_choke', 'temp_downstream_choke', 'gas_lift_rate', 'oil_rate'];
const UNITS = { pressure_wellhead: 'psi', temp_wellhead: 'degC', pressure_tpt: 'kPa', temp_tpt: 'degC', pressure_upstream_choke: 'kPa', temp_downstream_choke: 'degC', gas_lift_rate: 'sm3/d', oil_rate: 'bopd' };
const START = Date.parse('2026-11-01T00:00:00.000Z');
const HISTORY_ASSETS = 2;
const HISTORY_DAYS = 30;

function parseArgs(argv) {
    const options = { assets: 2000, metrics: 6, interval: 10, hours: 1, queries: 200 };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '--help' || arg === '-h') {
            console.log(HELP);
            process.exit(0);
        }
        const key = arg.replace(/^--/, '');
        if (!(key in options)) {
            console.error(`Unknown option "${arg}"; run with --help for the list.`);
            process.exit(2);
        }
        const value = Number(argv[++i]);
        if (!(value > 0)) {
            console.error(`Invalid value "${argv[i]}" for ${arg}: use a positive number.`);
            process.exit(2);
        }
        options[key] = value;
    }
    if (options.metrics > METRIC_NAMES.length) {
        console.error(`Invalid --metrics ${options.metrics}: use at most ${METRIC_NAMES.length}.`);
        process.exit(2);
    }
    return options;
}

/** Yields one message per asset and tick: the readings of all its metrics at that time, in time order. */
function* messages({ assets, metrics, interval, seconds, firstAsset = 0 }) {
    const names = METRIC_NAMES.slice(0, metrics);
    for (let t = 0; t < seconds; t += interval) {
        const ts = new Date(START + t * 1000).toISOString();
        for (let a = firstAsset; a < firstAsset + assets; a++) {
            const asset = `bench-${String(a).padStart(5, '0')}`;
            yield names.map((metric, m) => ({
                asset_id: asset, metric, ts, unit: UNITS[metric], quality_flag: 'GOOD',
                value: Math.round((1000 + 100 * Math.sin((t + a * 37 + m * 11) / 600)) * 1000) / 1000,
            }));
        }
    }
}

function percentile(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function writeThroughWriter(store, spec) {
    let written = 0;
    const writer = new BatchWriter({ write: (readings) => store.writeReadings(readings) });
    const started = performance.now();
    let pending = [];
    for (const message of messages(spec)) {
        pending.push(writer.submit(message));
        written += message.length;
        // Keeps the writer's buffer full without letting the generator run far ahead of it: waits
        // for the older half of the submitted messages, never for all of them, so the writer
        // never sits idle waiting for a batch to fill.
        if (pending.length >= 4_000) {
            await Promise.all(pending.slice(0, 2_000));
            pending = pending.slice(2_000);
        }
    }
    await Promise.all(pending);
    await writer.close();
    return { rows: written, seconds: (performance.now() - started) / 1000 };
}

async function writeCsv(file, spec) {
    const out = createWriteStream(file);
    let rows = 0;
    for (const message of messages(spec)) {
        let chunk = '';
        for (const r of message) chunk += `${r.asset_id},${r.metric},${r.ts},${r.value},${r.unit},${r.quality_flag}\n`;
        rows += message.length;
        if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    return rows;
}

function copyWithPsql(url, file, table) {
    const started = performance.now();
    const result = spawnSync('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
        `\\copy ${table} (asset_id, metric, ts, value, unit, quality_flag) FROM '${file}' WITH (FORMAT csv)`], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`psql \\copy failed: ${result.stderr || result.error}`);
    return (performance.now() - started) / 1000;
}

async function timeQueries(baseUrl, count, rangeMs, spec) {
    const times = [];
    const resolutions = new Map();
    const end = START + HISTORY_DAYS * 86_400_000;
    for (let i = 0; i < count; i++) {
        const asset = `bench-${String(spec.firstAsset + (i % HISTORY_ASSETS)).padStart(5, '0')}`;
        const metric = METRIC_NAMES[i % spec.metrics];
        // Ranges end at varied times within the loaded 30 days.
        const to = end - (i % 7) * 3_600_000;
        const from = Math.max(START, to - rangeMs);
        const query = new URLSearchParams({ asset_id: asset, metric, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
        const started = performance.now();
        const response = await fetch(`${baseUrl}/v1/readings?${query}`, { headers: { authorization: 'Bearer bench' } });
        const body = await response.json();
        times.push(performance.now() - started);
        if (response.status !== 200) throw new Error(`GET /v1/readings answered ${response.status}: ${JSON.stringify(body)}`);
        resolutions.set(`${body.resolution} (${body.count} points)`, (resolutions.get(`${body.resolution} (${body.count} points)`) ?? 0) + 1);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99), resolutions: [...resolutions.keys()].join(', ') };
}

/** Drops the benchmark's database, waiting for an autovacuum worker that may still be connected to it. */
async function dropDatabase(admin, database) {
    for (let attempt = 1; ; attempt++) {
        try {
            await admin.query(`DROP DATABASE IF EXISTS ${database}`);
            return;
        } catch (error) {
            if (attempt === 20) {
                console.error(`Could not drop the benchmark database ${database}: ${error.message}. Drop it by hand.`);
                return;
            }
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }
}

async function main() {
    const options = parseArgs(process.argv.slice(2));
    const baseUrl = process.env.UL_BENCH_DATABASE_URL || process.env.UL_TEST_DATABASE_URL;
    if (!baseUrl) {
        console.error('Set UL_BENCH_DATABASE_URL (or UL_TEST_DATABASE_URL) to a PostgreSQL server; `bash scripts/services.sh start` starts one and prints the URL.');
        process.exit(2);
    }
    const database = `ul_bench_${Date.now()}`;
    const admin = new Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(baseUrl);
    url.pathname = `/${database}`;
    const folder = mkdtempSync(join(tmpdir(), 'ul-bench-store-'));

    try {
        const version = (await admin.query('SHOW server_version')).rows[0].server_version;
        const seconds = options.hours * 3600;
        const main = { assets: options.assets, metrics: options.metrics, interval: options.interval, seconds };
        const expected = options.assets * options.metrics * Math.ceil(seconds / options.interval);
        console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL ${version}`);
        console.log(`load: ${options.assets} assets x ${options.metrics} metrics, one reading per ${options.interval} s, ${options.hours} h simulated = ${expected.toLocaleString('en-US')} rows`);

        const store = await openStore({ engine: 'postgres', connectionString: url.toString() });
        const writer = await writeThroughWriter(store, main);
        const stored = await store.countReadings();
        if (stored !== writer.rows) throw new Error(`The writer stored ${stored} rows of ${writer.rows}.`);
        const writerRate = writer.rows / writer.seconds;
        const csv = join(folder, 'rows.csv');
        await writeCsv(csv, main);
        console.log(`writer (BatchWriter -> writeReadings, rollups 1m/15m/1h): ${writer.rows.toLocaleString('en-US')} rows in ${writer.seconds.toFixed(1)} s = ${Math.round(writerRate).toLocaleString('en-US')} rows/s`);

        // Two baselines: a bare table without keys, and the same table with the readings' primary
        // key, which any store that skips redelivered readings must maintain.
        await store.query('CREATE TABLE bench_copy (asset_id text, metric text, ts timestamptz, value double precision, unit text, quality_flag text)');
        await store.query('CREATE TABLE bench_copy_keyed (LIKE bench_copy, PRIMARY KEY (asset_id, metric, ts))');
        for (const [table, label] of [['bench_copy', 'bare table, no keys'], ['bench_copy_keyed', 'same table with the primary key (asset_id, metric, ts)']]) {
            const copySeconds = copyWithPsql(url.toString(), csv, table);
            const copyRate = writer.rows / copySeconds;
            console.log(`plain COPY (psql \\copy of a CSV) into a ${label}: ${writer.rows.toLocaleString('en-US')} rows in ${copySeconds.toFixed(1)} s = ${Math.round(copyRate).toLocaleString('en-US')} rows/s; COPY is ${(copyRate / writerRate).toFixed(2)}x the writer`);
        }
        console.log('target: the writer within 2x of plain COPY');
        await store.query('DROP TABLE bench_copy, bench_copy_keyed');
        const refreshStarted = performance.now();
        const refreshed = await store.refreshRollups();
        console.log(`rollup marks left when the writer finished: ${refreshed.toLocaleString('en-US')} minutes, refreshed in ${((performance.now() - refreshStarted) / 1000).toFixed(1)} s`);

        const history = { assets: HISTORY_ASSETS, metrics: options.metrics, interval: options.interval, seconds: HISTORY_DAYS * 86_400, firstAsset: options.assets };
        const historyLoad = await writeThroughWriter(store, history);
        console.log(`history for queries: ${HISTORY_ASSETS} assets x ${options.metrics} metrics x ${HISTORY_DAYS} days = ${historyLoad.rows.toLocaleString('en-US')} rows in ${historyLoad.seconds.toFixed(1)} s`);
        // Queries are timed in the steady state, where the background refresh has caught up.
        const catchUp = performance.now();
        await store.refreshRollups();
        console.log(`rollup refresh after the history load: ${((performance.now() - catchUp) / 1000).toFixed(1)} s`);
        await store.upsertAssets(Array.from({ length: HISTORY_ASSETS }, (_, i) => {
            const id = `bench-${String(options.assets + i).padStart(5, '0')}`;
            return { asset_id: id, name: id, type: 'well', operator: 'bench', field: 'BENCH', license: 'B1', geometry: { type: 'Point', coordinates: [2, 58] } };
        }));
        // Autovacuum would have run by now in a long-lived store; a short benchmark runs it itself.
        await store.query('VACUUM ANALYZE');

        const app = express();
        const principal = { sub: 'bench', roles: ['regulator-admin'] };
        app.use('/v1', createApiRouter({ store, verifyToken: async () => principal, ingest: async () => [] }));
        const server = app.listen(0, '127.0.0.1');
        await once(server, 'listening');
        const api = `http://127.0.0.1:${server.address().port}`;
        for (const [label, rangeMs] of [['24 hours', 86_400_000], ['30 days', 30 * 86_400_000]]) {
            const result = await timeQueries(api, options.queries, rangeMs, history);
            console.log(`GET /v1/readings over ${label}: p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms over ${options.queries} requests; answered as ${result.resolutions}`);
        }
        server.close();
        await store.close();
        await closeAllStores();
    } finally {
        rmSync(folder, { recursive: true, force: true });
        await dropDatabase(admin, database);
        await admin.end();
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
