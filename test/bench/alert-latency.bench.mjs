// Benchmark of alert latency, edge to e-mail. It measures the time from the MQTT publish of a
// reading that crosses a P1 rule to the moment an SMTP server accepts the alert e-mail (end of
// DATA), under a steady load of signed readings. As a baseline from the same run, it measures the
// time from the same publish until GET /v1/readings returns the reading, so the reader sees what
// the alert path adds.
//
//   npm run bench:alerts -- [--assets 6] [--rate 1] [--minutes 2.5] [--interval 25] [--keep]
//
// Setup. The one-command demo (embedded aedes broker, cloud runtime on embedded PGlite) runs with
// UL_SMTP_HOST and UL_SMTP_PORT set to an SMTP receiver in this process. Its flows folder is a
// copy of flows/ with two changes. The edge flow is empty, so the demo replay adds no load and no
// alerts of its own. The rules node reads a copy of flows/rules.yaml with one extra rule,
// bench-temperature-crossing: P1, temp_downstream_choke above 90 degC, hold 0s. The alert router
// keeps its product settings: e-mail for P1 and P2, group window 30 s, check interval 10 s.
//
// Load. This script plays the edge. Two bench devices, one per operator, are registered with keys
// of their own before the demo starts. Every tick, each well sends one signed envelope with one
// reading of each of 8 metrics, timestamped now, with QoS 1 on ops/<operator>/<asset>/readings.
// Values stay within 0.1 % of a base value, too little to open any rule of flows/rules.yaml. After
// a warm-up of 10 s and then every --interval seconds, one well's temperature downstream of the
// choke reads 95 degC for 2 s (the crossing) and about 60 degC again after that (the clear). The
// crossing lasts 2 s because an alert that clears before the router's first check of it loses the
// urgency of an open P1: it is announced as opened and resolved, a group window later.
//
// Grouping. The router groups notifications per field, and the asset registry has two fields
// (3W offshore and VOLVE), so crossings alternate between a 3W well and a VOLVE well. A P1 opening
// goes out at once only when nothing else of its field waits for a notification. Otherwise it
// shares one e-mail with the waiting ones. The resolution that the clear causes is requested at
// the next check (within 10 s) and sent a group window (30 s) later, so a field's next crossing
// must come more than about 42 s after the previous one. The default interval of 25 s gives each
// field 50 s. Crossings announced late, in an e-mail about several alerts or only together with
// their resolution, are reported apart from the others.
// NOTE: in this version an alert drops out of the router's checks once its resolution is sent, so
// that e-mail does not hold the field's next P1 for another group window. Were it to count, the
// field's next crossing would have to come more than about 72 s later (--interval 37 or more).
//
// Measurement. The publish time is performance.now() just before the envelope's publish call. The
// e-mail time is when the receiver in this process reads the end of DATA of the first e-mail with
// the subject `[P1] bench-temperature-crossing on <well>` after that publish. The baseline time is
// the first response of GET /v1/readings, polled every 20 ms, that contains the crossing reading.
// That response comes up to 20 ms plus one request after the commit, so the printed "alert path
// after the reading is readable" understates the alert path by as much.
//
// Needs `npm run build` first (`npm run bench:alerts` runs it). Prints its figures and asserts
// nothing, so it is not a test.
import { spawn } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describeMachine, LoadMeter } from './machine-load.mjs';
import { startSmtpReceiver } from './smtp-receiver.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

