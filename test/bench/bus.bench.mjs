// Benchmark of the cloud on real services. Signed readings of many wells are published over MQTT
// (Mosquitto) to one or more cloud runtimes on the Kafka bus and PostgreSQL, and counted as stored
// rows. Beside it, the raw rate of kafkajs producing and consuming on the same broker, in the same
// run. Prints readings per second, the latency from signing at the edge to the stored row, and the
// CPU time each process used.
//
//   npm run bench:bus -- [--envelopes 20000 | --rate 1000 --duration 600] [--assets 5000] [--runtimes 1] [--batch 1]
//
// A sample is the 8 readings of one well at one time. With --batch 1 every sample is its own
// envelope on the well's topic. With --batch K, K samples of one device share an envelope on the
// device's topic, as a gateway that batches its poll cycle would send them. Without --rate, every
// sample is published as fast as one MQTT client can (saturation). With --rate, samples are
// published at that rate for --duration seconds, as edge devices would, and the latency is the one
// at that rate. Needs the services of scripts/services.sh (PostgreSQL,
// Kafka, Mosquitto) and their UL_TEST_* variables. Prints its figures and asserts nothing, so it is
// not a test.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseWholeNumberOptions, WELL_METRICS } from './well-load.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const mqtt = require('mqtt');
const { Client } = require('pg');
const { provisionDemo } = require(join(root, 'dist/runtime/demo.js'));
const { signEnvelope } = require(join(root, 'dist/lib/signing/envelope.js'));

const METRICS = WELL_METRICS;

const USAGE = [
    'Usage: npm run bench:bus -- [options]',
    '  --envelopes N   publish N samples (8 readings of one well) as fast as possible (default 20000, when --rate is not given)',
    '  --rate N        publish N samples a second instead, each well in turn',
    '  --duration S    seconds to publish at --rate (default 60)',
    '  --assets N      wells in the registry and in the load (default 5000)',
    '  --per-device N  wells per edge device, each device with its own key (default 50)',
    '  --runtimes N    cloud runtimes sharing the load (default 1)',
    '  --batch K       samples of one device per signed envelope, on the device topic (default 1: one well per envelope);',
    '                  K must divide --per-device',
    'Needs UL_TEST_DATABASE_URL, UL_TEST_KAFKA_BROKERS, UL_TEST_MQTT_URL and UL_TEST_MQTT_PASSWORD from scripts/services.sh.',
    'UL_BENCH_CPU_PROFILE_DIR=DIR writes V8 CPU profiles of the runtimes; UL_BENCH_RUNTIME_LOG=FILE keeps their log.',
    'UL_BENCH_DASHBOARD_WEIGHT=W sets the Kafka consumer weight of the first runtime, which feeds the dashboard (the others have 1).',
].join('\n');

const OPTIONS = parseWholeNumberOptions(process.argv.slice(2), ['envelopes', 'rate', 'duration', 'assets', 'per-device', 'runtimes', 'batch'], USAGE);

// The Node.js options of the runtime image (Dockerfile), unless NODE_OPTIONS sets others: a larger
// young generation lets more of the short-lived message objects die before a scavenge copies them.
const RUNTIME_NODE_OPTIONS = process.env.NODE_OPTIONS || '--max-semi-space-size=64';
// Consumer weight of the runtime that feeds the dashboard, as in docker-compose.yml, unless
// UL_BENCH_DASHBOARD_WEIGHT sets another.
const DASHBOARD_WEIGHT = process.env.UL_BENCH_DASHBOARD_WEIGHT || '0.5';

