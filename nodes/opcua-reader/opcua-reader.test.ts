import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { OPCUAServer, UAVariable } from 'node-opcua';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { OpcUaPoint } from '../../lib/opcua/point';
import { DATA_DIR } from '../../lib/paths';
import { readReplayFile, type ReplayRow } from '../../lib/replay/reader';
import type { Reading } from '../../lib/types';
import tagMapNode from '../tag-map/tag-map';
import opcuaReaderNode from './opcua-reader';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
const opcua = require('node-opcua') as typeof import('node-opcua');

const FILE = 'petrobras-3w/6/WELL-00004_20171031193025.csv';
/** Variables of the wellhead object: the 3W columns, and wellhead names fed from the matching column. */
const FEEDS: [string, string | null][] = [
    ['WellheadPressure', 'P-TPT'],
    ['TubingTemperature', 'T-TPT'],
    // The 3W files measure neither choke position nor flow rate: the server reports them as Bad.
    ['ChokePosition', null],
    ['FlowRate', null],
    ['P-PDG', 'P-PDG'],
    ['P-TPT', 'P-TPT'],
    ['T-TPT', 'T-TPT'],
    ['P-MON-CKP', 'P-MON-CKP'],
    ['T-JUS-CKP', 'T-JUS-CKP'],
];
const ITEMS = JSON.stringify(FEEDS.map(([name]) => ({ nodeId: `ns=1;s=${name}`, tag: name })));

interface Wellhead {
    server: OPCUAServer;
    variables: Map<string, UAVariable>;
    /** Value last written per variable; null for Bad. */
    current: Map<string, number | null>;
}

let folder: string;
let port: number;
let rows: ReplayRow[];
let wellhead: Wellhead;

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
            const { port: free } = server.address() as { port: number };
            server.close(() => resolve(free));
        });
    });
}

/** Starts an OPC UA server on 127.0.0.1 whose address space models a wellhead, with its PKI in the test folder. */
async function startWellhead(): Promise<Wellhead> {
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
    for (const [name] of FEEDS) {
        const variable = namespace.addVariable({ componentOf: well, browseName: name, nodeId: `s=${name}`, dataType: 'Double' });
        variable.setValueFromSource({ dataType: opcua.DataType.Null }, opcua.StatusCodes.BadWaitingForInitialData);
        variables.set(name, variable);
    }
    await server.start();
    return { server, variables, current: new Map(FEEDS.map(([name]) => [name, null])) };
}

/**
 * Writes one file row into the server, with the row's time as source timestamp, and returns the
 * variables whose value or status changed. Only those send a data change: the default trigger of
 * a monitored item is status or value, not the timestamp alone.
 */
function advance(row: ReplayRow): string[] {
    const time = new Date(row.source_ms);
    const changed: string[] = [];
    for (const [name, column] of FEEDS) {
        const variable = wellhead.variables.get(name) as UAVariable;
        const value = column === null ? null : (row.values[column] ?? null);
        if (value !== wellhead.current.get(name)) changed.push(name);
        wellhead.current.set(name, value);
        if (value === null) {
            variable.setValueFromSource({ dataType: opcua.DataType.Null }, opcua.StatusCodes.BadWaitingForInitialData, time);
        } else {
            variable.setValueFromSource({ dataType: opcua.DataType.Double, value }, opcua.StatusCodes.Good, time);
        }
    }
    return changed;
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    folder = mkdtempSync(join(tmpdir(), 'ul-opcua-'));
    port = await freePort();
    rows = [];
    for await (const line of readReplayFile(join(DATA_DIR, FILE), { endRow: 60 })) {
        if (line.ok) rows.push(line.row);
    }
    wellhead = await startWellhead();
});

afterAll(async () => {
    await wellhead.server.shutdown(0);
    rmSync(folder, { recursive: true, force: true });
});

afterEach(async () => {
    await helper.unload();
});

function readerNode(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        id: 'reader',
        type: 'ul-opcua-reader',
        endpoint: `opc.tcp://127.0.0.1:${port}`,
        securityMode: 'None',
        securityPolicy: 'None',
        pkiFolder: join(folder, 'client-pki'),
        acceptUnknownCertificate: false,
        items: ITEMS,
        samplingInterval: 0,
        publishingInterval: 100,
        wires: [['points']],
        ...overrides,
    };
}

/** Collects the points of the reader by tag and source time. */
function collectPoints(): Map<string, OpcUaPoint> {
    const points = new Map<string, OpcUaPoint>();
    helper.getNode('points').on('input', (msg: { topic: string; payload: OpcUaPoint }) => {
        expect(msg.topic).toBe(msg.payload.tag);
        points.set(`${msg.payload.tag}|${msg.payload.ts}`, msg.payload);
    });
    return points;
}