const RULE_ID = 'bench-temperature-crossing';
const TRIGGER_METRIC = 'temp_downstream_choke';
const LIMIT = 90;
const CROSSING_VALUE = 95;
/** How long a crossing reads CROSSING_VALUE before the clear. */
const CROSSING_S = 2;
/** Readings of every envelope: metric, canonical unit and base value. */
const METRICS = [
    ['pressure_downhole', 'psi', 3000],
    ['pressure_tpt', 'psi', 2000],
    ['temp_tpt', 'degC', 80],
    ['pressure_upstream_choke', 'psi', 1500],
    ['temp_downstream_choke', 'degC', 60],
    ['pressure_gas_lift', 'psi', 2500],
    ['temp_gas_lift', 'degC', 40],
    ['gas_lift_rate', 'mmscfd', 3],
];
/** Time from the first tick to the first crossing, so that the pipeline is warm. */
const WARM_UP_S = 10;
/** The last crossing comes at least this long before the load ends. */
const TAIL_S = 5;
/** How long to wait after the load for e-mails and stored readings still missing. */
const DRAIN_MS = 60_000;
/** Interval of the GET /v1/readings polls that time the baseline. */
const POLL_MS = 20;
/** Product settings of the alert router, used only to warn about spacing that grouping would hold. */
const GROUP_WINDOW_S = 30;
const CHECK_INTERVAL_S = 10;

const OPTIONS = [
    { name: 'assets', fallback: 6, min: 2, max: 21, integer: true, help: 'wells that send readings, taken in turn from the 3W and VOLVE fields (2 to 21)' },
    { name: 'rate', fallback: 1, min: 0.1, max: 20, help: 'envelopes per well per second, each with one reading of each of the 8 metrics, in Hz' },
    { name: 'minutes', fallback: 2.5, min: 0.3, max: 600, help: 'duration of the load in minutes; start-up, drain and shutdown add 10 to 30 s' },
    { name: 'interval', fallback: 25, min: 1, max: 3600, help: 'seconds between two crossings; they alternate between the two fields, so each field sees one every 2 intervals' },
];

function helpText() {
    const lines = OPTIONS.map((option) => `  --${option.name.padEnd(10)} ${option.help}; default ${option.fallback}`);
    return [
        'Usage: npm run bench:alerts -- [options]',
        '',
        'Measures the time from the MQTT publish of a reading that crosses a P1 rule to the moment an',
        'SMTP receiver on 127.0.0.1 accepts the alert e-mail, under a steady load of signed readings, and',
        'the time from the same publish until the reading can be read from GET /v1/readings.',
        '',
        'Options:',
        ...lines,
        '  --keep       keep the data folder, flows and demo log in the temporary folder',
        '  --help       show this text',
        '',
        'Needs `npm run build` first; `npm run bench:alerts` runs it.',
    ].join('\n');
}

/** Parses `--name value` and `--name=value`, and exits with status 2 and a message on invalid input. */
function parseOptions(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
        console.log(helpText());
        process.exit(0);
    }
    const values = Object.fromEntries(OPTIONS.map((option) => [option.name, option.fallback]));
    values.keep = false;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--keep') {
            values.keep = true;
            continue;
        }
        const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
        const option = OPTIONS.find((candidate) => `--${candidate.name}` === flag);
        if (!option) fail(`Unknown option "${argv[i]}"; run with --help for the list.`);
        const raw = inline ?? argv[++i];
        const value = Number(raw);
        const valid = raw !== undefined && raw !== '' && Number.isFinite(value) && value >= option.min && value <= option.max
            && (!option.integer || Number.isInteger(value));
        if (!valid) fail(`Invalid value "${raw ?? ''}" for --${option.name}; use ${option.integer ? 'a whole number' : 'a number'} from ${option.min} to ${option.max}.`);
        values[option.name] = value;
    }
    return values;
}