function option(name, fallback) {
    return OPTIONS.get(name) ?? fallback;
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

/**
 * Waits until the consumer groups that the runtimes share have settled: for each group found in
 * every runtime's `ul_bus_assigned_partitions` gauges, each runtime has partitions and together
 * they add up to the topic's partition count, in two readings 1 s apart. The last runtime to start joins the groups
 * after it reports ready, and readings published before the partitions have moved would measure
 * that one rebalance instead of the sustained rate. Returns the seconds waited.
 */
async function waitForSettledGroups(ports, brokers, timeoutMs) {
    const kafka = new Kafka({ clientId: 'ul-bench-groups', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const partitionCounts = new Map();
    const started = Date.now();
    let settledBefore = false;
    try {
        while (Date.now() - started < timeoutMs) {
            const texts = await Promise.all(ports.map((port) => fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text())));
            // Partitions per group and topic, added up over the runtimes, and how many runtimes report each.
            const groups = new Map();
            for (const text of texts) {
                for (const line of text.split('\n')) {
                    const match = /^ul_bus_assigned_partitions\{(.*)\} (\d+)$/.exec(line);
                    if (!match) continue;
                    const topic = /topic="([^"]*)"/.exec(match[1])?.[1];
                    const group = /group="([^"]*)"/.exec(match[1])?.[1];
                    const entry = groups.get(`${group} ${topic}`) ?? { topic, partitions: 0, runtimes: 0, empty: 0 };
                    entry.partitions += Number(match[2]);
                    entry.runtimes += 1;
                    if (Number(match[2]) === 0) entry.empty += 1;
                    groups.set(`${group} ${topic}`, entry);
                }
            }
            const shared = [...groups.values()].filter((entry) => entry.runtimes === ports.length);
            for (const { topic } of shared) {
                if (partitionCounts.has(topic)) continue;
                const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
                partitionCounts.set(topic, metadata.partitions.length);
            }
            // A runtime that has not joined yet reports 0 while the others still have every partition.
            const settled = shared.length > 0 && shared.every((entry) => {
                const count = partitionCounts.get(entry.topic);
                return entry.partitions === count && (entry.empty === 0 || ports.length > count);
            });
            if (settled && settledBefore) return (Date.now() - started) / 1000;
            settledBefore = settled;
            await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
        throw new Error(`the runtimes' consumer groups did not settle within ${timeoutMs / 1000} s; see ul_bus_assigned_partitions in their /metrics`);
    } finally {
        await admin.disconnect();
    }
}

/**
 * Reads the CPU time of every process. `runtimePids` are the cloud runtimes the benchmark started,
 * in order: each one and its direct child process count as `cloud runtime N`.
 */
function cpuByProcess(runtimePids = []) {
    const ticks = new Map();
    if (!existsSync('/proc/self/stat')) return ticks;
    for (const pid of readdirSync('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            // Own time plus that of ended children, so PostgreSQL backends that closed still count.
            const used = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
            const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            let name = comm;
            const parent = Number(fields[1]);
            const runtime = runtimePids.findIndex((runtimePid) => runtimePid === Number(pid) || runtimePid === parent);
            if (runtime >= 0) name = `cloud runtime ${runtime}`;
            else if (args.some((arg) => arg.endsWith('child.js')) || args.some((arg) => arg.endsWith('upstream-live.js'))) name = 'cloud runtimes';
            else if (args.some((arg) => arg.endsWith('bus.bench.mjs'))) name = 'benchmark (edge devices: signing, MQTT publish)';
            else if (comm === 'java') name = 'Kafka';
            else if (comm.startsWith('postgres') || args[0]?.startsWith('postgres')) name = 'PostgreSQL';
            else if (comm === 'mosquitto') name = 'Mosquitto';
            else if (args.join('') === '') name = 'kernel threads (network, disk)';
            else name = `other (${comm})`;
            ticks.set(pid, { name, used });
        } catch {
            // The process ended while it was read.
        }
    }
    return ticks;
}

