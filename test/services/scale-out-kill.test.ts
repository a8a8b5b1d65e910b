// Two cloud runtimes in one Kafka consumer group and one MQTT shared-subscription group, on the
// PostgreSQL, Kafka and Mosquitto of scripts/services.sh. A publisher signs a replay of a real 3W
// file with a choke restriction and publishes it over MQTT QoS 1, faster than real time. Mid-stream
// the runtime that evaluates the well's rules is killed with SIGKILL and later started again with
// the same identity. Afterwards the store must hold every reading of the file exactly once, and
// the events table the restriction's alert exactly once.
// Start the services with `scripts/services.sh start` and export the UL_TEST_* lines it prints;
// run `npm run build` first, because the runtimes run from dist/.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Kafka, logLevel, Partitioners } from 'kafkajs';
import mqtt from 'mqtt';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KAFKA_DEFAULTS } from '../../lib/bus/settings';
import { DATA_DIR, FLOWS_DIR, PROJECT_ROOT } from '../../lib/paths';
import { readReplayFile } from '../../lib/replay/reader';
import { signEnvelope } from '../../lib/signing/envelope';
import { loadPrivateKey } from '../../lib/signing/keys';
import { parseTagMapConfig, TagMapper } from '../../lib/tag-map/tag-map';
import type { Reading } from '../../lib/types';
import { DEMO_DEVICE, provisionDemo } from '../../runtime/demo';
import { freePort } from '../support/demo-process';
import { readThreeW } from '../support/threew';

const VARIABLES = ['UL_TEST_DATABASE_URL', 'UL_TEST_KAFKA_BROKERS', 'UL_TEST_MQTT_URL', 'UL_TEST_MQTT_PASSWORD'] as const;
type Variable = (typeof VARIABLES)[number];

/** The choke restriction of WELL-00004; its transient starts at data row 421. */
const WELL = { assetId: '3w-well-00004', file: 'petrobras-3w/6/WELL-00004_20171031193025.csv' };
/** The cloud rule that catches the restriction (see test/e2e/pipeline.test.ts). */
const CHOKE_RULE = { id: 'choke-upstream-pressure-rise', severity: 'P2' };
/** Envelopes (one per file row) published per second, so that each runtime always has messages in its flow. */
const PUBLISH_RATE = 1_000;
/** The kill is due once this many envelopes were acknowledged to the publisher. */
const KILL_AFTER = 350;
/** Time between the kill and the start of the same runtime again. */
const RESTART_AFTER_MS = 10_000;
/** The last reading lies this far before the start of publishing, within the cloud's age and future limits. */
const LAST_READING_AGE_MS = 60_000;
const START_TIMEOUT_MS = 90_000;
/** The Kafka group moves the partitions of a killed runtime after the session timeout (30 s), then replays what it had not committed. */
const STORE_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 300_000;

const run = randomBytes(4).toString('hex');
const prefix = `scale-kill-${run}`;
const topics = { raw: `${prefix}.telemetry.raw`, clean: `${prefix}.telemetry.clean`, alerts: `${prefix}.events.alerts` };
/** Consumer groups of the flow's shared bus-in nodes: the bus's group id, then the node id. */
const groups = { raw: `${prefix}.ingest-raw-in`, clean: `${prefix}.alerts-bus-in` };
/** Client ids of the flow's three ul-mqtt-ingest nodes, which append UL_RUNTIME_ID. */
const INGEST_CLIENT_IDS = ['ul-cloud-ingest', 'ul-cloud-ingest-rejections', 'ul-cloud-edge-alerts'];

/** Returns the service variables, or throws an error that explains how to start the services. */
function testServices(): Record<Variable, string> {
    const missing = VARIABLES.filter((name) => !process.env[name]);
    if (missing.length > 0) {
        throw new Error(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set. The scale-out kill test needs the services that `
            + '`scripts/services.sh start` (as root) starts: export the UL_TEST_* lines it prints, then run the test again.');
    }
    return Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]!])) as Record<Variable, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what()}`);
        await sleep(200);
    }
}

/**
 * Writes a copy of flows/ whose cloud flow uses bus topics and consumer groups of this run only,
 * so that the runtimes read nothing that other runs left in the shared Kafka topics.
 */