function fail(message) {
    console.error(message);
    process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summary(values) {
    if (values.length === 0) return 'no samples';
    const sorted = [...values].sort((a, b) => a - b);
    const ms = (value) => `${Math.round(value).toLocaleString('en-US')} ms`;
    return `n ${sorted.length}, p50 ${ms(percentile(sorted, 50))}, p95 ${ms(percentile(sorted, 95))}, `
        + `p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted[sorted.length - 1])}`;
}

const count = (value) => value.toLocaleString('en-US');
/** Returns `n noun` with an s added to the noun unless n is 1. */
const plural = (n, noun) => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------
// Preparation: flows folder, rules file and bench devices.

/** Picks wells from the asset registry, in turn from each field, and groups them by field. */
function pickAssets(total) {
    const registry = JSON.parse(readFileSync(join(root, 'data', 'assets.json'), 'utf8')).assets;
    const byField = new Map();
    for (const asset of registry.filter((candidate) => candidate.type === 'well').sort((a, b) => a.asset_id.localeCompare(b.asset_id))) {
        if (!byField.has(asset.field)) byField.set(asset.field, []);
        byField.get(asset.field).push(asset);
    }
    const fields = [...byField.values()];
    if (fields.length < 2) fail('data/assets.json lists wells of fewer than two fields; the benchmark needs two, so that grouping does not hold the P1 alerts.');
    const picked = fields.map(() => []);
    for (let round = 0, taken = 0; taken < total; round++) {
        const before = taken;
        for (let f = 0; f < fields.length && taken < total; f++) {
            if (round < fields[f].length) {
                picked[f].push(fields[f][round]);
                taken++;
            }
        }
        if (taken === before) fail(`data/assets.json lists only ${taken} wells; pass --assets ${taken} or less.`);
    }
    return fields.map((wells, f) => ({ field: wells[0].field, operator: wells[0].operator, assets: picked[f] })).filter((field) => field.assets.length > 0);
}

/** Copies flows/ with an empty edge flow and the rules node pointed at a rules file with the bench rule. */
function prepareFlows(flowsDir) {
    const { parse, stringify } = require('yaml');
    const { loadRulesFile } = require(join(root, 'dist/lib/rules/load.js'));
    cpSync(join(root, 'flows'), flowsDir, { recursive: true });
    writeFileSync(join(flowsDir, 'edge.json'), '[]\n');

    const rules = parse(readFileSync(join(root, 'flows', 'rules.yaml'), 'utf8'));
    rules.rules.push({
        id: RULE_ID,
        description: `Benchmark rule: ${TRIGGER_METRIC} above ${LIMIT} degC opens a P1 at the first reading, with no hold time.`,
        severity: 'P1',
        runbook: 'test/bench/alert-latency.bench.mjs',
        message: '{asset_id}: {metric} is {value} {unit}, above {threshold} {unit}.',
        scope: { metrics: [TRIGGER_METRIC], asset_types: ['well'] },
        kind: 'threshold',
        above: LIMIT,
        hold: '0s',
        clear_hysteresis: 5,
    });
    const rulesFile = join(flowsDir, 'bench-rules.yaml');
    writeFileSync(rulesFile, stringify(rules));
    // Reports a rule the product would reject before the demo starts, with the product's message.
    loadRulesFile(rulesFile);

    const cloudFile = join(flowsDir, 'cloud.json');
    const cloud = JSON.parse(readFileSync(cloudFile, 'utf8'));
    const rulesNodes = cloud.filter((node) => node.type === 'ul-rules');
    if (rulesNodes.length !== 1) throw new Error(`flows/cloud.json has ${rulesNodes.length} ul-rules nodes; the benchmark needs exactly one to point at its rules file.`);
    if (!cloud.some((node) => node.type === 'ul-alert-router')) throw new Error('flows/cloud.json has no ul-alert-router node, so no alert e-mail would be sent.');
    rulesNodes[0].rulesFile = rulesFile;
    writeFileSync(cloudFile, JSON.stringify(cloud, null, 4) + '\n');
}

/** Creates a device key per field's operator and registers the device for the field's picked wells. */
function registerDevices(dataDir, fields) {
    const { keysDir, registerDevice } = require(join(root, 'dist/runtime/demo.js'));
    const { generateDeviceKey, loadPrivateKey } = require(join(root, 'dist/lib/signing/keys.js'));
    return fields.map((field) => {
        const deviceId = `bench-edge-${field.operator}`;
        const publicKey = generateDeviceKey(keysDir(dataDir), deviceId);
        const device = { device_id: deviceId, cert_id: `cert-${deviceId}`, operator: field.operator, assets: field.assets.map((asset) => asset.asset_id) };
        registerDevice(dataDir, { ...device, public_key: publicKey });
        return { ...device, key: loadPrivateKey(join(keysDir(dataDir), `${deviceId}.key`)), seq: 0 };
    });
}

// ---------------------------------------------------------------------------------------------
// The demo process.

async function startDemo(folder, dataDir, flowsDir, smtpPort) {
    const ports = { http: await freePort(), edge: await freePort(), mqtt: await freePort() };
    const args = [join(root, 'bin', 'upstream-live.js'), 'start', '--data-dir', dataDir, '--port', String(ports.http), '--edge-port', String(ports.edge),
        '--mqtt-port', String(ports.mqtt), '--import-demo-report', 'false'];
    // UL_* variables of the caller's shell (a database URL, a Kafka bus) would change what is measured.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('UL_')));
    const env = { ...inherited, UL_LOG_FORMAT: 'json', UL_FLOWS_DIR: flowsDir, UL_SMTP_HOST: '127.0.0.1', UL_SMTP_PORT: String(smtpPort) };
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const logFile = join(folder, 'demo.log');
    const log = createWriteStream(logFile);
    let tail = '';
    let partial = '';
    const problems = [];
    const onData = (chunk) => {
        log.write(chunk);
        tail = (tail + chunk.toString()).slice(-20_000);
        // Warnings and errors of the JSON log, such as a runtime that exited and was restarted.
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop();
        for (const line of lines) {
            if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
            try {
                const record = JSON.parse(line);
                problems.push(`${record.level} ${record.role ? `[${record.role}] ` : ''}${record.msg}`);
            } catch {
                problems.push(line.slice(0, 300));
            }
        }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    // A benchmark that dies must not leave the demo running.
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);

    await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Timed out after 180 s waiting for the demo's banner; see ${logFile}:\n${tail.slice(-3000)}`)), 180_000);
        const check = () => {
            if (!/ready in [\d.]+ s/.test(tail)) return;
            clearTimeout(timer);
            child.stdout.off('data', check);
            // Start-up warnings such as Node-RED's note that projects are disabled are expected.
            problems.length = 0;
            resolve();
        };
        child.stdout.on('data', check);
        child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`The demo exited with code ${code} before it was ready; see ${logFile}:\n${tail.slice(-3000)}`));
        });
    });
    const pidOf = (role) => Number(readFileSync(join(dataDir, 'run', `${role}.pid`), 'utf8'));

    return {
        baseUrl: `http://127.0.0.1:${ports.http}`,
        mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`,
        pids: [child.pid, pidOf('cloud'), pidOf('edge')],
        logFile,
        problems,
        /** Sends SIGINT as Ctrl-C would and waits for the exit, killing the demo after 90 s. */
        async stop() {
            if (child.exitCode === null && child.signalCode === null) {
                const exited = new Promise((resolve) => child.once('exit', resolve));
                child.kill('SIGINT');
                const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
                await exited;
                clearTimeout(timer);
            }
            process.off('exit', killOnExit);
            log.end();
        },
    };
}

async function login(baseUrl, dataDir) {
    const line = readFileSync(join(dataDir, 'demo-credentials.txt'), 'utf8').split('\n').find((entry) => entry.startsWith('admin '));
    if (!line) throw new Error(`The admin account is missing from ${join(dataDir, 'demo-credentials.txt')}; the demo writes it on first start.`);
    const response = await fetch(`${baseUrl}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: line.split(' ')[1] }),
    });
    if (!response.ok) throw new Error(`Login as admin failed: ${response.status} ${await response.text()}`);
    return (await response.json()).access_token;
}