function cpuBetween(before, after, seconds) {
    const byName = new Map();
    for (const [pid, { name, used }] of after) {
        const start = before.get(pid)?.used ?? 0;
        byName.set(name, (byName.get(name) ?? 0) + (used - start) / 100);
    }
    // Processes of other work (shells count the time of their ended children) below half a
    // second are summed into one row.
    for (const [name, cpu] of [...byName]) {
        if (!name.startsWith('other (') || cpu >= 0.5) continue;
        byName.delete(name);
        byName.set('other, small', (byName.get('other, small') ?? 0) + cpu);
    }
    const total = [...byName.values()].reduce((sum, value) => sum + value, 0);
    const rows = [...byName].sort((a, b) => b[1] - a[1]).map(([name, cpu]) => `${name} ${cpu.toFixed(1)} s (${((cpu / seconds) * 100).toFixed(0)} % of one core)`);
    return `CPU over ${seconds.toFixed(0)} s, ${cpus().length} cores: ${rows.join('; ')}; all ${total.toFixed(1)} s = ${((total / seconds / cpus().length) * 100).toFixed(0)} % of the machine`;
}

/** Writes an asset registry of `count` wells and a device registry with one key per `perDevice` wells. */
function provisionLoad(folder, count, perDevice) {
    const assets = Array.from({ length: count }, (_, index) => ({
        asset_id: `bench-well-${String(index + 1).padStart(5, '0')}`,
        name: `Bench well ${index + 1}`,
        type: 'well',
        operator: 'petrobras',
        field: 'benchmark field',
        license: 'BENCH',
        geometry: { type: 'Point', coordinates: [-40 + (index % 100) / 100, -22 + Math.floor(index / 100) / 100] },
        position_illustrative: true,
    }));
    const assetsFile = join(folder, 'assets.json');
    writeFileSync(assetsFile, JSON.stringify({ description: 'Benchmark wells', operators: [{ operator: 'petrobras', name: 'Benchmark operator' }], assets }));
    const devices = [];
    for (let first = 0; first < count; first += perDevice) {
        const deviceId = `bench-edge-${String(devices.length + 1).padStart(4, '0')}`;
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        devices.push({
            entry: {
                device_id: deviceId, cert_id: `cert-${deviceId}`, operator: 'petrobras',
                assets: assets.slice(first, first + perDevice).map((asset) => asset.asset_id),
                public_key: publicKey.export({ type: 'spki', format: 'pem' }),
            },
            privateKey,
            seq: 1,
        });
    }
    return { assetsFile, devices, wells: assets.map((asset) => asset.asset_id) };
}

/** Ends the broker's persistent sessions of the runtimes' MQTT clients, so they queue nothing more. */
async function removeSessions(mqttUrl, password, runtimeIds) {
    for (const id of runtimeIds) {
        for (const client of ['ul-cloud-ingest', 'ul-cloud-ingest-rejections', 'ul-cloud-edge-alerts']) {
            const session = await mqtt.connectAsync(mqttUrl, { clientId: `${client}-${id}`, username: 'cloud', password, clean: true });
            await session.endAsync();
        }
    }
}

