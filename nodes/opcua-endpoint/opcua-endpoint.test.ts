import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { OPCUAServer, UAVariable } from 'node-opcua';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { OpcUaPoint } from '../../lib/opcua/point';
import { DATA_DIR } from '../../lib/paths';
import { readReplayFile, type ReplayRow } from '../../lib/replay/reader';
import opcuaReaderNode from '../opcua-reader/opcua-reader';
import opcuaEndpointNode from './opcua-endpoint';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
const opcua = require('node-opcua') as typeof import('node-opcua');

const PASSWORD = 'pad-7-reader';

/** Two wells of a pad, each fed from a 1 Hz 3W file: variable name and the file column it serves. */
const WELLS: { well: string; file: string; feeds: [string, string][] }[] = [
    {
        well: 'WELL-00004',
        file: 'petrobras-3w/0/WELL-00004_20140807100112.csv',
        feeds: [
            ['WellheadPressure', 'P-TPT'],
            ['TubingTemperature', 'T-TPT'],
        ],
    },
    {
        well: 'WELL-00007',
        file: 'petrobras-3w/0/WELL-00007_20170801180000.csv',
        feeds: [
            ['WellheadPressure', 'P-TPT'],
            ['TubingTemperature', 'T-TPT'],
            ['DownholePressure', 'P-PDG'],
        ],
    },
];
const READERS = ['reader-4', 'reader-7'];

interface Pad {
    server: OPCUAServer;
    /** Variables by `<well>.<name>`, with the value last written. */
    variables: Map<string, UAVariable>;
    current: Map<string, number | null>;
}

let folder: string;
let dataDir: string;
let port: number;
let rows: ReplayRow[][];
let pad: Pad;

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
            const { port: free } = server.address() as { port: number };
            server.close(() => resolve(free));
        });
    });
}

/** Starts an OPC UA server on 127.0.0.1 with one object per well; it accepts anonymous users and user edge. */
async function startPad(): Promise<Pad> {
    const server = new opcua.OPCUAServer({
        port,
        hostname: '127.0.0.1',
        serverCertificateManager: new opcua.OPCUACertificateManager({ rootFolder: join(folder, 'server-pki'), automaticallyAcceptUnknownCertificate: true }),
        userCertificateManager: new opcua.OPCUACertificateManager({ rootFolder: join(folder, 'user-pki'), automaticallyAcceptUnknownCertificate: true }),
        userManager: { isValidUser: (userName: string, password: string) => userName === 'edge' && password === PASSWORD },
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new Error('the OPC UA server has no address space');
    const namespace = addressSpace.getOwnNamespace();
    const variables = new Map<string, UAVariable>();
    for (const { well, feeds } of WELLS) {
        const object = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: well });
        for (const [name] of feeds) {
            const variable = namespace.addVariable({ componentOf: object, browseName: name, nodeId: `s=${well}.${name}`, dataType: 'Double' });
            variable.setValueFromSource({ dataType: opcua.DataType.Null }, opcua.StatusCodes.BadWaitingForInitialData);
            variables.set(`${well}.${name}`, variable);
        }
    }
    await server.start();
    return { server, variables, current: new Map() };
}

/** Writes row `index` of every well's file, with the row's time as source timestamp; returns the variables whose value changed. */
function advance(index: number): { key: string; value: number; ts: string }[] {
    const changed: { key: string; value: number; ts: string }[] = [];
    WELLS.forEach(({ well, feeds }, wellIndex) => {
        const row = rows[wellIndex][index];
        for (const [name, column] of feeds) {
            const key = `${well}.${name}`;
            const value = row.values[column];
            if (value === null || value === undefined) throw new Error(`${well} row ${row.row} has no ${column}`);
            if (value !== pad.current.get(key)) changed.push({ key, value, ts: row.source_ts });
            pad.current.set(key, value);
            (pad.variables.get(key) as UAVariable).setValueFromSource({ dataType: opcua.DataType.Double, value }, opcua.StatusCodes.Good, new Date(row.source_ms));
        }
    });
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
    folder = mkdtempSync(join(tmpdir(), 'ul-opcua-endpoint-'));
    dataDir = join(folder, 'data');
    mkdirSync(join(dataDir, 'certs'), { recursive: true });
    helper.init(require.resolve('node-red'), { upstreamLive: { dataDir } });
    port = await freePort();
    rows = [];
    for (const { file } of WELLS) {
        const list: ReplayRow[] = [];
        for await (const line of readReplayFile(join(DATA_DIR, file), { endRow: 40 })) {
            if (line.ok) list.push(line.row);
        }
        rows.push(list);
    }
    pad = await startPad();
}, 60_000);