async function getJson(url, token) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${url} failed: ${response.status} ${await response.text()}`);
    return response.json();
}

// ---------------------------------------------------------------------------------------------
// Measurements through the API.

/** Polls GET /v1/readings until it returns the crossing reading, and returns performance.now() at that response. */
async function timeStored(baseUrl, token, trigger, deadline) {
    const to = new Date(Date.parse(trigger.ts) + 1).toISOString();
    const query = new URLSearchParams({ asset_id: trigger.asset, metric: TRIGGER_METRIC, from: trigger.ts, to, resolution: 'raw', limit: '1' });
    while (performance.now() < deadline) {
        const body = await getJson(`${baseUrl}/v1/readings?${query}`, token);
        if (body.count > 0) return performance.now();
        await sleep(POLL_MS);
    }
    return undefined;
}

/** Counts the stored raw readings of the wells with timestamps in [from, to], following the API's pages. */
async function countStored(baseUrl, token, assets, from, to) {
    let total = 0;
    for (const asset of assets) {
        let after;
        do {
            const query = new URLSearchParams({ asset_id: asset, from, to: new Date(Date.parse(to) + 1).toISOString(), resolution: 'raw', limit: '100000' });
            if (after) query.set('after', after);
            const body = await getJson(`${baseUrl}/v1/readings?${query}`, token);
            total += body.count;
            after = body.next;
        } while (after);
    }
    return total;
}

// ---------------------------------------------------------------------------------------------
// E-mail matching.

/**
 * Returns how the message announces the opening of the bench alert on the asset: 'single', 'group',
 * or 'resolved', which is the opening of a trigger only when no earlier e-mail announced it.
 */
function announcement(message, asset) {
    if (message.subject === `[P1] ${RULE_ID} on ${asset}`) return 'single';
    if (message.subject === `[P1 resolved] ${RULE_ID} on ${asset}`) return 'resolved';
    if (!/^\[P1\] \d+ alerts on /.test(message.subject)) return undefined;
    // Group e-mails list each alert on a line `[P1 opened] rule on asset`; quoted-printable soft breaks are joined first.
    const text = message.data.replace(/=\n/g, '');
    return new RegExp(`\\[P1 opened(?: and resolved)?\\] ${RULE_ID} on ${asset}$`, 'm').test(text) ? 'group' : undefined;
}

/** Assigns to each trigger, in order, the first unused announcing message accepted after its publish. */
function matchEmails(triggers, messages) {
    const used = new Set();
    for (const trigger of triggers) {
        trigger.emailedAt = undefined;
        trigger.late = undefined;
        const index = messages.findIndex((message, i) => !used.has(i) && message.acceptedAt >= trigger.publishedAt && announcement(message, trigger.asset));
        if (index < 0) continue;
        used.add(index);
        trigger.emailedAt = messages[index].acceptedAt;
        const kind = announcement(messages[index], trigger.asset);
        if (kind === 'group') trigger.late = 'in a group e-mail';
        if (kind === 'resolved') trigger.late = 'opened and resolved';
    }
}

// ---------------------------------------------------------------------------------------------
// The edge load.

/** Value of a background reading: within 0.1 % of the base, varying slowly with the tick. */
function backgroundValue(base, tick, assetIndex, metricIndex) {
    return Math.round(base * (1 + 0.001 * Math.sin(tick / 7 + assetIndex + metricIndex)) * 1000) / 1000;
}

/**
 * Publishes one envelope per well per tick for `ticks` ticks, with the crossings of `triggerTicks`
 * (tick number to { asset, field }). Returns the triggers with their publish times, the counts of
 * readings, envelopes and publish errors, the first and last timestamps, and the duration in s.
 */
async function runLoad({ client, devices, rate, ticks, triggerTicks, onTrigger }) {
    const { signEnvelope } = require(join(root, 'dist/lib/signing/envelope.js'));
    const { readingsTopic } = require(join(root, 'dist/lib/signing/topic.js'));
    const periodMs = 1000 / rate;
    const wells = devices.flatMap((device) => device.assets.map((asset) => ({ asset, device })));
    const triggers = [];
    const crossingTicks = Math.max(1, Math.round(CROSSING_S * rate));
    /** Tick of the clear, per well whose crossing has started. */
    const clearAt = new Map();
    let published = 0;
    let envelopes = 0;
    let publishErrors = 0;
    let firstTs;
    let lastTs;
    const started = performance.now();

    for (let tick = 0; tick < ticks; tick++) {
        const wait = started + tick * periodMs - performance.now();
        if (wait > 0) await sleep(wait);
        const ts = new Date().toISOString();
        firstTs ??= ts;
        lastTs = ts;
        const crossing = triggerTicks.get(tick);
        for (const [assetIndex, { asset, device }] of wells.entries()) {
            const starts = crossing?.asset === asset;
            if (starts) clearAt.set(asset, tick + crossingTicks);
            const crosses = tick < (clearAt.get(asset) ?? 0);
            const readings = METRICS.map(([metric, unit, base], metricIndex) => ({
                asset_id: asset,
                metric,
                value: crosses && metric === TRIGGER_METRIC ? CROSSING_VALUE : backgroundValue(base, tick, assetIndex, metricIndex),
                unit,
                ts,
                quality_flag: 'GOOD',
            }));
            device.seq += 1;
            const envelope = signEnvelope({ v: 1, device_id: device.device_id, cert_id: device.cert_id, seq: device.seq, operator: device.operator, readings }, device.key);
            const payload = JSON.stringify(envelope);
            const publishedAt = performance.now();
            client.publish(readingsTopic(device.operator, asset), payload, { qos: 1 }, (err) => {
                if (err) publishErrors++;
            });
            published += readings.length;
            envelopes++;
            if (starts) {
                const trigger = { index: triggers.length + 1, asset, field: crossing.field, ts, publishedAt };
                triggers.push(trigger);
                onTrigger(trigger);
            }
        }
    }
    const seconds = (performance.now() - started) / 1000 + 1 / rate;
    return { triggers, published, envelopes, publishErrors, firstTs, lastTs, seconds };
}

/** Plans the crossings: tick number to { asset, field }, alternating fields, rotating wells within a field. */
function planTriggers(fields, rate, ticks, intervalS) {
    const plan = new Map();
    for (let k = 0; ; k++) {
        const tick = Math.round((WARM_UP_S + k * intervalS) * rate);
        if (tick + Math.ceil((CROSSING_S + TAIL_S) * rate) >= ticks) break;
        const field = fields[k % fields.length];
        const asset = field.assets[Math.floor(k / fields.length) % field.assets.length];
        plan.set(tick, { asset: asset.asset_id, field: field.field });
    }
    return plan;
}

// ---------------------------------------------------------------------------------------------

/** Warns when a field's crossings come so close that the previous resolution e-mail may still wait. */
function warnAboutSpacing(fields, options) {
    const fieldSpacingS = options.interval * fields.length;
    const neededS = CROSSING_S + CHECK_INTERVAL_S + GROUP_WINDOW_S;
    if (fieldSpacingS > neededS) return;
    console.warn(`warning: each field gets a crossing every ${fieldSpacingS} s, but its previous resolution e-mail can take up to ${neededS} s, `
        + `so grouping may hold P1 openings. Pass --interval ${Math.ceil((neededS + 4) / fields.length)} or more.`);
}

/** Runs the load against the started demo, waits for what is outstanding, and returns the figures to report. */
async function measure({ demo, dataDir, devices, smtp, rate, ticks, triggerTicks }) {
    const mqtt = require('mqtt');
    const token = await login(demo.baseUrl, dataDir);
    const account = JSON.parse(readFileSync(join(dataDir, 'mqtt-accounts.json'), 'utf8')).find((entry) => entry.role === 'edge');
    const client = await mqtt.connectAsync(demo.mqttUrl, { clientId: 'ul-bench-edge', username: account.username, password: account.password, clean: true });
    try {
        const meter = new LoadMeter(demo.pids);
        const polls = [];
        const onTrigger = (trigger) => {
            const poll = timeStored(demo.baseUrl, token, trigger, trigger.publishedAt + DRAIN_MS).then(
                (at) => {
                    trigger.storedAt = at;
                },
                (error) => {
                    trigger.pollError = error.message;
                },
            );
            polls.push(poll);
        };
        const load = await runLoad({ client, devices, rate, ticks, triggerTicks, onTrigger });
        const cpu = meter.stop();
        const wellIds = devices.flatMap((device) => device.assets);
        const storedDuringLoad = await countStored(demo.baseUrl, token, wellIds, load.firstTs, load.lastTs);

        // E-mails, polls and readings still outstanding get until the drain deadline.
        const drainDeadline = performance.now() + DRAIN_MS;
        let storedAfterDrain = storedDuringLoad;
        for (;;) {
            matchEmails(load.triggers, smtp.messages);
            const emailed = load.triggers.every((trigger) => trigger.emailedAt !== undefined);
            if ((emailed && storedAfterDrain >= load.published) || performance.now() >= drainDeadline) break;
            await sleep(1_000);
            if (storedAfterDrain < load.published) storedAfterDrain = await countStored(demo.baseUrl, token, wellIds, load.firstTs, load.lastTs);
        }
        await Promise.all(polls);
        const quarantine = await getJson(`${demo.baseUrl}/v1/quarantine?since=${encodeURIComponent(load.firstTs)}&limit=10000`, token);
        return { load, cpu, storedDuringLoad, storedAfterDrain, quarantined: quarantine.count, messages: smtp.messages, problems: demo.problems };
    } finally {
        await client.endAsync();
    }
}

async function main() {
    const options = parseOptions(process.argv.slice(2));
    for (const file of ['dist/runtime/cli.js', 'dist/lib/signing/envelope.js']) {
        if (!existsSync(join(root, file))) fail(`${file} is missing; run \`npm run build\` first.`);
    }
    const fields = pickAssets(options.assets);
    const ticks = Math.round(options.minutes * 60 * options.rate);
    const triggerTicks = planTriggers(fields, options.rate, ticks, options.interval);
    if (triggerTicks.size === 0) fail(`No crossing fits into ${options.minutes} minutes with a warm-up of ${WARM_UP_S} s; pass a larger --minutes.`);
    warnAboutSpacing(fields, options);

    console.log(`machine: ${describeMachine()}`);
    const assetCount = fields.reduce((sum, field) => sum + field.assets.length, 0);
    const perSecond = assetCount * METRICS.length * options.rate;
    console.log(`load:    ${fields.map((field) => `${field.assets.length} wells of ${field.field}`).join(' and ')}, ${METRICS.length} metrics each, `
        + `${options.rate} Hz = ${count(perSecond)} readings/s for ${count(ticks / options.rate)} s; `
        + `${plural(triggerTicks.size, 'crossing')}, one every ${options.interval} s, alternating fields`);

    const folder = mkdtempSync(join(tmpdir(), 'ul-bench-alerts-'));
    const dataDir = join(folder, 'data');
    const flowsDir = join(folder, 'flows');
    mkdirSync(dataDir, { recursive: true });
    let smtp;
    let demo;
    let keepFolder = false;
    try {
        prepareFlows(flowsDir);
        const devices = registerDevices(dataDir, fields);
        smtp = await startSmtpReceiver();
        const launched = performance.now();
        demo = await startDemo(folder, dataDir, flowsDir, smtp.port);
        console.log(`start-up: demo ready in ${((performance.now() - launched) / 1000).toFixed(1)} s (SMTP receiver on 127.0.0.1:${smtp.port})`);
        report(await measure({ demo, dataDir, devices, smtp, rate: options.rate, ticks, triggerTicks }));
    } catch (error) {
        keepFolder = true;
        throw error;
    } finally {
        await demo?.stop();
        await smtp?.close();
        if (keepFolder || options.keep) console.error(`data folder, flows and demo log kept in ${folder}`);
        else rmSync(folder, { recursive: true, force: true });
    }
}