async function main() {
    const rate = option('rate', 0);
    const duration = option('duration', 60);
    const assetCount = option('assets', 5_000);
    const perDevice = option('per-device', 50);
    const batch = option('batch', 1);
    if (perDevice % batch !== 0) {
        console.error(`Option --batch ${batch} does not divide --per-device ${perDevice}; choose a batch that splits a device's wells evenly, such as ${perDevice}.`);
        process.exit(2);
    }
    // Whole batches only.
    const envelopes = Math.floor((rate > 0 ? Math.round(rate * duration) : option('envelopes', 20_000)) / batch) * batch;
    const databaseBase = need('UL_TEST_DATABASE_URL');
    const brokers = need('UL_TEST_KAFKA_BROKERS');
    const mqttUrl = need('UL_TEST_MQTT_URL');
    const mqttPassword = need('UL_TEST_MQTT_PASSWORD');
    console.log(`machine: ${cpus().length} cores, Node ${process.version}`);

    const rawCount = Math.min(envelopes, 100_000);
    const rawRate = await rawKafka(brokers, rawCount);
    console.log(`raw kafkajs produce -> consume (acks all, batches of 1,000, 12 partitions): ${rawCount.toLocaleString('en-US')} messages, ${Math.round(rawRate).toLocaleString('en-US')} messages/s`);

    const database = `ul_bench_bus_${Date.now()}`;
    const admin = new Client({ connectionString: databaseBase });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const databaseUrl = new URL(databaseBase);
    databaseUrl.pathname = `/${database}`;
    const work = mkdtempSync(join(tmpdir(), 'ul-bench-bus-'));
    const load = provisionLoad(work, assetCount, perDevice);
    const quiet = { info() {}, warn() {}, error() {}, debug() {}, log() {} };
    const prefix = `b${Date.now()}`;
    const runtimes = option('runtimes', 1);
    const children = [];
    // Runtimes left behind would keep their MQTT client ids and take messages from the next run.
    process.on('exit', () => {
        for (const child of children) child.kill('SIGKILL');
    });
    // Each run gets its own MQTT client ids: the broker keeps a runtime's persistent session, with
    // its subscriptions and queued messages, after the runtime stops (they are removed at the end).
    const runtimeIds = Array.from({ length: runtimes }, (_, index) => `${prefix}-r${index}`);
    const ports = [];
    for (let index = 0; index < runtimes; index++) {
        const runtimeDir = join(work, `runtime-${index}`);
        await provisionDemo(runtimeDir, false, quiet);
        writeFileSync(join(runtimeDir, 'devices.json'), JSON.stringify(load.devices.map((device) => device.entry), null, 1));
        // UL_BENCH_CPU_PROFILE_DIR writes a V8 CPU profile of each runtime process there on exit.
        const profile = process.env.UL_BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.UL_BENCH_CPU_PROFILE_DIR] : [];
        ports.push(await freePort());
        const child = spawn(process.execPath, [...profile, join(root, 'bin/upstream-live.js'), 'start', '--profile', 'cloud', '--data-dir', runtimeDir,
            '--port', String(ports[index]), '--database-url', databaseUrl.toString(), '--mqtt-url', mqttUrl, '--assets-file', load.assetsFile], {
            env: {
                ...process.env, UL_BUS_TRANSPORT: 'kafka', UL_KAFKA_BROKERS: brokers, UL_MQTT_USERNAME: 'cloud', UL_MQTT_PASSWORD: mqttPassword,
                UL_IMPORT_DEMO_REPORT: 'false', UL_RUNTIME_ID: runtimeIds[index], UL_MQTT_SHARED_GROUP: runtimes > 1 ? `${prefix}-cloud` : '',
                // As in docker-compose.yml: the first runtime feeds the dashboard, the others only share the ingest load.
                UL_DASHBOARD_FEED: index === 0 ? 'true' : 'false',
                // It also takes a smaller share of the shared partitions, so both are about equally busy.
                UL_KAFKA_WEIGHT: index === 0 ? DASHBOARD_WEIGHT : '1',
                NODE_OPTIONS: RUNTIME_NODE_OPTIONS,
            },
            stdio: ['ignore', 'pipe', 'inherit'],
        });
        child.stdout.setEncoding('utf8');
        children.push(child);
        await waitForReady(child, 120_000);
    }

    const settleSeconds = await waitForSettledGroups(ports, brokers, 120_000);
    console.log(`consumer groups settled ${settleSeconds.toFixed(1)} s after the last runtime reported ready`);

    const client = await mqtt.connectAsync(mqttUrl, { clientId: `${prefix}-edge`, username: 'edge', password: mqttPassword, clean: true });
    const deviceOf = new Map();
    for (const device of load.devices) for (const assetId of device.entry.assets) deviceOf.set(assetId, device);
    // Each reading is stamped with the time it is signed, so the store's received_at minus ts is
    // the latency from the edge to the stored row. Times of one well only ever grow.
    const lastTs = new Map();
    let failed = 0;
    // Sample n is well n modulo the well count. A batch is the K samples from n on, all of one
    // device, because each device has consecutive wells and K divides their count.
    const publish = (n) => {
        const readings = [];
        const device = deviceOf.get(load.wells[n % load.wells.length]);
        for (let index = n; index < n + batch; index++) {
            const asset = load.wells[index % load.wells.length];
            const tsMs = Math.max(Date.now(), (lastTs.get(asset) ?? 0) + 1);
            lastTs.set(asset, tsMs);
            const ts = new Date(tsMs).toISOString();
            for (const [metric, unit, base] of METRICS) readings.push({ asset_id: asset, metric, value: base + (index % 17), unit, ts, quality_flag: 'GOOD' });
        }
        const envelope = signEnvelope({ v: 1, device_id: device.entry.device_id, cert_id: device.entry.cert_id, seq: device.seq++, operator: 'petrobras', readings }, device.privateKey);
        const topic = batch > 1 ? `ops/petrobras/${device.entry.device_id}/readings` : `ops/petrobras/${readings[0].asset_id}/readings`;
        return client.publishAsync(topic, JSON.stringify(envelope), { qos: 1 }).catch(() => { failed++; });
    };

    const runtimePids = children.map((child) => child.pid);
    const cpuBefore = cpuByProcess(runtimePids);
    const started = Date.now();
    const health = watchRuntimes(ports, started);
    const server = watchDatabase(admin, database, started);
    const inFlight = [];
    if (rate > 0) {
        // Envelopes go out in slices every 10 ms; a slice that falls behind is caught up at once.
        const sliceMs = 10;
        let sent = 0;
        let nextProgress = started + 10_000;
        while (sent < envelopes) {
            const due = Math.min(envelopes, Math.floor(((Date.now() - started) / 1000) * rate));
            while (sent + batch <= due) {
                inFlight.push(publish(sent));
                sent += batch;
            }
            if (inFlight.length > 5_000) await Promise.all(inFlight.splice(0));
            if (Date.now() >= nextProgress) {
                console.log(`  ${Math.round((Date.now() - started) / 1000)} s: ${sent.toLocaleString('en-US')} samples published`);
                nextProgress += 10_000;
            }
            await new Promise((resolve) => setTimeout(resolve, sliceMs));
        }
    } else {
        for (let n = 0; n < envelopes; n += batch) {
            inFlight.push(publish(n));
            if (inFlight.length * batch >= 200) await Promise.all(inFlight.splice(0));
        }
    }
    await Promise.all(inFlight);
    const publishSeconds = (Date.now() - started) / 1000;
    const expected = envelopes * METRICS.length;

    const db = new Client({ connectionString: databaseUrl.toString() });
    await db.connect();
    const count = async () => Number((await db.query('SELECT count(*) AS n FROM readings')).rows[0].n);
    // The runtimes' counters of stored readings tell when the store has caught up. A count over
    // tens of millions of rows is itself work for the database, and it would slow the last
    // readings down while they are being stored. The rows are counted once at the end.
    const storedByRuntimes = async () => {
        try {
            const texts = await Promise.all(ports.map((port) => fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text())));
            return texts.reduce((sum, text) => sum + sumOf(text, 'ul_readings_stored_total'), 0);
        } catch {
            return count();
        }
    };
    const backlog = expected - (await storedByRuntimes());
    let reported = expected - backlog;
    const deadline = Date.now() + Number(process.env.UL_BENCH_STORE_WAIT_MS ?? 600_000);
    while (reported < expected && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        reported = await storedByRuntimes();
    }
    const stored = await count();
    if (stored < expected) {
        console.log(`stopped waiting for the store after ${Math.round((Date.now() - started) / 1000)} s with ${(expected - stored).toLocaleString('en-US')} readings `
            + 'not yet stored (UL_BENCH_STORE_WAIT_MS sets the wait); the figures below cover the stored part only');
    }
    health.stop();
    await server.stop();
    const drainedSeconds = (Date.now() - started) / 1000;
    const cpu = cpuBetween(cpuBefore, cpuByProcess(runtimePids), drainedSeconds);
    const { rows: [summary] } = await db.query(`SELECT count(*) AS n, count(DISTINCT (asset_id, metric, ts)) AS distinct_keys,
        (extract(epoch FROM max(received_at)) * 1000)::float8 AS last_stored,
        percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts) * 1000) AS pct,
        max(extract(epoch FROM received_at - ts) * 1000) AS max
        FROM readings`);
    const { rows: minutes } = await db.query(`SELECT date_trunc('minute', ts) AS minute, count(*) AS n,
        percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts) * 1000) AS p99
        FROM readings GROUP BY 1 ORDER BY 1`);
    // The three 10 s windows of signing time with the slowest reading, to line up with runtime logs.
    const { rows: slowest } = await db.query(`SELECT extract(epoch FROM date_bin('10 seconds', ts, to_timestamp($1 / 1000.0))) * 1000 AS start,
        percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts) * 1000) AS p99,
        max(extract(epoch FROM received_at - ts) * 1000) AS max
        FROM readings GROUP BY 1 ORDER BY max DESC LIMIT 3`, [started]);
    const quarantined = (await db.query('SELECT code, count(*) AS n FROM quarantine GROUP BY code ORDER BY n DESC')).rows;
    const seconds = (Number(summary.last_stored) - started) / 1000;
    const [p50, p95, p99] = summary.pct.map(Number);
    console.log(`load: ${assetCount.toLocaleString('en-US')} wells on ${load.devices.length} edge devices, ${batch * METRICS.length} readings (${batch} well${batch > 1 ? 's' : ''}) per envelope, ${runtimes} cloud runtime(s) on Kafka${runtimes > 1 ? ' (the first feeds the dashboard)' : ''}, signature verification on; runtimes with NODE_OPTIONS=${RUNTIME_NODE_OPTIONS}`);
    if (rate > 0) {
        console.log(`offered: ${rate.toLocaleString('en-US')} samples/s = ${(rate / batch).toLocaleString('en-US')} envelopes/s = ${(rate * METRICS.length).toLocaleString('en-US')} readings/s for ${duration} s; publishing took ${publishSeconds.toFixed(1)} s; `
            + `${backlog.toLocaleString('en-US')} readings were not yet stored when publishing ended`);
    }
    console.log(`end to end, MQTT publish (Mosquitto, QoS 1) -> verify -> normalize -> PostgreSQL: ${stored.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} readings stored `
        + `(${Number(summary.distinct_keys).toLocaleString('en-US')} distinct keys) in ${seconds.toFixed(1)} s = ${Math.round(stored / seconds).toLocaleString('en-US')} readings/s`
        + (rate > 0 ? '' : ` (publishing took ${publishSeconds.toFixed(1)} s)`));
    console.log(`latency signed at the edge -> stored row: p50 ${Math.round(p50)} ms, p95 ${Math.round(p95)} ms, p99 ${Math.round(p99)} ms, max ${Math.round(Number(summary.max))} ms`
        + (rate > 0 ? '' : ' (under saturation: every envelope was published as fast as possible)'));
    if (rate > 0) console.log(`p99 per minute of the run: ${minutes.map((row) => `${Math.round(Number(row.p99))} ms`).join(', ')}`);
    console.log(`slowest 10 s windows by signing time, p99 / max: ${slowest.map((row) => {
        const start = Number(row.start);
        return `${new Date(start).toISOString().slice(11, 19)} (${Math.round((start - started) / 1000)} s in) ${Math.round(Number(row.p99))} / ${Math.round(Number(row.max))} ms`;
    }).join(', ')}`);
    for (const line of health.report()) console.log(line);
    for (const line of server.report()) console.log(line);
    console.log(cpu);
    console.log(`publish errors: ${failed}; quarantined: ${quarantined.length === 0 ? 'none' : quarantined.map((row) => `${row.n} (${row.code})`).join(', ')}`);
    console.log(`ratio: raw kafkajs messages/s to end-to-end samples/s: ${(rawRate / (stored / METRICS.length / seconds)).toFixed(1)}`);

    await client.endAsync();
    await db.end();
    for (const child of children) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
    }
    await removeSessions(mqttUrl, mqttPassword, runtimeIds);
    rmSync(work, { recursive: true, force: true });
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

