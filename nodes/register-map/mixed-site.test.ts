import { verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { OPCUAServer, UAVariable } from 'node-opcua';
import { ServerTCP } from 'modbus-serial';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ReadingCompressor, compressorOptions, parseCompressionConfig } from '../../lib/compression';
import { DATA_DIR } from '../../lib/paths';
import { readReplayFile, type ReplayRow } from '../../lib/replay/reader';
import { signingInput } from '../../lib/signing/envelope';
import { generateDeviceKey, loadPublicKey } from '../../lib/signing/keys';
import type { Reading, SignedEnvelope } from '../../lib/types';
import { freePort } from '../../test/support/demo-process';
import compressNode from '../compress/compress';
import opcuaEndpointNode from '../opcua-endpoint/opcua-endpoint';
import opcuaReaderNode from '../opcua-reader/opcua-reader';
import signNode from '../sign/sign';
import tagMapNode from '../tag-map/tag-map';
import registerMapNode from './register-map';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
const opcua = require('node-opcua') as typeof import('node-opcua');
const modbusClientNode = require('node-red-contrib-modbus/modbus/modbus-client.js');
const modbusReadNode = require('node-red-contrib-modbus/modbus/modbus-read.js');

/** Asset A: a well read over OPC UA, fed from a 1 Hz 3W file with its source timestamps. */
const OPCUA_ASSET = '3w-well-00004';
const OPCUA_FILE = 'petrobras-3w/6/WELL-00004_20171031193025.csv';
const OPCUA_ROWS = 25;
/**
 * Server variables: the file column each one serves, the metric the tag map gives it, and the
 * expected reading from a file row. The tag map converts TptPressure from Pa to bar.
 */
const OPCUA_FEEDS: { name: string; column: string; metric: string; expected: (row: ReplayRow) => number }[] = [
    { name: 'TptPressure', column: 'P-TPT', metric: 'pressure_tpt', expected: (row) => (row.values['P-TPT'] as number) / 1e5 },
    { name: 'T-TPT', column: 'T-TPT', metric: 'temp_tpt', expected: (row) => row.values['T-TPT'] as number },
    { name: 'T-JUS-CKP', column: 'T-JUS-CKP', metric: 'temp_downstream_choke', expected: (row) => row.values['T-JUS-CKP'] as number },
];

/** Asset B: a well behind a PLC read over Modbus TCP. The register map stamps its readings with the time of the poll. */
const MODBUS_ASSET = '3w-well-00001';
const MODBUS_FILE = 'petrobras-3w/0/WELL-00001_20170201020207.csv';
const MODBUS_ROWS = 60;
const MODBUS_POLLS = 20;
/**
 * Holding registers of the PLC: 0-1 the TPT pressure in kPa x 10 as uint32 (high word first),
 * 2 the TPT temperature in degC x 100 as int16, 3 the upstream choke pressure in kPa x 10 as uint16.
 */
const REGISTERS = [
    { function: 'holding', address: 0, type: 'uint32', scale: 0.1, metric: 'pressure_tpt', unit: 'kPa' },
    { function: 'holding', address: 2, type: 'int16', scale: 0.01, metric: 'temp_tpt', unit: 'degC' },
    { function: 'holding', address: 3, type: 'uint16', scale: 0.1, metric: 'pressure_upstream_choke', unit: 'kPa' },
];
/** Expected reading of each metric of asset B from a file row, and the rounding of its register: half a count. */
const MODBUS_EXPECTED: Record<string, { value: (row: ReplayRow) => number; tolerance: number }> = {
    pressure_tpt: { value: (row) => (row.values['P-TPT'] as number) / 1000, tolerance: 0.05 },
    temp_tpt: { value: (row) => row.values['T-TPT'] as number, tolerance: 0.005 },
    pressure_upstream_choke: { value: (row) => (row.values['P-MON-CKP'] as number) / 1000, tolerance: 0.05 },
};

/**
 * Compression shared by both sources. The TPT pressure bound of 0.5 psi is about 0.034 bar and
 * 3.4 kPa, and the temperature bound 0.01 degC, so that both wells' series drop readings.
 */
const COMPRESSION = { maxErrors: '{"pressure_tpt": 0.5, "temp_tpt": 0.01}', defaultPercent: 0.5, deadband: 0, heartbeat: 60 };