afterAll(async () => {
    await pad.server.shutdown(0);
    delete process.env.UL_TEST_OPCUA_PASSWORD;
    rmSync(folder, { recursive: true, force: true });
});

afterEach(async () => {
    await helper.unload();
});

function endpointNode(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        id: 'endpoint',
        type: 'ul-opcua-endpoint',
        name: 'pad 7',
        endpoint: `opc.tcp://127.0.0.1:${port}`,
        securityMode: 'None',
        securityPolicy: 'None',
        certificateFile: '',
        privateKeyFile: '',
        trustListFolder: 'client-pki',
        acceptUnknownCertificate: false,
        userName: '',
        ...overrides,
    };
}

function readerNodes(endpoint = 'endpoint'): Record<string, unknown>[] {
    return WELLS.flatMap(({ well, feeds }, index) => [
        {
            id: READERS[index],
            type: 'ul-opcua-reader',
            name: well,
            endpoint,
            items: JSON.stringify(feeds.map(([name]) => ({ nodeId: `ns=1;s=${well}.${name}`, tag: `${well}.${name}` }))),
            samplingInterval: 0,
            publishingInterval: 100,
            wires: [[`points-${READERS[index]}`]],
        },
        { id: `points-${READERS[index]}`, type: 'helper' },
    ]);
}

/** Collects the points of every reader by tag and source time. */
function collectPoints(): Map<string, OpcUaPoint & { reader: string }> {
    const points = new Map<string, OpcUaPoint & { reader: string }>();
    for (const reader of READERS) {
        helper.getNode(`points-${reader}`).on('input', (msg: { topic: string; payload: OpcUaPoint }) => {
            points.set(`${msg.payload.tag}|${msg.payload.ts}`, { ...msg.payload, reader });
        });
    }
    return points;
}

type Badge = { fill?: string; shape?: string; text?: string };

/** Badges of one node; the status spy of the test helper records the calls of every node. */
function badges(id: string): Badge[] {
    const node = helper.getNode(id);
    return node.status
        .getCalls()
        .filter((call: { thisValue: unknown }) => call.thisValue === node)
        .map((call: { args: [Badge] }) => call.args[0]);
}

function lastFill(id: string): string | undefined {
    const list = badges(id);
    return list[list.length - 1]?.fill;
}

type LogEntry = { level: number; type?: string; msg: unknown };

/** Messages the OPC UA nodes logged at a Node-RED log level: 20 error, 30 warn, 40 info. */
function logged(level: number): string[] {
    return helper
        .log()
        .args.map((call: unknown[]) => call[0] as LogEntry)
        .filter((entry: LogEntry) => entry.level === level && (entry.type === 'ul-opcua-endpoint' || entry.type === 'ul-opcua-reader'))
        .map((entry: LogEntry) => String(entry.msg));
}

/** Feeds rows from..to of both files; after each row waits for a data change of every variable that changed, and checks it. */
async function feed(points: Map<string, OpcUaPoint & { reader: string }>, from: number, to: number): Promise<number> {
    let checked = 0;
    for (let index = from; index < to; index++) {
        const changed = advance(index);
        await until(() => changed.every(({ key, ts }) => points.has(`${key}|${ts}`)));
        for (const { key, value, ts } of changed) {
            const reader = key.startsWith('WELL-00004') ? 'reader-4' : 'reader-7';
            expect(points.get(`${key}|${ts}`)).toEqual({ tag: key, value, ts, quality: 'GOOD', reader });
            checked++;
        }
    }
    return checked;
}