/** Reads one value from Prometheus text: the sample of `name` whose labels contain `labels`. */
function sampleOf(text, name, labels) {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(labels));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

/** Adds up the samples of `name` whose labels contain `labels`. */
function sumOf(text, name, labels = '') {
    return text
        .split('\n')
        .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labels))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Returns the largest value of `field` among the samples of each minute. */
function peaksPerMinute(samples, minutes, field) {
    return minutes.map((minute) => Math.max(...samples.filter((sample) => sample.minute === minute).map((sample) => sample[field])));
}

/** Returns how much the running total `field` grew in each minute, from its first sample on. */
function growthPerMinute(samples, minutes, field) {
    const totals = peaksPerMinute(samples, minutes, field);
    return totals.map((total, position) => total - (position === 0 ? samples[0][field] : totals[position - 1]));
}

/** Queues inside a runtime, read from /metrics: where readings wait when the latency grows. */
const QUEUES = [
    ['MQTT unacknowledged', 'ul_mqtt_unacknowledged_messages', ''],
    ['telemetry.raw lag', 'ul_bus_consumer_lag', 'topic="telemetry.raw"'],
    ['bus unsettled', 'ul_bus_unsettled_deliveries', ''],
    ['store pending', 'ul_store_write_pending_readings', ''],
];