type Badge = { fill?: string; shape?: string; text?: string };

/** Badges of the reader node; the status spy of the test helper records the calls of every node. */
function badges(): Badge[] {
    const reader = helper.getNode('reader');
    return reader.status
        .getCalls()
        .filter((call: { thisValue: unknown }) => call.thisValue === reader)
        .map((call: { args: [Badge] }) => call.args[0]);
}

/** Feeds rows one by one; after each, waits for a data change of every variable that changed and checks them. */
async function feed(points: Map<string, OpcUaPoint>, from: number, to: number): Promise<number> {
    let checked = 0;
    for (const row of rows.slice(from, to)) {
        const changed = advance(row);
        await until(() => changed.every((name) => points.has(`${name}|${row.source_ts}`)));
        for (const name of changed) {
            const column = FEEDS.find(([feed]) => feed === name)?.[1] ?? null;
            const value = column === null ? null : (row.values[column] ?? null);
            expect(points.get(`${name}|${row.source_ts}`)).toEqual({ tag: name, value, ts: row.source_ts, quality: value === null ? 'BAD' : 'GOOD' });
            checked++;
        }
    }
    return checked;
}

describe('ul-opcua-reader data changes', () => {
    it('should emit file values with source timestamps', { timeout: 60_000 }, async () => {
        await helper.load([opcuaReaderNode, tagMapNode], [
            readerNode({ wires: [['points', 'map-1']] }),
            {
                id: 'map-1',
                type: 'ul-tag-map',
                assetId: '3w-well-00004',
                operator: 'petrobras',
                preset: '3w',
                map: JSON.stringify([
                    { tag: 'WellheadPressure', metric: 'pressure_wellhead', unit: 'Pa' },
                    { tag: 'TubingTemperature', metric: 'temp_wellhead', unit: 'degC' },
                    { tag: 'ChokePosition', metric: 'choke_opening', unit: '%' },
                    { tag: 'FlowRate', metric: 'liquid_flow', unit: 'bph' },
                ]),
                ignore: '',
                wires: [['readings'], ['rejected']],
            },
            { id: 'points', type: 'helper' },
            { id: 'readings', type: 'helper' },
            { id: 'rejected', type: 'helper' },
        ]);
        const points = collectPoints();
        const readings: Reading[] = [];
        helper.getNode('readings').on('input', (msg: { payload: Reading[] }) => readings.push(...msg.payload));
        await until(() => badges().some((badge) => badge.fill === 'green'));
        const checked = await feed(points, 0, 10);

        // The first row changes every variable; later rows change the noisy P-TPT and T-TPT at least.
        expect(checked).toBeGreaterThanOrEqual(FEEDS.length + 9 * 2);
        // FlowRate stays Bad and empty, so it sends its value once, when the item is created.
        const flowRate = [...points.values()].filter((point) => point.tag === 'FlowRate');
        expect(flowRate.length).toBe(1);
        expect(flowRate[0]).toMatchObject({ value: null, quality: 'BAD' });
        expect(badges()[badges().length - 1]).toEqual({ fill: 'green', shape: 'dot', text: 'ul-opcua-reader.status.subscribed' });
        const ts = rows[9].source_ts;
        await until(() => readings.some((reading) => reading.metric === 'temp_tpt' && reading.ts === ts));
        expect(readings.find((reading) => reading.metric === 'pressure_tpt' && reading.ts === ts)).toEqual({
            asset_id: '3w-well-00004',
            metric: 'pressure_tpt',
            value: rows[9].values['P-TPT'],
            unit: 'Pa',
            ts,
            quality_flag: 'GOOD',
        });
    });

    it('should resubscribe and continue after a server restart', { timeout: 90_000 }, async () => {
        await helper.load([opcuaReaderNode], [readerNode(), { id: 'points', type: 'helper' }]);
        const points = collectPoints();
        await until(() => badges().some((badge) => badge.fill === 'green'));
        await feed(points, 10, 15);

        await wellhead.server.shutdown(0);
        await until(() => badges()[badges().length - 1].fill === 'red');
        const redAt = badges().length - 1;
        expect(badges()[redAt]).toMatchObject({ shape: 'ring' });
        wellhead = await startWellhead();
        await until(() => badges().slice(redAt).some((badge) => badge.fill === 'green'), 60_000);
        const checked = await feed(points, 15, 25);

        expect(checked).toBeGreaterThanOrEqual(FEEDS.length + 9 * 2);
        const afterRestart = badges().slice(redAt);
        expect(afterRestart[0]).toMatchObject({ fill: 'red', shape: 'ring' });
        expect(afterRestart[afterRestart.length - 1]).toEqual({ fill: 'green', shape: 'dot', text: 'ul-opcua-reader.status.subscribed' });
    });

    it('should close within 15 s while server down', { timeout: 90_000 }, async () => {
        await helper.load([opcuaReaderNode], [readerNode(), { id: 'points', type: 'helper' }]);
        await until(() => badges().some((badge) => badge.fill === 'green'));
        await wellhead.server.shutdown(0);
        try {
            await until(() => badges()[badges().length - 1].fill === 'red');
            const started = Date.now();
            await helper.unload();

            expect(Date.now() - started).toBeLessThan(15_000);
        } finally {
            wellhead = await startWellhead();
        }
    });
});