function reportLoad({ load, storedDuringLoad, storedAfterDrain, quarantined }) {
    const errors = load.publishErrors ? `, ${load.publishErrors} publish errors` : '';
    console.log(`published: ${count(load.published)} readings in ${count(load.envelopes)} envelopes over ${load.seconds.toFixed(1)} s `
        + `= ${(load.published / load.seconds).toFixed(1)} readings/s${errors}`);
    console.log(`stored:    ${count(storedDuringLoad)} readings when the load ended = ${(storedDuringLoad / load.seconds).toFixed(1)} readings/s `
        + `(GET /v1/readings counts); ${count(storedAfterDrain)} of ${count(load.published)} after the drain, ${quarantined} in quarantine`);
}

function reportCrossings(triggers) {
    console.log('per crossing: well, publish -> readable in the API, publish -> e-mail accepted');
    for (const trigger of triggers) {
        let stored = trigger.pollError ? 'poll failed' : 'not seen';
        if (trigger.storedAt !== undefined) stored = `${Math.round(trigger.storedAt - trigger.publishedAt)} ms`;
        let emailed = 'no e-mail';
        if (trigger.emailedAt !== undefined) emailed = `${Math.round(trigger.emailedAt - trigger.publishedAt)} ms${trigger.late ? ` (${trigger.late})` : ''}`;
        console.log(`  #${String(trigger.index).padEnd(3)} ${trigger.asset.padEnd(18)} ${stored.padStart(9)}  ${emailed}`);
    }
    for (const trigger of triggers.filter((candidate) => candidate.pollError)) console.log(`poll of crossing #${trigger.index} failed: ${trigger.pollError}`);
}