/**
 * Reads each runtime's /metrics every 5 s: the worst event-loop delay of its last 10 s and its
 * garbage-collection pause total. report() gives them per minute of the run, for telling a slow
 * runtime from a slow broker or database when the latency jumps.
 */
function watchRuntimes(ports, started) {
    const samples = ports.map(() => []);
    const timer = setInterval(() => {
        ports.forEach((port, index) => {
            fetch(`http://127.0.0.1:${port}/metrics`)
                .then((response) => response.text())
                .then((text) => {
                    const gc = (kinds) => kinds.reduce((sum, kind) => sum + (sampleOf(text, 'ul_gc_pause_seconds_total', `kind="${kind}"`) || 0), 0);
                    samples[index].push({
                        minute: Math.floor((Date.now() - started) / 60_000),
                        delay: sampleOf(text, 'ul_event_loop_delay_seconds', 'quantile="1"'),
                        minor: gc(['minor']),
                        major: gc(['major', 'incremental', 'weakcb']),
                        queues: QUEUES.map(([, name, labels]) => sumOf(text, name, labels)),
                        batches: sumOf(text, 'ul_store_batches_total'),
                        batchSeconds: sumOf(text, 'ul_store_batch_seconds_total'),
                    });
                })
                .catch(() => undefined);
        });
    }, 5_000);
    return {
        stop: () => clearInterval(timer),
        report: () => samples.flatMap((list, index) => {
            if (list.length === 0) return [`runtime ${index}: no /metrics samples`];
            const minutes = [...new Set(list.map((sample) => sample.minute))];
            const delays = peaksPerMinute(list, minutes, 'delay');
            // Pause seconds per minute of one kind, from the growth of its total.
            const perMinute = (field) => growthPerMinute(list, minutes, field);
            const minor = perMinute('minor');
            const major = perMinute('major');
            const batches = perMinute('batches');
            const batchSeconds = perMinute('batchSeconds');
            const queueLines = QUEUES.map(([label], position) => {
                const peaks = minutes.map((minute) => Math.max(...list.filter((sample) => sample.minute === minute).map((sample) => sample.queues[position])));
                return `runtime ${index}: largest ${label} per minute: ${peaks.map((peak) => peak.toLocaleString('en-US')).join(', ')}`;
            });
            return [
                ...queueLines,
                `runtime ${index}: worst event-loop delay per minute: ${delays.map((delay) => `${Math.round(delay * 1000)} ms`).join(', ')}`,
                `runtime ${index}: GC pauses per minute, scavenges + mark-compact: ${minor.map((seconds, position) => `${seconds.toFixed(1)} + ${major[position].toFixed(1)} s`).join(', ')}`,
                `runtime ${index}: store batches per minute, with their mean time from write to commit: ${batches
                    .map((count, position) => `${count} (${count > 0 ? Math.round((batchSeconds[position] * 1000) / count) : '-'} ms)`).join(', ')}`,
            ];
        }),
    };
}