describe('ul-opcua-reader security', () => {
    it('should read with SignAndEncrypt and Basic256Sha256', { timeout: 60_000 }, async () => {
        const pki = join(folder, 'client-pki-trusted');
        const trusted = join(pki, 'trusted', 'certs');
        mkdirSync(trusted, { recursive: true });
        const serverCerts = join(folder, 'server-pki', 'own', 'certs');
        for (const name of readdirSync(serverCerts).filter((file) => file.endsWith('.pem'))) copyFileSync(join(serverCerts, name), join(trusted, name));
        await helper.load([opcuaReaderNode], [
            readerNode({ securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', pkiFolder: pki }),
            { id: 'points', type: 'helper' },
        ]);
        const points = collectPoints();
        await until(() => badges().some((badge) => badge.fill === 'green'), 30_000);

        expect(await feed(points, 25, 28)).toBeGreaterThanOrEqual(2 * 2);
        expect(existsSync(join(pki, 'own', 'certs', 'client_certificate.pem'))).toBe(true);
    });

    it('should read with Sign and Aes128_Sha256_RsaOaep', { timeout: 60_000 }, async () => {
        const pki = join(folder, 'client-pki-accept');
        await helper.load([opcuaReaderNode], [
            readerNode({ securityMode: 'Sign', securityPolicy: 'Aes128_Sha256_RsaOaep', pkiFolder: pki, acceptUnknownCertificate: true }),
            { id: 'points', type: 'helper' },
        ]);
        const points = collectPoints();
        await until(() => badges().some((badge) => badge.fill === 'green'), 30_000);

        expect(await feed(points, 28, 30)).toBeGreaterThanOrEqual(2);
        expect(readdirSync(join(pki, 'trusted', 'certs')).length).toBe(1);
    });

    it('should reject an untrusted server certificate', { timeout: 60_000 }, async () => {
        await helper.load([opcuaReaderNode], [
            readerNode({ securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', pkiFolder: join(folder, 'client-pki-untrusted') }),
            { id: 'points', type: 'helper' },
        ]);
        const logs = () =>
            helper
                .log()
                .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
                .filter((entry: { level: number; msg: unknown }) => entry.level === 30 && String(entry.msg).includes('being rebuilt'));
        await until(() => logs().length > 0, 30_000);

        expect(String(logs()[0].msg)).toMatch(/certificate/i);
        expect(badges().some((badge) => badge.fill === 'green')).toBe(false);
    });
});

describe('ul-opcua-reader configuration', () => {
    const invalid: [string, Record<string, unknown>, RegExp][] = [
        ['an http endpoint', { endpoint: 'http://127.0.0.1:4840' }, /endpoint "http:\/\/127.0.0.1:4840" is invalid/],
        ['no endpoint', { endpoint: '' }, /No OPC UA endpoint is selected \(property endpoint\)/],
        ['a policy without a mode', { securityPolicy: 'Basic256Sha256' }, /does not go with policy/],
        ['an empty node list', { items: '[]' }, /node list is empty/],
        ['an invalid node id', { items: '[{"nodeId": "ns=1;x=?", "tag": "a"}]' }, /invalid node id "ns=1;x=\?"/],
    ];
    for (const [name, overrides, message] of invalid) {
        it(`should report ${name} at deploy`, async () => {
            await helper.load([opcuaReaderNode], [readerNode(overrides)]);
            const errors = helper
                .log()
                .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
                .filter((entry: { level: number }) => entry.level === 20);

            expect(errors.length).toBe(1);
            expect(String(errors[0].msg)).toMatch(message);
            expect(badges()[badges().length - 1]).toMatchObject({ fill: 'red', shape: 'ring' });
        });
    }
});