function reportLatency(triggers, messages) {
    const alone = triggers.filter((trigger) => trigger.emailedAt !== undefined && !trigger.late);
    const late = triggers.filter((trigger) => trigger.late);
    const missing = triggers.filter((trigger) => trigger.emailedAt === undefined);
    const storedLatency = triggers.filter((trigger) => trigger.storedAt !== undefined).map((trigger) => trigger.storedAt - trigger.publishedAt);
    const added = alone.filter((trigger) => trigger.storedAt !== undefined).map((trigger) => trigger.emailedAt - trigger.storedAt);

    console.log(`alert latency, MQTT publish -> SMTP end of DATA:        ${summary(alone.map((trigger) => trigger.emailedAt - trigger.publishedAt))}`);
    console.log(`baseline, MQTT publish -> reading in GET /v1/readings:  ${summary(storedLatency)} (polled every ${POLL_MS} ms)`);
    console.log(`alert path after the reading is readable:              ${summary(added)}`);
    if (late.length > 0) {
        console.log(`late: ${plural(late.length, 'crossing')} announced in a group e-mail or with their resolution, left out above: `
            + summary(late.map((trigger) => trigger.emailedAt - trigger.publishedAt)));
    }
    if (missing.length > 0) console.log(`missing: ${plural(missing.length, 'crossing')} got no e-mail within ${DRAIN_MS / 1000} s after the load`);
    // Nearest-rank percentiles: p95 is the maximum below 20 samples, p99 below 100.
    if (alone.length < 100) console.log(`note: with ${plural(alone.length, 'sample')}, ${alone.length < 20 ? 'p95 and p99 are' : 'p99 is'} the maximum`);
    const resolutions = messages.filter((message) => message.subject.startsWith('[P1 resolved]')).length;
    console.log(`e-mails accepted: ${messages.length}, of which ${resolutions} announce resolutions`);
}