function writeFlows(folder: string): void {
    cpSync(FLOWS_DIR, folder, { recursive: true });
    const flow = JSON.parse(readFileSync(join(FLOWS_DIR, 'cloud.json'), 'utf8')) as Record<string, unknown>[];
    const renamed: Record<string, string> = { 'telemetry.raw': topics.raw, 'telemetry.clean': topics.clean, 'events.alerts': topics.alerts };
    for (const node of flow) {
        if (node.type === 'ul-bus') Object.assign(node, { groupId: prefix, clientId: prefix });
        if ((node.type === 'ul-bus-in' || node.type === 'ul-bus-out') && typeof node.topic === 'string') {
            if (!renamed[node.topic]) throw new Error(`The cloud flow uses bus topic ${node.topic}, which the test does not rename; add it to the test.`);
            node.topic = renamed[node.topic];
        }
    }
    writeFileSync(join(folder, 'cloud.json'), JSON.stringify(flow, null, 4) + '\n');
}

/** One cloud runtime child process and the JSON log lines it wrote. */
class CloudRuntime {
    readonly lines: string[] = [];
    child: ChildProcess | undefined;
    port = 0;
    starts = 0;

    constructor(
        readonly runtimeId: string,
        readonly dataDir: string,
        private readonly env: NodeJS.ProcessEnv,
    ) {}

    async start(): Promise<void> {
        this.port = await freePort();
        this.starts += 1;
        const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/upstream-live.js'), 'start', '--profile', 'cloud', '--data-dir', this.dataDir, '--port', String(this.port)], {
            env: { ...this.env, UL_RUNTIME_ID: this.runtimeId, UL_LOG_FORMAT: 'json' },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        this.child = child;
        let partial = '';
        const collect = (chunk: Buffer): void => {
            const text = partial + chunk.toString('utf8');
            const parts = text.split('\n');
            partial = parts.pop() ?? '';
            for (const line of parts) if (line.trim() !== '') this.lines.push(`${this.runtimeId}#${this.starts} ${line}`);
        };
        child.stdout?.on('data', collect);
        child.stderr?.on('data', collect);
        const readyLines = this.count('cloud runtime ready');
        await waitFor(() => {
            if (child.exitCode !== null) throw new Error(`Cloud runtime ${this.runtimeId} exited with code ${child.exitCode}:\n${this.lines.slice(-30).join('\n')}`);
            return this.count('cloud runtime ready') > readyLines;
        }, START_TIMEOUT_MS, () => `cloud runtime ${this.runtimeId} to report ready:\n${this.lines.slice(-30).join('\n')}`);
    }

    /** Number of log lines of this runtime that contain `text`. */
    count(text: string): number {
        return this.lines.filter((line) => line.includes(text)).length;
    }

    /** Partitions that this runtime's member of consumer `group` owned at its latest assignment, or undefined before the first. */
    assignedPartitions(group: string): number[] | undefined {
        const pattern = new RegExp(`Consumer group ${group.replace(/\./g, '\\.')} assigned partitions ([\\d, ]+|none) of topic`);
        const matches = this.lines.map((line) => pattern.exec(line)).filter((match): match is RegExpExecArray => match !== null);
        if (matches.length === 0) return undefined;
        const list = matches[matches.length - 1][1];
        return list === 'none' ? [] : list.split(',').map((item) => Number(item.trim()));
    }

