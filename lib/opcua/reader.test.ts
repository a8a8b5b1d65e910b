import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DataType, OPCUACertificateManager, OPCUAServer, StatusCodes, type UAVariable } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../paths';
import { readReplayFile, type ReplayRow } from '../replay/reader';
import type { OpcUaPoint } from './point';
import { OpcUaReader, type ReaderState } from './reader';

let folder: string;
let port: number;
let rows: ReplayRow[];
let server: OPCUAServer;
let pressure: UAVariable;

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const probe = createServer();
        probe.listen(0, '127.0.0.1', () => {
            const { port: free } = probe.address() as { port: number };
            probe.close(() => resolve(free));
        });
    });
}

/** Starts an OPC UA server with one variable, P-TPT, on the test's port. */
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
    pressure = namespace.addVariable({ organizedBy: addressSpace.rootFolder.objects, browseName: 'P-TPT', nodeId: 's=P-TPT', dataType: 'Double' });
    await server.start();
}

function write(row: ReplayRow): void {
    pressure.setValueFromSource({ dataType: DataType.Double, value: row.values['P-TPT'] }, StatusCodes.Good, new Date(row.source_ms));
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ul-opcua-reader-'));
    port = await freePort();
    rows = [];
    for await (const line of readReplayFile(join(DATA_DIR, 'petrobras-3w/6/WELL-00004_20171031193025.csv'), { endRow: 10 })) {
        if (line.ok) rows.push(line.row);
    }
    await startServer();
});

afterAll(async () => {
    await server.shutdown(0);
    rmSync(folder, { recursive: true, force: true });
});

describe('OpcUaReader', () => {
    it('should rebuild after reconnect timeout', { timeout: 90_000 }, async () => {
        const states: [ReaderState, string | undefined][] = [];
        const points: OpcUaPoint[] = [];
        const warnings: string[] = [];
        const reader = OpcUaReader.withOwnSession(
            {
                endpoint: `opc.tcp://127.0.0.1:${port}`,
                securityMode: 'None',
                securityPolicy: 'None',
                pkiFolder: join(folder, 'client-pki'),
                acceptUnknownCertificate: false,
                items: [{ nodeId: 'ns=1;s=P-TPT', tag: 'P-TPT' }],
                samplingIntervalMs: 0,
                publishingIntervalMs: 100,
            },
            { onPoint: (point) => points.push(point), onState: (state, reason) => states.push([state, reason]), onWarning: (message) => warnings.push(message) },
            { initialDelayMs: 200, maxDelayMs: 400, reconnectTimeoutMs: 1500 },
        );
        try {
            write(rows[0]);
            reader.start();
            await until(() => points.some((point) => point.ts === rows[0].source_ts));

            await server.shutdown(0);
            await until(() => states.some(([state, reason]) => state === 'disconnected' && /no reconnection within 1500 ms/.test(reason ?? '')));
            await startServer();
            await until(() => reader.state === 'subscribed', 30_000);
            write(rows[1]);
            await until(() => points.some((point) => point.ts === rows[1].source_ts));

            const sequence = states.map(([state]) => state);
            const rebuilt = sequence.lastIndexOf('disconnected');
            expect(sequence.slice(0, 3)).toEqual(['connecting', 'connected', 'subscribed']);
            expect(sequence.indexOf('reconnecting')).toBeGreaterThan(2);
            expect(sequence.indexOf('reconnecting')).toBeLessThan(rebuilt);
            expect(sequence.slice(rebuilt)).toEqual(['disconnected', 'connecting', 'connected', 'subscribed']);
            expect(warnings.some((message) => message.includes('is being rebuilt: no reconnection within 1500 ms'))).toBe(true);
            expect(points.find((point) => point.ts === rows[1].source_ts)).toEqual({ tag: 'P-TPT', value: rows[1].values['P-TPT'], ts: rows[1].source_ts, quality: 'GOOD' });
        } finally {
            await reader.stop();
        }
        expect(reader.state).toBe('disconnected');
    });

    it('should warn about an unknown node', { timeout: 60_000 }, async () => {
        const points: OpcUaPoint[] = [];
        const warnings: string[] = [];
        const reader = OpcUaReader.withOwnSession(
            {
                endpoint: `opc.tcp://127.0.0.1:${port}`,
                securityMode: 'None',
                securityPolicy: 'None',
                pkiFolder: join(folder, 'client-pki'),
                acceptUnknownCertificate: false,
                items: [
                    { nodeId: 'ns=1;s=Missing', tag: 'missing' },
                    { nodeId: 'ns=1;s=P-TPT', tag: 'P-TPT' },
                ],
                samplingIntervalMs: 0,
                publishingIntervalMs: 100,
            },
            { onPoint: (point) => points.push(point), onWarning: (message) => warnings.push(message) },
        );
        try {
            write(rows[2]);
            reader.start();
            await until(() => points.some((point) => point.ts === rows[2].source_ts));
            await until(() => warnings.length > 0);

            expect(warnings[0]).toMatch(/OPC UA node ns=1;s=Missing \(tag missing\) cannot be monitored: .*BadNodeIdUnknown/);
            expect(points.every((point) => point.tag === 'P-TPT')).toBe(true);
        } finally {
            await reader.stop();
        }
    });
});
