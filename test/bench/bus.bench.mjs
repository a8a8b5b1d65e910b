// Benchmark of the cloud on real services. Signed readings are published over MQTT (Mosquitto) to
// one cloud runtime on the Kafka bus and PostgreSQL, and counted as stored rows. Beside it, the
// raw rate of kafkajs producing and consuming the same number of messages on the same broker, in
// the same run. Prints readings per second and the p50/p99 latency from MQTT publish to stored row.
//
//   npm run bench:bus -- [--envelopes 20000]
//
// Needs the services of scripts/services.sh (PostgreSQL, Kafka, Mosquitto) and their UL_TEST_*
// variables. Prints its figures and asserts nothing, so it is not a test.
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const mqtt = require('mqtt');
const { Client } = require('pg');
const { provisionDemo } = require(join(root, 'dist/runtime/demo.js'));
const { signEnvelope } = require(join(root, 'dist/lib/signing/envelope.js'));
const { loadPrivateKey } = require(join(root, 'dist/lib/signing/keys.js'));

const METRICS = [
    ['pressure_downhole', 'psi', 3000], ['pressure_tpt', 'psi', 2000], ['temp_tpt', 'degC', 80], ['pressure_upstream_choke', 'psi', 1500],
    ['temp_downstream_choke', 'degC', 60], ['pressure_gas_lift', 'psi', 2500], ['temp_gas_lift', 'degC', 40], ['gas_lift_rate', 'mmscfd', 3],
];