    /** Returns the runtime's metrics, each summed over its labels. */
    async metrics(): Promise<Map<string, number>> {
        const response = await fetch(`http://127.0.0.1:${this.port}/metrics`);
        const sums = new Map<string, number>();
        for (const line of (await response.text()).split('\n')) {
            const match = /^([a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
            if (match) sums.set(match[1], (sums.get(match[1]) ?? 0) + Number(match[2]));
        }
        return sums;
    }

    kill(): Promise<void> {
        const child = this.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        return exited;
    }

    /** Stops the runtime with SIGTERM, and with SIGKILL when it has not exited within 30 s. */
    async stop(): Promise<void> {
        const child = this.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
    }
}

interface Envelope {
    row: number;
    topic: string;
    text: string;
    readings: Reading[];
}

/** Reads the file, maps its columns as the edge's 3W tag map does, and signs one envelope per row. */
async function signedEnvelopes(dataDir: string, lastReadingMs: number): Promise<Envelope[]> {
    const path = join(DATA_DIR, WELL.file);
    const rows = [];
    for await (const line of readReplayFile(path)) {
        if (!line.ok) throw new Error(`Row ${line.error.row} of ${WELL.file} is invalid: ${line.error.message}`);
        rows.push(line.row);
    }
    const shift = lastReadingMs - rows[rows.length - 1].source_ms;
    const mapper = new TagMapper(parseTagMapConfig({ assetId: WELL.assetId, operator: DEMO_DEVICE.operator, preset: '3w', ignore: 'class' }));
    const key = loadPrivateKey(join(dataDir, 'keys', `${DEMO_DEVICE.device_id}.key`));
    const topic = `ops/${DEMO_DEVICE.operator}/${WELL.assetId}/readings`;
    const firstSequence = Date.now();
    return rows.map((row) => {
        const mapped = mapper.map({ payload: { ts: row.source_ms + shift, values: row.values, row: row.row } }, `replay:${WELL.file}`);
        if (mapped.rejections.length > 0) throw new Error(`Row ${row.row} of ${WELL.file} was rejected by the tag map: ${mapped.rejections[0].reason}`);
        const readings = mapped.readings.get(WELL.assetId) ?? [];
        const envelope = signEnvelope({ v: 1, device_id: DEMO_DEVICE.device_id, cert_id: DEMO_DEVICE.cert_id, seq: firstSequence + row.row, operator: DEMO_DEVICE.operator, readings }, key);
        return { row: row.row, topic, text: JSON.stringify(envelope), readings };
    });
}

/** Returns the partition that kafkajs's default partitioner, which the bus uses, picks for a key. */
function partitionFinder(): (key: string) => number {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: KAFKA_DEFAULTS.partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    return (key) => partitioner({ topic: topics.raw, partitionMetadata, message: { key, value: null } });
}

const readingKey = (metric: string, ts: string): string => `${metric}@${ts}`;

describe('two cloud runtimes with one killed mid-stream', () => {
    let services: Record<Variable, string>;
    let database: string | undefined;
    let databaseUrl: string;
    let folder: string | undefined;
    let db: Client | undefined;
    const runtimes: CloudRuntime[] = [];

    beforeAll(() => {
        services = testServices();
    });

    afterAll(async () => {
        await Promise.all(runtimes.map((runtime) => runtime.stop()));
        const problems = runtimes.flatMap((runtime) => runtime.lines).filter((line) => /"level":"(warn|error|fatal)"/.test(line));
        if (problems.length > 0) console.info(`Runtime warnings and errors (${problems.length}, the first 40):\n${problems.slice(0, 40).join('\n')}`);
        await db?.end().catch(() => undefined);
        if (!services) return;

        // Remove the persistent sessions, so that the broker stops queueing messages for them.
        for (const runtime of runtimes) {
            for (const clientId of INGEST_CLIENT_IDS) {
                const client = await mqtt.connectAsync(services.UL_TEST_MQTT_URL, {
                    clientId: `${clientId}-${runtime.runtimeId}`, clean: true, username: 'cloud', password: services.UL_TEST_MQTT_PASSWORD, reconnectPeriod: 0,
                }).catch(() => undefined);
                await client?.endAsync();
            }
        }
        const admin = new Kafka({ clientId: `${prefix}-admin`, brokers: services.UL_TEST_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
        await admin.connect().catch(() => undefined);
        const runGroups = (await admin.listGroups().catch(() => ({ groups: [] }))).groups.map((group) => group.groupId).filter((id) => id.startsWith(`${prefix}.`));
        await admin.deleteGroups(runGroups).catch(() => undefined);
        await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
        await admin.disconnect().catch(() => undefined);

        if (database) {
            const maintenance = new Client({ connectionString: services.UL_TEST_DATABASE_URL });
            await maintenance.connect();
            await maintenance.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
            await maintenance.end();
        }
        if (folder) rmSync(folder, { recursive: true, force: true });
    }, 120_000);

    it('should store each reading and alert once', async () => {
        // A database, data folders and a flow copy of this run.
        database = `ul_scale_kill_${run}`;
        const maintenance = new Client({ connectionString: services.UL_TEST_DATABASE_URL });
        await maintenance.connect();
        await maintenance.query(`CREATE DATABASE ${database}`);
        await maintenance.end();
        const url = new URL(services.UL_TEST_DATABASE_URL);
        url.pathname = `/${database}`;
        databaseUrl = url.toString();
        folder = mkdtempSync(join(tmpdir(), 'ul-scale-out-kill-'));
        const flowsDir = join(folder, 'flows');
        writeFlows(flowsDir);
        const quiet = { log: () => undefined, error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet };
        const dataDirs = ['a', 'b'].map((name) => join(folder!, name));
        await provisionDemo(dataDirs[0], false, quiet);
        await provisionDemo(dataDirs[1], false, quiet);
        // Both runtimes verify with the key of the first folder's device.
        cpSync(join(dataDirs[0], 'devices.json'), join(dataDirs[1], 'devices.json'));

        const env: NodeJS.ProcessEnv = {
            ...process.env,
            UL_FLOWS_DIR: flowsDir,
            UL_DATABASE_URL: databaseUrl,
            UL_MQTT_URL: services.UL_TEST_MQTT_URL,
            UL_MQTT_USERNAME: 'cloud',
            UL_MQTT_PASSWORD: services.UL_TEST_MQTT_PASSWORD,
            UL_MQTT_SHARED_GROUP: prefix,
            UL_BUS_TRANSPORT: 'kafka',
            UL_KAFKA_BROKERS: services.UL_TEST_KAFKA_BROKERS,
            UL_IMPORT_DEMO_REPORT: 'false',
        };
        runtimes.push(new CloudRuntime(`${run}-a`, dataDirs[0], env), new CloudRuntime(`${run}-b`, dataDirs[1], env));
        await Promise.all(runtimes.map((runtime) => runtime.start()));
        // Both shared consumers own partitions of both topics, so the group is balanced.
        await waitFor(() => runtimes.every((runtime) => [groups.raw, groups.clean].every((group) => (runtime.assignedPartitions(group)?.length ?? 0) > 0)),
            START_TIMEOUT_MS, () => `both runtimes to own partitions in groups ${groups.raw} and ${groups.clean}`);

        // The victim is the runtime whose consumer owns the well's partition of the clean topic, so
        // its rule state is lost with it. Bus-out keys the clean topic by asset and the raw topic by MQTT topic.
        const partitionOf = partitionFinder();
        const partitions = { raw: partitionOf(`ops/${DEMO_DEVICE.operator}/${WELL.assetId}/readings`), clean: partitionOf(WELL.assetId) };
        const owners = {
            raw: runtimes.find((runtime) => runtime.assignedPartitions(groups.raw)?.includes(partitions.raw)),
            clean: runtimes.find((runtime) => runtime.assignedPartitions(groups.clean)?.includes(partitions.clean)),
        };
        expect(owners.clean, `the runtime that owns partition ${partitions.clean} in group ${groups.clean}`).toBeDefined();
        const victim = owners.clean!;

        // The publisher: one signed envelope per row, paced at PUBLISH_RATE, each PUBACK recorded.
        const envelopes = await signedEnvelopes(dataDirs[0], Date.now() - LAST_READING_AGE_MS);
        const file = readThreeW(join(DATA_DIR, WELL.file));
        const fileReadings = [...file.series.values()].reduce((sum, values) => sum + values.length, 0);
        expect(envelopes.reduce((sum, envelope) => sum + envelope.readings.length, 0), 'readings in the envelopes').toBe(fileReadings);

        db = new Client({ connectionString: databaseUrl });
        await db.connect();
        const publisher = await mqtt.connectAsync(services.UL_TEST_MQTT_URL, { clientId: `${prefix}-edge`, clean: true, username: 'edge', password: services.UL_TEST_MQTT_PASSWORD });
        const acknowledged = new Set<number>();
        const failed: { row: number; error: unknown }[] = [];
        const sends: Promise<void>[] = [];
        const startedAt = Date.now();
        let killedAt = 0;
        let unacknowledgedAtKill = 0;
        let receivedBeforeKill = 0;
        let killedAfterRow = 0;
        let killing: Promise<void> | undefined;
        let killedAfterAcknowledged = 0;
        // The kill waits until the victim reports unacknowledged messages (at most 2 s), so that it
        // meets messages received and not yet on the bus.
        const killVictim = async (row: number): Promise<void> => {
            const deadline = Date.now() + 2_000;
            do {
                const metrics = await victim.metrics();
                receivedBeforeKill = metrics.get('ul_mqtt_messages_total') ?? 0;
                unacknowledgedAtKill = metrics.get('ul_mqtt_unacknowledged_messages') ?? 0;
            } while (unacknowledgedAtKill === 0 && Date.now() < deadline);
            killedAfterRow = row;
            killedAt = Date.now();
            killedAfterAcknowledged = acknowledged.size;
            await victim.kill();
        };

        for (const [index, envelope] of envelopes.entries()) {
            const due = startedAt + (index * 1_000) / PUBLISH_RATE;
            if (due > Date.now()) await sleep(due - Date.now());
            sends.push(publisher.publishAsync(envelope.topic, envelope.text, { qos: 1 }).then(
                () => {
                    acknowledged.add(envelope.row);
                },
                (error: unknown) => {
                    failed.push({ row: envelope.row, error });
                },
            ));
            // Publishing goes on while the kill waits for its moment.
            if (!killing && acknowledged.size >= KILL_AFTER) killing = killVictim(envelope.row);
        }
        await (killing ?? killVictim(envelopes[envelopes.length - 1].row));
        await Promise.all(sends);
        const publishedAt = Date.now();

        // The killed runtime starts again with the same runtime id, so it resumes its MQTT sessions.
        const restartDue = killedAt + RESTART_AFTER_MS;
        if (restartDue > Date.now()) await sleep(restartDue - Date.now());
        await victim.start();
        const restartedAt = Date.now();

        // Every reading of the file reaches the store.
        const storedCount = async (): Promise<number> => Number((await db!.query('SELECT count(*) AS n FROM readings WHERE asset_id = $1', [WELL.assetId])).rows[0].n);
        let stored = 0;
        await waitFor(async () => {
            stored = await storedCount();
            return stored >= fileReadings;
        }, STORE_TIMEOUT_MS, () => `${fileReadings} readings of ${WELL.assetId} in the store (${stored} stored)`);
        const storedAt = Date.now();

        // The choke alert is stored by the runtime that evaluates the well, which may be either.
        const chokeEvents = async () => (await db!.query<{ event_id: string; severity: string; opened_at: Date }>(
            'SELECT event_id, severity, opened_at FROM events WHERE asset_id = $1 AND rule_id = $2', [WELL.assetId, CHOKE_RULE.id])).rows;
        await waitFor(async () => (await chokeEvents()).length > 0, 60_000, () => `an alert of rule ${CHOKE_RULE.id}`);
        // A duplicate alert from redelivered messages would follow within seconds, so the checks wait 5 s more.
        await sleep(5_000);

        const rows = (await db.query<{ metric: string; ts: Date }>('SELECT metric, ts FROM readings WHERE asset_id = $1', [WELL.assetId])).rows;
        const storedKeys = new Map<string, number>();
        for (const row of rows) {
            const key = readingKey(row.metric, row.ts.toISOString());
            storedKeys.set(key, (storedKeys.get(key) ?? 0) + 1);
        }
        const acknowledgedKeys = new Set(envelopes.filter((envelope) => acknowledged.has(envelope.row))
            .flatMap((envelope) => envelope.readings.map((reading) => readingKey(reading.metric, reading.ts))));
        const publishedKeys = new Set(envelopes.flatMap((envelope) => envelope.readings.map((reading) => readingKey(reading.metric, reading.ts))));
        const events = (await db.query<{ rule_id: string; severity: string; opened_at: Date; event_id: string }>(
            'SELECT rule_id, severity, opened_at, event_id FROM events WHERE asset_id = $1 ORDER BY opened_at', [WELL.assetId])).rows;
        const quarantine = (await db.query<{ code: string; n: string }>('SELECT code, count(*) AS n FROM quarantine GROUP BY code ORDER BY code')).rows;
        const survivor = runtimes.find((runtime) => runtime !== victim)!;
        const survivorMetrics = await survivor.metrics();
        const victimMetrics = await victim.metrics();
        const received = {
            survivor: survivorMetrics.get('ul_mqtt_messages_total') ?? 0,
            afterRestart: victimMetrics.get('ul_mqtt_messages_total') ?? 0,
            redelivered: victimMetrics.get('ul_mqtt_redelivered_messages_total') ?? 0,
        };
        const admin = new Kafka({ clientId: `${prefix}-check`, brokers: services.UL_TEST_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        const records = async (topic: string) => (await admin.fetchTopicOffsets(topic)).filter(({ high, low }) => BigInt(high) > BigInt(low))
            .map(({ partition, high, low }) => ({ partition, count: Number(BigInt(high) - BigInt(low)) }));
        const rawRecords = await records(topics.raw);
        const cleanRecords = await records(topics.clean);
        await admin.disconnect();
        const seconds = (ms: number): string => (ms / 1_000).toFixed(1);
        console.info([
            `Scale-out kill: published ${envelopes.length} envelopes (${fileReadings} readings) in ${seconds(publishedAt - startedAt)} s; `
                + `${acknowledged.size} acknowledged to the publisher, ${failed.length} failed.`,
            `Killed runtime ${victim.runtimeId} (owner of the well's clean partition) when ${killedAfterAcknowledged} envelopes were acknowledged `
                + `to the publisher (the kill was due after envelope ${killedAfterRow}), `
                + `${seconds(killedAt - startedAt)} s into publishing; its metrics just before showed ${receivedBeforeKill} MQTT messages received `
                + `and ${unacknowledgedAtKill} unacknowledged; `
                + `restarted it ${seconds(restartedAt - killedAt)} s later.`,
            `Store: ${rows.length} rows, ${storedKeys.size} distinct keys, all stored ${seconds(storedAt - killedAt)} s after the kill.`,
            `Events of ${WELL.assetId}: ${events.map((event) => `${event.rule_id} ${event.severity} at ${event.opened_at.toISOString()}`).join('; ') || 'none'}.`,
            `Quarantine by code: ${quarantine.map((row) => `${row.code} ${row.n}`).join(', ') || 'empty'}.`,
            `MQTT messages received: ${received.survivor} by ${survivor.runtimeId}; by ${victim.runtimeId} at least ${receivedBeforeKill} before the kill `
                + `and ${received.afterRestart} after its restart, ${received.redelivered} of them sent again by the broker; ${envelopes.length} published.`,
            `Kafka records: ${rawRecords.map(({ partition, count }) => `${count} in partition ${partition}`).join(', ')} of ${topics.raw} `
                + `(owned by ${owners.raw?.runtimeId ?? 'unknown'} at the start); ${cleanRecords.map(({ partition, count }) => `${count} in partition ${partition}`).join(', ')} `
                + `of ${topics.clean}.`,
        ].join('\n'));

        // The kill met messages that the victim had received and not yet acknowledged, and the
        // bus used the partitions the victim was chosen by.
        expect(unacknowledgedAtKill, 'unacknowledged MQTT messages of the victim just before the kill').toBeGreaterThan(0);
        expect(received.redelivered, 'messages the broker sent the restarted victim again').toBeGreaterThan(0);
        expect(rawRecords.map(({ partition }) => partition), `partitions of ${topics.raw} with records`).toEqual([partitions.raw]);
        expect(cleanRecords.map(({ partition }) => partition), `partitions of ${topics.clean} with records`).toEqual([partitions.clean]);

        // Every envelope was acknowledged to the publisher, so every reading of the file counts.
        expect(failed.map((entry) => entry.row), 'envelopes the broker did not acknowledge').toEqual([]);
        expect(acknowledged.size).toBe(envelopes.length);

        // The store contains every acknowledged reading exactly once and nothing else.
        expect([...acknowledgedKeys].filter((key) => !storedKeys.has(key)), 'acknowledged readings missing from the store').toEqual([]);
        expect([...storedKeys.keys()].filter((key) => !publishedKeys.has(key)), 'stored readings never published').toEqual([]);
        expect([...storedKeys].filter(([, count]) => count > 1).map(([key]) => key), 'readings stored twice').toEqual([]);
        expect(rows.length, 'stored readings').toBe(fileReadings);

        // The restriction raised its alert exactly once.
        const choke = await chokeEvents();
        expect(choke.map((event) => event.opened_at.toISOString()), `alerts of ${CHOKE_RULE.id}`).toHaveLength(1);
        expect(choke[0].severity).toBe(CHOKE_RULE.severity);
    }, TEST_TIMEOUT_MS);
});
