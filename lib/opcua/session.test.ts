import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DataType, OPCUACertificateManager, OPCUAServer, StatusCodes, type UAVariable } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../paths';
import { readReplayFile, type ReplayRow } from '../replay/reader';
import type { OpcUaConnectionSettings } from './config';
import type { OpcUaPoint } from './point';
import { OpcUaReader, type ReaderState } from './reader';
import { OpcUaSession, type SessionState } from './session';

let folder: string;
let port: number;
let rows: ReplayRow[];
let server: OPCUAServer;
const variables = new Map<string, UAVariable>();

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const probe = createServer();
        probe.listen(0, '127.0.0.1', () => {
            const { port: free } = probe.address() as { port: number };
            probe.close(() => resolve(free));
        });
    });
}

/** Starts an OPC UA server with the variables P-TPT and T-TPT on the test's port. */
async function startServer(): Promise<void> {
    server = new OPCUAServer({
        port,
        hostname: '127.0.0.1',
        serverCertificateManager: new OPCUACertificateManager({ rootFolder: join(folder, 'server-pki'), automaticallyAcceptUnknownCertificate: true }),
        userCertificateManager: new OPCUACertificateManager({ rootFolder: join(folder, 'user-pki'), automaticallyAcceptUnknownCertificate: true }),
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new Error('the OPC UA server has no address space');
    const namespace = addressSpace.getOwnNamespace();
    for (const name of ['P-TPT', 'T-TPT']) {
        variables.set(name, namespace.addVariable({ organizedBy: addressSpace.rootFolder.objects, browseName: name, nodeId: `s=${name}`, dataType: 'Double' }));
    }
    await server.start();
}

/** Writes both columns of a file row, with the row's time as source timestamp. */
function write(row: ReplayRow): void {
    for (const [name, variable] of variables) {
        variable.setValueFromSource({ dataType: DataType.Double, value: row.values[name] }, StatusCodes.Good, new Date(row.source_ms));
    }
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

function connection(): OpcUaConnectionSettings {
    return { endpoint: `opc.tcp://127.0.0.1:${port}`, securityMode: 'None', securityPolicy: 'None', pkiFolder: join(folder, 'client-pki'), acceptUnknownCertificate: false };
}

/** Creates a reader of one variable that records its points and states. */
function readerOf(session: OpcUaSession, name: string, stallTimeoutMs?: number, publishingIntervalMs = 100) {
    const points: OpcUaPoint[] = [];
    const states: [ReaderState, string | undefined][] = [];
    const reader = new OpcUaReader(
        session,
        { items: [{ nodeId: `ns=1;s=${name}`, tag: name }], samplingIntervalMs: 0, publishingIntervalMs },
        { onPoint: (point) => points.push(point), onState: (state, reason) => states.push([state, reason]) },
        { initialDelayMs: 100, maxDelayMs: 400, ...(stallTimeoutMs === undefined ? {} : { stallTimeoutMs }) },
    );
    return { reader, points, states };
}

beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ul-opcua-session-'));
    port = await freePort();
    rows = [];
    for await (const line of readReplayFile(join(DATA_DIR, 'petrobras-3w/0/WELL-00007_20170801180000.csv'), { endRow: 20 })) {
        if (line.ok) rows.push(line.row);
    }
    await startServer();
});

afterAll(async () => {
    await server.shutdown(0);
    rmSync(folder, { recursive: true, force: true });
});

describe('OpcUaSession', () => {
    it('should close after the last reader', { timeout: 60_000 }, async () => {
        const sessionStates: SessionState[] = [];
        const session = new OpcUaSession(connection(), { onState: (state) => sessionStates.push(state) });
        const pressure = readerOf(session, 'P-TPT');
        const temperature = readerOf(session, 'T-TPT');
        try {
            pressure.reader.start();
            temperature.reader.start();
            await until(() => pressure.reader.state === 'subscribed' && temperature.reader.state === 'subscribed');

            expect(server.currentSessionCount).toBe(1);
            expect(server.currentSubscriptionCount).toBe(2);
            expect(session.userCount).toBe(2);

            await pressure.reader.stop();
            await until(() => server.currentSubscriptionCount === 1);
            write(rows[0]);
            await until(() => temperature.points.some((point) => point.ts === rows[0].source_ts));

            expect(server.currentSessionCount).toBe(1);
            expect(session.state).toBe('connected');
            expect(temperature.points.find((point) => point.ts === rows[0].source_ts)?.value).toBe(rows[0].values['T-TPT']);
            expect(pressure.points.some((point) => point.ts === rows[0].source_ts)).toBe(false);

            await temperature.reader.stop();
            expect(session.state).toBe('disconnected');
            await until(() => server.currentSessionCount === 0);

            // A reader that starts later opens a new session.
            pressure.reader.start();
            await until(() => pressure.reader.state === 'subscribed');
            expect(server.currentSessionCount).toBe(1);
            expect(sessionStates).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
        } finally {
            await pressure.reader.stop();
            await temperature.reader.stop();
            await session.close();
        }
    });

    it('should rebuild for every reader on a stall', { timeout: 60_000 }, async () => {
        const warnings: string[] = [];
        const session = new OpcUaSession(connection(), { onWarning: (message) => warnings.push(message) }, { initialDelayMs: 100, maxDelayMs: 400 });
        // Publishing every 2 s with a keepalive every 20 s, so a 500 ms stall timeout trips between data changes.
        const quiet = readerOf(session, 'P-TPT', 500, 2000);
        const busy = readerOf(session, 'T-TPT');
        try {
            busy.reader.start();
            quiet.reader.start();
            await until(() => warnings.some((message) => message.includes('no data change or keepalive within 500 ms')));
            await quiet.reader.stop();
            await until(() => busy.reader.state === 'subscribed');
            write(rows[1]);
            await until(() => busy.points.some((point) => point.ts === rows[1].source_ts));

            expect(warnings[0]).toBe(`OPC UA connection to opc.tcp://127.0.0.1:${port} is being rebuilt: no data change or keepalive within 500 ms`);
            expect(busy.states).toContainEqual(['disconnected', 'no data change or keepalive within 500 ms']);
            const sequence = busy.states.map(([state]) => state);
            expect(sequence.slice(sequence.lastIndexOf('disconnected'))).toEqual(['disconnected', 'connecting', 'connected', 'subscribed']);
            expect(server.currentSessionCount).toBe(1);
        } finally {
            await quiet.reader.stop();
            await busy.reader.stop();
            await session.close();
        }
    });

    it('should refuse readers after close', async () => {
        const session = new OpcUaSession(connection());
        await session.close();
        const late = readerOf(session, 'P-TPT');
        late.reader.start();

        await new Promise((resolve) => setTimeout(resolve, 300));

        expect(session.userCount).toBe(0);
        expect(session.state).toBe('disconnected');
        expect(late.reader.state).toBe('disconnected');
    });
});