let folder: string;
let dataDir: string;
let opcuaRows: ReplayRow[];
let modbusRows: ReplayRow[];
let wellhead: { server: OPCUAServer; port: number; variables: Map<string, UAVariable>; current: Map<string, number> };
let plc: Plc;

async function readRows(file: string, endRow: number): Promise<ReplayRow[]> {
    const rows: ReplayRow[] = [];
    for await (const line of readReplayFile(join(DATA_DIR, file), { endRow })) {
        if (line.ok) rows.push(line.row);
    }
    return rows;
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

/** Starts an OPC UA server on 127.0.0.1 whose variables already hold the first file row. */
async function startWellhead(): Promise<typeof wellhead> {
    const port = await freePort();
    const server = new opcua.OPCUAServer({
        port,
        hostname: '127.0.0.1',
        serverCertificateManager: new opcua.OPCUACertificateManager({ rootFolder: join(folder, 'server-pki'), automaticallyAcceptUnknownCertificate: true }),
        userCertificateManager: new opcua.OPCUACertificateManager({ rootFolder: join(folder, 'user-pki'), automaticallyAcceptUnknownCertificate: true }),
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new Error('the OPC UA server has no address space');
    const namespace = addressSpace.getOwnNamespace();
    const well = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Wellhead' });
    const variables = new Map<string, UAVariable>();
    for (const { name } of OPCUA_FEEDS) {
        variables.set(name, namespace.addVariable({ componentOf: well, browseName: name, nodeId: `s=${name}`, dataType: 'Double' }));
    }
    await server.start();
    return { server, port, variables, current: new Map() };
}

/** Writes one file row into the OPC UA server with the row's time as source timestamp; returns the metrics whose value changed. */
function writeRow(row: ReplayRow): string[] {
    const changed: string[] = [];
    for (const { name, column, metric } of OPCUA_FEEDS) {
        const value = row.values[column];
        if (typeof value !== 'number') throw new Error(`row ${row.row} of ${OPCUA_FILE} has no ${column}`);
        if (value !== wellhead.current.get(name)) changed.push(metric);
        wellhead.current.set(name, value);
        (wellhead.variables.get(name) as UAVariable).setValueFromSource({ dataType: opcua.DataType.Double, value }, opcua.StatusCodes.Good, new Date(row.source_ms));
    }
    return changed;
}

/** Encodes one file row into the PLC's 4 holding registers, rounding to whole counts as the PLC would. */
function rowWords(row: ReplayRow): number[] {
    const pressure = Math.round(((row.values['P-TPT'] as number) / 1000) * 10);
    const temperature = Math.round((row.values['T-TPT'] as number) * 100);
    const choke = Math.round(((row.values['P-MON-CKP'] as number) / 1000) * 10);
    return [Math.floor(pressure / 0x10000), pressure & 0xffff, temperature & 0xffff, choke];
}

/** A Modbus TCP server on 127.0.0.1 that serves the next file row on every read, and records which row each read got. */
class Plc {
    readonly served: number[] = [];
    private server?: ServerTCP;

    constructor(readonly port: number) {}

    start(): Promise<void> {
        const server = new ServerTCP(
            {
                getMultipleHoldingRegisters: (address: number, length: number) => {
                    const index = this.served.length % modbusRows.length;
                    this.served.push(index);
                    return rowWords(modbusRows[index]).slice(address, address + length);
                },
                getHoldingRegister: (address: number) => rowWords(modbusRows[0])[address] ?? 0,
            },
            { host: '127.0.0.1', port: this.port, unitID: 1 },
        );
        this.server = server;
        return new Promise((resolve, reject) => {
            server.once('initialized', () => resolve());
            server.once('serverError', reject);
        });
    }

    stop(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        if (!server) return Promise.resolve();
        return new Promise((resolve) => server.close(() => resolve()));
    }
}

beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ul-mixed-site-'));
    dataDir = join(folder, 'data');
    mkdirSync(dataDir, { recursive: true });
    generateDeviceKey(join(dataDir, 'keys'), 'edge-01');
    helper.init(require.resolve('node-red'), { upstreamLive: { dataDir } });
    opcuaRows = await readRows(OPCUA_FILE, OPCUA_ROWS);
    modbusRows = await readRows(MODBUS_FILE, MODBUS_ROWS);
    wellhead = await startWellhead();
    writeRow(opcuaRows[0]);
    plc = new Plc(await freePort());
    await plc.start();
}, 30_000);

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await plc?.stop();
    await wellhead?.server.shutdown(0);
    rmSync(folder, { recursive: true, force: true });
});