/**
 * Reads the database server's activity every 5 s: how many store writes run at once, how many
 * connections wait inside a transaction or on a lock, which tables autovacuum works on, and how
 * many checkpoints started. report() gives them per minute of the run.
 */
function watchDatabase(admin, database, started) {
    const samples = [];
    let busy = Promise.resolve();
    const timer = setInterval(() => {
        busy = admin.query(`SELECT
                count(*) FILTER (WHERE state = 'active' AND query LIKE '%INSERT INTO readings %')::int AS inserts,
                count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS idle_in_transaction,
                count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS lock_waits,
                coalesce(string_agg(DISTINCT substring(query FROM '[^ ]+\\.([^ ]+)'), ' ') FILTER (WHERE backend_type = 'autovacuum worker'), '') AS autovacuum,
                coalesce(string_agg(DISTINCT left(regexp_replace(query, '\\s+', ' ', 'g'), 40), ' | ') FILTER (WHERE state LIKE 'idle in transaction%'), '') AS waiting_in_transaction,
                (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)::int AS checkpoints,
                (SELECT buffers_backend FROM pg_stat_bgwriter)::float8 AS backend_pages,
                (SELECT buffers_clean FROM pg_stat_bgwriter)::float8 AS cleaned_pages
            FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database])
            .then(({ rows: [row] }) => {
                samples.push({ minute: Math.floor((Date.now() - started) / 60_000), ...row });
            })
            .catch(() => undefined);
    }, 5_000);
    return {
        stop: async () => {
            clearInterval(timer);
            await busy;
        },
        report: () => {
            if (samples.length === 0) return ['database: no activity samples'];
            const minutes = [...new Set(samples.map((sample) => sample.minute))];
            const samplesOf = (minute) => samples.filter((sample) => sample.minute === minute);
            const peak = (field) => peaksPerMinute(samples, minutes, field);
            const growth = (field) => growthPerMinute(samples, minutes, field);
            const checkpoints = growth('checkpoints');
            const backendPages = growth('backend_pages');
            const cleanedPages = growth('cleaned_pages');
            const vacuumed = minutes.map((minute) => [...new Set(samplesOf(minute).flatMap((sample) => sample.autovacuum.split(' ').filter(Boolean)))]);
            const waiting = [...new Set(samples.flatMap((sample) => sample.waiting_in_transaction.split(' | ').filter(Boolean)))];
            return [
                `database: last statements of connections idle in a transaction: ${waiting.length > 0 ? waiting.join(' | ') : 'none seen'}`,
                `database: max store inserts running at once per minute: ${peak('inserts').join(', ')}`,
                `database: max connections idle in a transaction per minute: ${peak('idle_in_transaction').join(', ')}; waiting on a lock: ${peak('lock_waits').join(', ')}`,
                `database: checkpoints started per minute: ${checkpoints.join(', ')}`,
                `database: pages written out by backends / by the background writer per minute: ${backendPages.map((pages, position) => `${pages} / ${cleanedPages[position]}`).join(', ')}`,
                `database: autovacuum seen per minute: ${vacuumed.map((list) => (list.length > 0 ? list.join(' ') : '-')).join(', ')}`,
            ];
        },
    };
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