describe('ul-opcua-endpoint shared session', () => {
    it('should serve two readers from one session', { timeout: 60_000 }, async () => {
        await helper.load([opcuaEndpointNode, opcuaReaderNode], [endpointNode(), ...readerNodes()]);
        const points = collectPoints();
        await until(() => READERS.every((reader) => lastFill(reader) === 'green'));

        expect(pad.server.currentSessionCount).toBe(1);
        expect(pad.server.currentSubscriptionCount).toBe(2);
        // The first row changes all five variables; later rows change the noisy pressures at least.
        expect(await feed(points, 0, 8)).toBeGreaterThanOrEqual(5 + 7 * 2);
        for (const reader of READERS) {
            expect(badges(reader)[badges(reader).length - 1]).toEqual({ fill: 'green', shape: 'dot', text: 'ul-opcua-reader.status.subscribed' });
        }
        expect(logged(30)).toEqual([]);
        expect(logged(20)).toEqual([]);

        await helper.unload();
        await until(() => pad.server.currentSessionCount === 0);
    });

    it('should recover both readers after a server restart', { timeout: 90_000 }, async () => {
        await helper.load([opcuaEndpointNode, opcuaReaderNode], [endpointNode(), ...readerNodes()]);
        const points = collectPoints();
        await until(() => READERS.every((reader) => lastFill(reader) === 'green'));
        await feed(points, 8, 11);

        await pad.server.shutdown(0);
        await until(() => READERS.every((reader) => lastFill(reader) === 'red'));
        const redAt = READERS.map((reader) => badges(reader).length - 1);
        pad = await startPad();
        await until(() => READERS.every((reader, index) => badges(reader).slice(redAt[index]).some((badge) => badge.fill === 'green')), 60_000);
        const checked = await feed(points, 11, 20);

        expect(checked).toBeGreaterThanOrEqual(5 + 8 * 2);
        expect(pad.server.currentSessionCount).toBe(1);
        expect(pad.server.currentSubscriptionCount).toBe(2);
        READERS.forEach((reader, index) => {
            const afterRestart = badges(reader).slice(redAt[index]);
            expect(afterRestart[0]).toMatchObject({ fill: 'red', shape: 'ring' });
            expect(afterRestart[afterRestart.length - 1]).toEqual({ fill: 'green', shape: 'dot', text: 'ul-opcua-reader.status.subscribed' });
        });
        expect(logged(40).filter((message) => message === 'ul-opcua-endpoint.log.reconnecting').length).toBe(1);
    });
});

describe('ul-opcua-endpoint user and certificate', () => {
    it('should log in with a credential password', { timeout: 60_000 }, async () => {
        await helper.load([opcuaEndpointNode, opcuaReaderNode], [endpointNode({ userName: 'edge' }), ...readerNodes()], { endpoint: { password: PASSWORD } });
        const points = collectPoints();
        await until(() => READERS.every((reader) => lastFill(reader) === 'green'));

        expect(await feed(points, 20, 22)).toBeGreaterThanOrEqual(2 * 2);
        expect(pad.server.currentSessionCount).toBe(1);
    });

    it('should take the password from the environment', { timeout: 60_000 }, async () => {
        process.env.UL_TEST_OPCUA_PASSWORD = PASSWORD;
        await helper.load([opcuaEndpointNode, opcuaReaderNode], [endpointNode({ userName: 'edge' }), ...readerNodes()], {
            endpoint: { password: '${UL_TEST_OPCUA_PASSWORD}' },
        });
        const points = collectPoints();
        await until(() => READERS.every((reader) => lastFill(reader) === 'green'));

        expect(await feed(points, 22, 24)).toBeGreaterThanOrEqual(2 * 2);
    });

    it('should rebuild on a wrong password', { timeout: 60_000 }, async () => {
        await helper.load([opcuaEndpointNode, opcuaReaderNode], [endpointNode({ userName: 'edge' }), ...readerNodes()], { endpoint: { password: 'wrong' } });
        await until(() => logged(30).some((message) => message.includes('being rebuilt')), 30_000);

        const warning = logged(30).find((message) => message.includes('being rebuilt'));
        expect(warning).toMatch(/BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/);
        for (const reader of READERS) expect(badges(reader).some((badge) => badge.fill === 'green')).toBe(false);
    });

    it('should use the certificate files', { timeout: 60_000 }, async () => {
        // A client certificate and key made the way node-opcua makes its default one, copied into the data folder.
        const generator = new opcua.OPCUACertificateManager({ rootFolder: join(folder, 'generator-pki') });
        await generator.initialize();
        const hostname = opcua.getHostname();
        const generated = join(folder, 'generator-pki', 'own', 'certs', 'edge.pem');
        await generator.createSelfSignedCertificate({
            applicationUri: opcua.makeApplicationUrn(hostname, 'UpstreamLive-Edge'),
            dns: [hostname],
            subject: '/CN=UpstreamLive-Edge',
            startDate: new Date(),
            validity: 30,
            outputFile: generated,
        });
        copyFileSync(generated, join(dataDir, 'certs', 'edge.pem'));
        copyFileSync(join(folder, 'generator-pki', 'own', 'private', 'private_key.pem'), join(dataDir, 'certs', 'edge.key'));
        const trustList = join(dataDir, 'pki-files');
        await helper.load(
            [opcuaEndpointNode, opcuaReaderNode],
            [
                endpointNode({
                    securityMode: 'SignAndEncrypt',
                    securityPolicy: 'Basic256Sha256',
                    certificateFile: 'certs/edge.pem',
                    privateKeyFile: 'certs/edge.key',
                    trustListFolder: 'pki-files',
                    acceptUnknownCertificate: true,
                }),
                ...readerNodes(),
            ],
        );
        const points = collectPoints();
        await until(() => READERS.every((reader) => lastFill(reader) === 'green'), 30_000);

        expect(await feed(points, 24, 26)).toBeGreaterThanOrEqual(2 * 2);
        // The client used the given certificate and created none of its own.
        expect(existsSync(join(trustList, 'own', 'certs', 'client_certificate.pem'))).toBe(false);
        const body = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
        const serverTrusted = join(folder, 'server-pki', 'trusted', 'certs');
        const trusted = readdirSync(serverTrusted).map((name) => body(readFileSync(join(serverTrusted, name), 'utf8')));
        expect(trusted).toContain(body(readFileSync(generated, 'utf8')));
    });
});