/**
 * Builds the flow of one site: an OPC UA reader and tag map for asset A, a Modbus client, read and
 * register map for asset B, both into one compression node and one signer. The tap nodes record
 * what each map sends to the compression node.
 */
function siteFlow(): Record<string, unknown>[] {
    return [
        {
            id: 'endpoint',
            type: 'ul-opcua-endpoint',
            endpoint: `opc.tcp://127.0.0.1:${wellhead.port}`,
            securityMode: 'None',
            securityPolicy: 'None',
            certificateFile: '',
            privateKeyFile: '',
            trustListFolder: 'client-pki',
            acceptUnknownCertificate: false,
            userName: '',
        },
        {
            id: 'reader',
            type: 'ul-opcua-reader',
            endpoint: 'endpoint',
            items: JSON.stringify(OPCUA_FEEDS.map(({ name }) => ({ nodeId: `ns=1;s=${name}`, tag: name }))),
            samplingInterval: 0,
            publishingInterval: 100,
            wires: [['tag-map']],
        },
        {
            id: 'tag-map',
            type: 'ul-tag-map',
            assetId: OPCUA_ASSET,
            operator: 'petrobras',
            preset: '3w',
            map: JSON.stringify([{ tag: 'TptPressure', metric: 'pressure_tpt', unit: 'bar', scale: 1e-5 }]),
            ignore: '',
            wires: [['compress', 'tap-a'], ['rejected']],
        },
        { id: 'plc', type: 'modbus-client', clienttype: 'tcp', bufferCommands: true, tcpHost: '127.0.0.1', tcpPort: String(plc.port), tcpType: 'DEFAULT', unit_id: 1, commandDelay: 1, clientTimeout: 1000, reconnectOnTimeout: true, reconnectTimeout: 200, parallelUnitIdsAllowed: true },
        { id: 'poll', type: 'modbus-read', server: 'plc', unitid: '1', dataType: 'HoldingRegister', adr: '0', quantity: '4', rate: '100', rateUnit: 'ms', wires: [['register-map'], []] },
        { id: 'register-map', type: 'ul-register-map', operator: 'petrobras', assetId: MODBUS_ASSET, unitId: 1, registers: JSON.stringify(REGISTERS), wires: [['compress', 'tap-b'], ['rejected']] },
        { id: 'compress', type: 'ul-compress', ...COMPRESSION, wires: [['archived', 'sign'], ['rejected']] },
        { id: 'sign', type: 'ul-sign', deviceId: 'edge-01', certId: 'edge-01-2024', operator: 'petrobras', keyFile: 'keys/edge-01.key', wires: [['signed']] },
        { id: 'tap-a', type: 'helper' },
        { id: 'tap-b', type: 'helper' },
        { id: 'archived', type: 'helper' },
        { id: 'signed', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ];
}

interface Captured {
    topic: string;
    payload: Reading[];
}

/** Collects the messages a helper node receives. When given, `arrivals` also gets them, in arrival order across nodes. */
function capture(id: string, arrivals?: Captured[]): Captured[] {
    const messages: Captured[] = [];
    helper.getNode(id).on('input', (msg: Captured) => {
        messages.push(msg);
        arrivals?.push(msg);
    });
    return messages;
}

function lastFill(id: string): string | undefined {
    const node = helper.getNode(id);
    const calls = node.status.getCalls().filter((call: { thisValue: unknown }) => call.thisValue === node);
    return calls[calls.length - 1]?.args[0]?.fill;
}

/** Readings of one asset, in the order they were sent. */
function ofAsset(messages: Captured[], asset: string): Reading[] {
    return messages.flatMap((msg) => msg.payload).filter((reading) => reading.asset_id === asset);
}

/** Groups readings by metric, keeping their order. */
function byMetric(readings: Reading[]): Map<string, Reading[]> {
    const groups = new Map<string, Reading[]>();
    for (const reading of readings) groups.set(reading.metric, [...(groups.get(reading.metric) ?? []), reading]);
    return groups;
}

/** Archives one asset's readings alone in a fresh compressor with the node's settings, then flushes it. */
function compressAlone(readings: Reading[]): Reading[] {
    const compressor = new ReadingCompressor(compressorOptions(parseCompressionConfig(COMPRESSION)));
    return [...compressor.addAll(readings), ...compressor.flush()];
}

describe('mixed OPC UA and Modbus site', () => {
    it('should compress and sign both wells', { timeout: 30_000 }, async () => {
        await helper.load(
            [opcuaEndpointNode, opcuaReaderNode, tagMapNode, modbusClientNode, modbusReadNode, registerMapNode, compressNode, signNode],
            siteFlow(),
        );
        const arrivals: Captured[] = [];
        const tapA = capture('tap-a', arrivals);
        const tapB = capture('tap-b', arrivals);
        const archived = capture('archived');
        const signed = capture('signed') as unknown as { topic: string; payload: SignedEnvelope }[];
        const rejected = capture('rejected');
        const seenA = () => new Set(ofAsset(tapA, OPCUA_ASSET).map((reading) => `${reading.metric}|${reading.ts}`));

        // The subscription delivers the first row. Each later row sends a data change of every value that changed.
        await until(() => lastFill('reader') === 'green');
        await until(() => OPCUA_FEEDS.every(({ metric }) => seenA().has(`${metric}|${opcuaRows[0].source_ts}`)));
        for (const row of opcuaRows.slice(1)) {
            const changed = writeRow(row);
            await until(() => changed.every((metric) => seenA().has(`${metric}|${row.source_ts}`)));
        }
        await until(() => tapB.length >= MODBUS_POLLS);

        // Stop polling, wait for the last responses, then flush the series still open in the compression node.
        helper.getNode('poll').resetAllReadingTimer();
        await until(() => tapB.length === plc.served.length);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(tapB.length).toBe(plc.served.length);
        // The swinging door holds back the newest reading of every series, so the flush sends both wells.
        const beforeFlush = archived.length;
        helper.getNode('compress').receive({ flush: true });
        await until(() => archived.length >= beforeFlush + 2 && signed.length === archived.length);

        const inputA = ofAsset(tapA, OPCUA_ASSET);
        const inputB = ofAsset(tapB, MODBUS_ASSET);
        expect(rejected).toEqual([]);
        expect(tapA.every((msg) => msg.topic === OPCUA_ASSET)).toBe(true);
        expect(tapB.every((msg) => msg.topic === MODBUS_ASSET)).toBe(true);
        expect(inputA.length).toBe(tapA.flatMap((msg) => msg.payload).length);
        expect(inputB.length).toBe(tapB.flatMap((msg) => msg.payload).length);

        // Asset A: every reading is its file row, with the TPT pressure converted to bar.
        const rowsByTs = new Map(opcuaRows.map((row) => [row.source_ts, row]));
        for (const reading of inputA) {
            const row = rowsByTs.get(reading.ts);
            expect(row, `${reading.metric} at ${reading.ts}`).toBeDefined();
            expect(reading.quality_flag).toBe('GOOD');
            const feed = OPCUA_FEEDS.find(({ metric }) => metric === reading.metric);
            expect(feed, reading.metric).toBeDefined();
            expect(reading.value).toBeCloseTo(feed?.expected(row as ReplayRow) as number, 9);
        }
        expect(byMetric(inputA).get('pressure_tpt')?.map((reading) => reading.unit)).toEqual(Array(byMetric(inputA).get('pressure_tpt')?.length).fill('bar'));
        // The file's TPT pressure changes on every one of these rows, so each row gives one reading.
        expect(byMetric(inputA).get('pressure_tpt')?.map((reading) => reading.ts)).toEqual(opcuaRows.map((row) => row.source_ts));

        // Asset B: poll i got file row served[i], and the registers round to half a count of their scale.
        tapB.forEach((msg, poll) => {
            const row = modbusRows[plc.served[poll]];
            expect(msg.payload.map((reading) => reading.metric)).toEqual(Object.keys(MODBUS_EXPECTED));
            for (const reading of msg.payload) {
                const expected = MODBUS_EXPECTED[reading.metric];
                expect(reading.quality_flag).toBe('GOOD');
                expect(Math.abs((reading.value as number) - expected.value(row)), `${reading.metric} of poll ${poll}`).toBeLessThanOrEqual(expected.tolerance + 1e-9);
            }
        });
        expect(new Set(inputB.map((reading) => reading.value)).size).toBeGreaterThan(3);

        // Each map sends its asset's readings in timestamp order.
        for (const readings of [inputA, inputB]) {
            for (const [metric, series] of byMetric(readings)) {
                const times = series.map((reading) => Date.parse(reading.ts));
                expect(times.every((time, index) => index === 0 || time > times[index - 1]), metric).toBe(true);
            }
        }

        // Readings of the two wells reached the compression node interleaved.
        const firstB = arrivals.findIndex((msg) => msg.topic === MODBUS_ASSET);
        const lastA = arrivals.map((msg) => msg.topic).lastIndexOf(OPCUA_ASSET);
        expect(firstB).toBeGreaterThanOrEqual(0);
        expect(firstB).toBeLessThan(lastA);

        // The node after compression gets readings of both wells, one asset per message.
        for (const msg of archived) {
            expect(msg.payload.every((reading) => reading.asset_id === msg.topic)).toBe(true);
        }
        const archivedA = ofAsset(archived, OPCUA_ASSET);
        const archivedB = ofAsset(archived, MODBUS_ASSET);
        expect(archivedA.length).toBeGreaterThan(0);
        expect(archivedB.length).toBeGreaterThan(0);
        expect(archivedA.length + archivedB.length).toBe(archived.flatMap((msg) => msg.payload).length);

        // Compression state is per asset and metric: each well's archive is what a compressor fed
        // with that well alone archives. Both wells share the metrics pressure_tpt and temp_tpt,
        // in different units and with timestamps years apart.
        expect(archivedA).toEqual(compressAlone(inputA));
        expect(archivedB).toEqual(compressAlone(inputB));
        // Control: one compressor state per metric, shared by both wells, would archive differently.
        // Asset A's readings are the ones with file times, which lie years before the poll times of B.
        const lastFileMs = opcuaRows[opcuaRows.length - 1].source_ms;
        const sharedState = compressAlone(arrivals.flatMap((msg) => msg.payload).map((reading) => ({ ...reading, asset_id: 'site' })));
        expect(sharedState.filter((reading) => Date.parse(reading.ts) <= lastFileMs)).not.toEqual(
            archivedA.map((reading) => ({ ...reading, asset_id: 'site' })),
        );
        expect(archivedA.length).toBeLessThan(inputA.length);
        expect(archivedB.length).toBeLessThan(inputB.length);
        for (const [asset, readings] of [[OPCUA_ASSET, archivedA], [MODBUS_ASSET, archivedB]] as const) {
            for (const [metric, series] of byMetric(readings)) {
                const times = series.map((reading) => Date.parse(reading.ts));
                expect(times.every((time, index) => index === 0 || time > times[index - 1]), `${asset} ${metric}`).toBe(true);
            }
        }
        // The archive keeps source values: every archived reading is one the maps sent.
        expect(archivedA.every((reading) => inputA.some((input) => input.metric === reading.metric && input.ts === reading.ts && input.value === reading.value))).toBe(true);
        expect(archivedB.every((reading) => inputB.some((input) => input.metric === reading.metric && input.ts === reading.ts && input.value === reading.value))).toBe(true);

        // The signer signs every compressed batch as one envelope of its asset, in sequence.
        const publicKey = loadPublicKey(join(dataDir, 'keys/edge-01.pub'));
        expect(signed.map((msg) => msg.payload.readings)).toEqual(archived.map((msg) => msg.payload));
        expect(signed.map((msg) => msg.topic)).toEqual(archived.map((msg) => `ops/petrobras/${msg.topic}/readings`));
        expect(signed.map((msg) => msg.payload.seq)).toEqual(signed.map((_msg, index) => index + 1));
        for (const { payload: envelope } of signed) {
            expect(verify(null, signingInput(envelope), publicKey, Buffer.from(envelope.sig, 'base64'))).toBe(true);
        }
    });
});