function option(name, fallback) {
    const index = process.argv.indexOf(`--${name}`);
    if (process.argv.includes('--help')) {
        console.log('Usage: npm run bench:bus -- [--envelopes N] [--runtimes N] (signed envelopes of 8 readings each, default 20000; cloud runtimes, default 1)\n'
            + 'Needs UL_TEST_DATABASE_URL, UL_TEST_KAFKA_BROKERS, UL_TEST_MQTT_URL and UL_TEST_MQTT_PASSWORD from scripts/services.sh.');
        process.exit(0);
    }
    return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function need(name) {
    const value = process.env[name];
    if (!value) {
        console.error(`${name} is not set; run \`bash scripts/services.sh start\` and export the UL_TEST_* lines it prints.`);
        process.exit(2);
    }
    return value;
}

async function freePort() {
    return new Promise((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

function percentile(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Produces `count` small keyed messages in batches and consumes them with a new group; returns messages/s. */
async function rawKafka(brokers, count) {
    const kafka = new Kafka({ clientId: 'ul-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const topic = `ul-bench-raw-${Date.now()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let received = 0;
    let done;
    const finished = new Promise((resolve) => {
        done = resolve;
    });
    await consumer.run({
        eachBatch: async ({ batch }) => {
            received += batch.messages.length;
            if (received >= count) done();
        },
    });
    const value = JSON.stringify([{ asset_id: 'bench', metric: 'pressure_tpt', value: 2000, unit: 'psi', ts: new Date().toISOString(), quality_flag: 'GOOD' }]);
    const started = performance.now();
    for (let sent = 0; sent < count; sent += 1_000) {
        const messages = Array.from({ length: Math.min(1_000, count - sent) }, (_, i) => ({ key: `asset-${(sent + i) % 500}`, value }));
        await producer.send({ topic, acks: -1, messages });
    }
    await finished;
    const seconds = (performance.now() - started) / 1000;
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    return count / seconds;
}

async function waitForReady(child, timeoutMs) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the cloud runtime did not report ready in time')), timeoutMs);
        let buffer = '';
        child.stdout.on('data', (chunk) => {
            if (process.env.UL_BENCH_RUNTIME_LOG) appendFileSync(process.env.UL_BENCH_RUNTIME_LOG, chunk);
            buffer += chunk;
            if (buffer.includes('cloud runtime ready')) {
                clearTimeout(timer);
                resolve();
            }
        });
        child.on('exit', (code) => reject(new Error(`the cloud runtime exited with code ${code}:\n${buffer.slice(-2000)}`)));
    });
}

async function main() {
    const envelopes = option('envelopes', 20_000);
    const databaseBase = need('UL_TEST_DATABASE_URL');
    const brokers = need('UL_TEST_KAFKA_BROKERS');
    const mqttUrl = need('UL_TEST_MQTT_URL');
    const mqttPassword = need('UL_TEST_MQTT_PASSWORD');
    console.log(`machine: ${cpus().length} cores, Node ${process.version}`);

    const rawRate = await rawKafka(brokers, envelopes);
    console.log(`raw kafkajs produce -> consume (acks all, batches of 1,000, 12 partitions): ${envelopes.toLocaleString('en-US')} messages, ${Math.round(rawRate).toLocaleString('en-US')} messages/s`);

    const database = `ul_bench_bus_${Date.now()}`;
    const admin = new Client({ connectionString: databaseBase });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const databaseUrl = new URL(databaseBase);
    databaseUrl.pathname = `/${database}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'ul-bench-bus-'));
    const quiet = { info() {}, warn() {}, error() {}, debug() {}, log() {} };
    await provisionDemo(dataDir, false, quiet);
    const prefix = `b${Date.now()}`;
    const runtimes = option('runtimes', 1);
    const children = [];
    // Runtimes left behind would keep their MQTT client ids and take messages from the next run.
    process.on('exit', () => {
        for (const child of children) child.kill('SIGKILL');
    });
    for (let index = 0; index < runtimes; index++) {
        const runtimeDir = index === 0 ? dataDir : mkdtempSync(join(tmpdir(), 'ul-bench-bus-'));
        if (index > 0) cpSync(join(dataDir, 'devices.json'), join(runtimeDir, 'devices.json'));
        const child = spawn(process.execPath, [join(root, 'bin/upstream-live.js'), 'start', '--profile', 'cloud', '--data-dir', runtimeDir,
            '--port', String(await freePort()), '--database-url', databaseUrl.toString(), '--mqtt-url', mqttUrl], {
            env: {
                ...process.env, UL_BUS_TRANSPORT: 'kafka', UL_KAFKA_BROKERS: brokers, UL_MQTT_USERNAME: 'cloud', UL_MQTT_PASSWORD: mqttPassword,
                UL_IMPORT_DEMO_REPORT: 'false', UL_RUNTIME_ID: `r${index}`, UL_MQTT_SHARED_GROUP: runtimes > 1 ? `${prefix}-cloud` : '',
            },
            stdio: ['ignore', 'pipe', 'inherit'],
        });
        child.stdout.setEncoding('utf8');
        children.push(child);
        await waitForReady(child, 120_000);
    }

    // The demo device may sign for its own wells only; the cloud quarantines readings of others.
    const devices = JSON.parse(readFileSync(join(dataDir, 'devices.json'), 'utf8'));
    const device = (devices.devices ?? devices).find((entry) => entry.device_id === 'edge-petrobras-01');
    const wells = device.assets;
    const key = loadPrivateKey(join(dataDir, 'keys', 'edge-petrobras-01.key'));
    const client = await mqtt.connectAsync(mqttUrl, { clientId: `${prefix}-edge`, username: 'edge', password: mqttPassword, clean: true });
    // Event times start 20 days back, one second per tick, so they stay within the cloud's age limit.
    const firstTick = Math.floor(Date.now() / 1000) * 1000 - 20 * 86_400_000;
    const publishedAt = new Map();
    let seq = Date.now();
    const started = Date.now();
    const inFlight = [];
    for (let n = 0; n < envelopes; n++) {
        const asset = wells[n % wells.length];
        const tick = firstTick + Math.floor(n / wells.length) * 1000;
        const ts = new Date(tick).toISOString();
        const readings = METRICS.map(([metric, unit, base]) => ({ asset_id: asset, metric, value: base + (n % 17), unit, ts, quality_flag: 'GOOD' }));
        const envelope = signEnvelope({ v: 1, device_id: 'edge-petrobras-01', cert_id: 'cert-edge-petrobras-01', seq: seq++, operator: 'petrobras', readings }, key);
        publishedAt.set(tick, publishedAt.get(tick) ?? Date.now());
        inFlight.push(client.publishAsync(`ops/petrobras/${asset}/readings`, JSON.stringify(envelope), { qos: 1 }));
        if (inFlight.length >= 200) await Promise.all(inFlight.splice(0));
    }
    await Promise.all(inFlight);
    const publishSeconds = (Date.now() - started) / 1000;
    const expected = envelopes * METRICS.length;

    const db = new Client({ connectionString: databaseUrl.toString() });
    await db.connect();
    let stored = 0;
    const deadline = Date.now() + Number(process.env.UL_BENCH_STORE_WAIT_MS ?? 600_000);
    while (stored < expected && Date.now() < deadline) {
        stored = Number((await db.query('SELECT count(*) AS n FROM readings')).rows[0].n);
        if (stored < expected) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const { rows } = await db.query('SELECT (extract(epoch FROM ts) * 1000)::float8 AS ts, (extract(epoch FROM received_at) * 1000)::float8 AS at FROM readings');
    const lastStored = rows.reduce((latest, row) => Math.max(latest, Number(row.at)), 0);
    const latencies = rows.map((row) => Number(row.at) - publishedAt.get(Number(row.ts))).filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
    const seconds = (lastStored - started) / 1000;
    console.log(`end to end, MQTT publish (Mosquitto, QoS 1) -> verify -> normalize -> PostgreSQL, ${runtimes} cloud runtime(s) on Kafka: ${stored.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} readings stored in ${seconds.toFixed(1)} s = ${Math.round(stored / seconds).toLocaleString('en-US')} readings/s (publishing took ${publishSeconds.toFixed(1)} s)`);
    console.log(`latency MQTT publish -> stored row: p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(percentile(latencies, 99))} ms (under saturation: every envelope was published as fast as possible)`);
    console.log(`ratio: raw kafkajs messages/s to end-to-end envelopes/s: ${(rawRate / (stored / METRICS.length / seconds)).toFixed(1)}`);

    await client.endAsync();
    await db.end();
    for (const child of children) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
    for (let attempt = 0; attempt < 20; attempt++) {
        try {
            await admin.query(`DROP DATABASE IF EXISTS ${database}`);
            break;
        } catch {
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    }
    await admin.end();
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