describe('ul-opcua-endpoint configuration', () => {
    function errorsOf(): string[] {
        return logged(20);
    }

    it('should name a missing endpoint node', async () => {
        await helper.load([opcuaEndpointNode, opcuaReaderNode], readerNodes('pad-9-endpoint'));

        expect(errorsOf()).toEqual([
            'The OPC UA endpoint "pad-9-endpoint" (property endpoint) was not found; select an existing OPC UA endpoint config node, or add one with that id.',
            'The OPC UA endpoint "pad-9-endpoint" (property endpoint) was not found; select an existing OPC UA endpoint config node, or add one with that id.',
        ]);
        for (const reader of READERS) expect(badges(reader)[badges(reader).length - 1]).toMatchObject({ fill: 'red', shape: 'ring' });
    });

    it('should report a missing endpoint URL', async () => {
        await helper.load([opcuaEndpointNode, opcuaReaderNode], [endpointNode({ endpoint: '' }), ...readerNodes()]);
        const errors = errorsOf();

        expect(errors.length).toBe(3);
        expect(errors[0]).toMatch(/^The endpoint "" is invalid; enter an OPC UA TCP endpoint/);
        expect(errors[1]).toMatch(/^The OPC UA endpoint pad 7 \(endpoint\) is not configured: The endpoint "" is invalid/);
        for (const reader of READERS) expect(badges(reader)[badges(reader).length - 1]).toMatchObject({ fill: 'red', shape: 'ring', text: 'ul-opcua-reader.status.not-configured' });
    });

    it('should name an unreadable certificate', async () => {
        await helper.load(
            [opcuaEndpointNode, opcuaReaderNode],
            [endpointNode({ securityMode: 'Sign', securityPolicy: 'Basic256Sha256', certificateFile: 'certs/absent.pem', privateKeyFile: 'certs/absent.key' }), ...readerNodes()],
        );
        const errors = errorsOf();

        expect(errors[0]).toBe(
            `The certificate file "certs/absent.pem" cannot be read (${join(dataDir, 'certs', 'absent.pem')}: ENOENT); put the file there or correct the path, which is relative to the data folder ${dataDir}.`,
        );
        expect(errors.slice(1).every((message) => message.includes('is not configured: The certificate file "certs/absent.pem" cannot be read'))).toBe(true);
        expect(errors.length).toBe(3);
    });

    it('should read the older per-reader fields', { timeout: 60_000 }, async () => {
        const [reader, points] = readerNodes();
        await helper.load([opcuaEndpointNode, opcuaReaderNode], [{ ...reader, endpoint: '', endpointUrl: `opc.tcp://127.0.0.1:${port}`, pkiFolder: 'client-pki' }, points]);
        await until(() => lastFill('reader-4') === 'green');

        // The test helper returns message keys in place of the translated text.
        expect(logged(30)).toEqual(['ul-opcua-reader.warnings.own-settings']);
        expect(pad.server.currentSessionCount).toBe(1);
    });
});