function reportCpu(cpu) {
    console.log(`CPU during the load, share of the machine's capacity: busy ${cpu.busy.toFixed(0)} %, demo processes ${cpu.demo.toFixed(0)} %, `
        + `this benchmark ${cpu.bench.toFixed(0)} %, other processes ${cpu.others.toFixed(0)} %`);
    if (cpu.exited.length > 0) console.log(`demo processes ${cpu.exited.join(', ')} exited during the load, so their CPU time counts as other processes`);
    console.log(`1-minute load average during the load: ${cpu.loadMin.toFixed(2)} to ${cpu.loadMax.toFixed(2)}, mean ${cpu.loadMean.toFixed(2)}`);
}

function reportProblems(problems) {
    if (problems.length === 0) {
        console.log('demo log: no warnings or errors');
        return;
    }
    const distinct = [...new Set(problems)];
    console.log(`demo log: ${problems.length} warnings or errors, ${distinct.length} distinct; the first ones:`);
    for (const problem of distinct.slice(0, 5)) console.log(`  ${problem.slice(0, 200)}`);
}

function report(results) {
    console.log('');
    reportLoad(results);
    console.log('');
    reportCrossings(results.load.triggers);
    console.log('');
    reportLatency(results.load.triggers, results.messages);
    console.log('');
    reportCpu(results.cpu);
    reportProblems(results.problems);
}

main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
});
