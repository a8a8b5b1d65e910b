import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { metricValue, renderMetrics } from '../../lib/observability/counters';
import { DATA_DIR } from '../../lib/paths';
import { readReplayFile } from '../../lib/replay/reader';
import forwardQueueNode from './forward-queue';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');
// Node-RED's Complete and Catch nodes report each input's done() and done(err).
const completeNode = require('@node-red/nodes/core/common/24-complete.js');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const NODES = [forwardQueueNode, completeNode, catchNode];

interface Broker {
    port: number;
    stop(): Promise<void>;
}

const received: { topic: string; payload: string }[] = [];
let broker: Broker;
let folder: string;

/** Starts an aedes broker on 127.0.0.1 that records every message a client publishes to it. */
async function startBroker(port = 0): Promise<Broker> {
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker();
    aedes.on('publish', (packet, client) => {
        if (client) received.push({ topic: packet.topic, payload: packet.payload.toString() });
    });
    const sockets = new Set<Socket>();
    const server = createServer(aedes.handle);
    server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return {
        port: (server.address() as { port: number }).port,
        stop: async () => {
            for (const socket of sockets) socket.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await new Promise<void>((resolve) => aedes.close(() => resolve()));
        },
    };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    broker = await startBroker();
});

afterAll(async () => {
    await broker.stop();
});

afterEach(async () => {
    await helper.unload();
    received.length = 0;
    rmSync(folder, { recursive: true, force: true });
});

function queueNode(overrides: Record<string, unknown> = {}): Record<string, unknown>[] {
    folder = mkdtempSync(join(tmpdir(), 'ul-forward-node-'));
    return [
        {
            id: 'queue-1',
            type: 'ul-forward-queue',
            broker: `mqtt://127.0.0.1:${broker.port}`,
            clientId: `edge-queue-${Math.random().toString(16).slice(2)}`,
            folder,
            maxMb: 10,
            whenFull: 'block',
            fsyncInterval: 0,
            wires: [['delivered'], ['alerts']],
            ...overrides,
        },
        { id: 'delivered', type: 'helper' },
        { id: 'alerts', type: 'helper' },
        { id: 'complete-1', type: 'complete', scope: ['queue-1'], uncaught: false, wires: [['completed']] },
        { id: 'catch-1', type: 'catch', scope: ['queue-1'], uncaught: false, wires: [['caught']] },
        { id: 'completed', type: 'helper' },
        { id: 'caught', type: 'helper' },
    ];
}

/** Counts the inputs of the queue node that finished, with done() or done(err). */
function countFinished(): { completed: number; caught: Record<string, unknown>[] } {
    const counts = { completed: 0, caught: [] as Record<string, unknown>[] };
    helper.getNode('completed').on('input', () => counts.completed++);
    helper.getNode('caught').on('input', (msg: Record<string, unknown>) => counts.caught.push(msg));
    return counts;
}

function logsAt(level: number): string[] {
    return helper
        .log()
        .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
        .filter((entry: { level: number }) => entry.level === level)
        .map((entry: { msg: unknown }) => String(entry.msg));
}

async function realRows(count: number): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const line of readReplayFile(join(DATA_DIR, 'petrobras-3w/6/WELL-00004_20171031193025.csv'), { endRow: count })) {
        if (line.ok) rows.push({ ts: line.row.source_ts, values: line.row.values });
    }
    return rows;
}

describe('ul-forward-queue publishing', () => {
    it('should publish real rows in order', async () => {
        await helper.load(NODES, queueNode());
        const delivered: Record<string, unknown>[] = [];
        helper.getNode('delivered').on('input', (msg: Record<string, unknown>) => delivered.push(msg));
        const rows = await realRows(120);
        for (const [index, row] of rows.entries()) helper.getNode('queue-1').receive({ topic: 'ops/petrobras/3w-well-00004/readings', payload: { index, ...row } });
        await until(() => delivered.length === rows.length);

        expect(received.map((message) => (JSON.parse(message.payload) as { index: number }).index)).toEqual([...rows.keys()]);
        expect(JSON.parse(received[0].payload)).toEqual({ index: 0, ...rows[0] });
        expect(delivered.map((msg) => msg.seq)).toEqual(rows.map((_, index) => index + 1));
        expect(delivered[3].topic).toBe('ops/petrobras/3w-well-00004/readings');
        expect(delivered[3].payload).toEqual({ index: 3, ...rows[3] });
        expect(typeof delivered[3].enqueued_at).toBe('string');
    });

    it('should publish text payloads as they are', async () => {
        await helper.load(NODES, queueNode());
        const delivered = new Promise((resolve) => helper.getNode('delivered').once('input', resolve));
        helper.getNode('queue-1').receive({ topic: 'ops/a/b/readings', payload: 'plain text' });
        await delivered;

        expect(received).toEqual([{ topic: 'ops/a/b/readings', payload: 'plain text' }]);
    });

    it('should deliver messages queued before a redeploy', async () => {
        const stopped = await startBroker();
        const port = stopped.port;
        await stopped.stop();
        const flow = queueNode({ broker: `mqtt://127.0.0.1:${port}`, clientId: 'edge-queue-redeploy' });
        await helper.load(NODES, flow);
        const node = helper.getNode('queue-1');
        const finished = countFinished();
        for (const index of [0, 1, 2]) node.receive({ topic: 'ops/a/b/readings', payload: { index } });
        await until(() => finished.completed === 3);
        await helper.unload();

        const restarted = await startBroker(port);
        try {
            await helper.load(NODES, flow);
            await until(() => received.length === 3);
            expect(received.map((message) => JSON.parse(message.payload).index)).toEqual([0, 1, 2]);
        } finally {
            await helper.unload();
            await restarted.stop();
        }
    });
});

describe('ul-forward-queue when full', () => {
    /** Returns a broker URL that refuses connections, so that nothing drains. */
    async function closedBrokerUrl(): Promise<string> {
        const stopped = await startBroker();
        await stopped.stop();
        return `mqtt://127.0.0.1:${stopped.port}`;
    }

    it('should fail input with a clear error when blocking', async () => {
        await helper.load(NODES, queueNode({ broker: await closedBrokerUrl(), maxMb: 0.02, whenFull: 'block' }));
        const node = helper.getNode('queue-1');
        const finished = countFinished();
        for (let index = 0; index < 100; index++) node.receive({ topic: 'ops/a/b/readings', payload: { index, text: 'x'.repeat(900) } });
        await until(() => finished.completed + finished.caught.length === 100);

        // About 20 KB hold about 20 messages of 1 KB; every later one fails its input for a Catch node.
        expect(finished.completed).toBeGreaterThan(10);
        expect(finished.completed).toBeLessThan(25);
        expect(finished.caught.length).toBe(100 - finished.completed);
        const error = finished.caught[0].error as { message: string };
        expect(error.message).toMatch(/forward queue in .* is full: \d+ records use \d+ of 20971 bytes, so 1 new record\(s\) were not accepted/);
        expect(logsAt(30).filter((message) => message === 'ul-forward-queue.warnings.overflow').length).toBe(1);
        expect(node.status.lastCall.args[0]).toMatchObject({ fill: 'red', shape: 'ring', text: 'ul-forward-queue.status.full' });
    });

    it('should drop the oldest messages and warn once with counts', async () => {
        await helper.load(NODES, queueNode({ broker: await closedBrokerUrl(), maxMb: 0.1, whenFull: 'drop-oldest' }));
        const node = helper.getNode('queue-1');
        const finished = countFinished();
        for (let index = 0; index < 300; index++) node.receive({ topic: 'ops/a/b/readings', payload: { index, text: 'x'.repeat(900) } });
        await until(() => finished.completed === 300);

        // Messages are only dropped once their segment must go; there is one warning for all of them.
        expect(logsAt(30).filter((message) => message === 'ul-forward-queue.warnings.overflow').length).toBe(1);
        expect(logsAt(20)).toEqual([]);
        await until(() => node.status.lastCall.args[0].fill === 'yellow');
        expect(node.status.lastCall.args[0]).toMatchObject({ shape: 'ring', text: 'ul-forward-queue.status.dropped' });
    });

    it('should raise one P1 alert on the asset when it drops records', async () => {
        await helper.load(NODES, queueNode({ broker: await closedBrokerUrl(), maxMb: 0.1, whenFull: 'drop-oldest' }));
        const node = helper.getNode('queue-1');
        const alerts: { topic: string; payload: Record<string, unknown> }[] = [];
        helper.getNode('alerts').on('input', (msg: { topic: string; payload: Record<string, unknown> }) => alerts.push(msg));
        const finished = countFinished();
        for (let index = 0; index < 300; index++) node.receive({ topic: 'ops/acme/well-7/readings', payload: { index, text: 'x'.repeat(900) } });
        await until(() => finished.completed === 300 && alerts.length > 0);

        expect(alerts).toHaveLength(1);
        expect(alerts[0].topic).toBe('well-7');
        expect(alerts[0].payload).toMatchObject({ rule_id: 'edge-forward-queue-full', asset_id: 'well-7', metric: 'forward_queue', severity: 'P1', state: 'open' });
        expect(alerts[0].payload.message).toMatch(/^well-7: the forward queue .* is full and dropped \d+ unsent records; raise its disk budget or restore the link\.$/);
    });

    it('should export depth, age and losses as metrics', async () => {
        await helper.load(NODES, queueNode({ broker: await closedBrokerUrl(), maxMb: 0.1, whenFull: 'drop-oldest' }));
        const node = helper.getNode('queue-1');
        const finished = countFinished();
        for (let index = 0; index < 300; index++) node.receive({ topic: 'ops/a/b/readings', payload: { index, text: 'x'.repeat(900) } });
        await until(() => finished.completed === 300);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const labels = { node: 'queue-1' };

        const depth = metricValue('ul_forward_queue_depth', labels) ?? 0;
        const dropped = metricValue('ul_forward_queue_dropped', labels) ?? 0;

        // Nothing drains without a broker: every accepted record is either still queued or dropped.
        expect(depth).toBeGreaterThan(0);
        expect(depth + dropped).toBe(300);
        expect(metricValue('ul_forward_queue_bytes', labels)).toBeGreaterThan(0);
        expect(metricValue('ul_forward_queue_oldest_age_seconds', labels)).toBeGreaterThan(0);
        expect(renderMetrics()).toContain('ul_forward_queue_depth{node="queue-1"}');

        await helper.unload();
        expect(metricValue('ul_forward_queue_depth', labels)).toBeUndefined();
    });
});

describe('ul-forward-queue configuration', () => {
    // The test runtime has no locale catalogue for these nodes, so messages show as their keys.
    const invalid: [string, Record<string, unknown>, string][] = [
        ['a broker without scheme', { broker: '127.0.0.1:1883' }, 'ul-forward-queue.errors.bad-broker'],
        ['a missing client id', { clientId: '' }, 'ul-forward-queue.errors.missing-client-id'],
        ['a zero budget', { maxMb: 0 }, 'ul-forward-queue.errors.bad-budget'],
        ['an unknown full behaviour', { whenFull: 'wait' }, 'ul-forward-queue.errors.bad-when-full'],
        ['a CA file that does not exist', { caFile: '/nonexistent/ca.crt' }, 'Reading the TLS file caFile (/nonexistent/ca.crt) failed: ENOENT'],
        ['a certificate without its key', { certFile: join(DATA_DIR, 'assets.json') }, 'A client certificate needs its key'],
    ];
    for (const [name, overrides, message] of invalid) {
        it(`should report ${name} at deploy`, async () => {
            await helper.load(NODES, queueNode(overrides));
            const errors = logsAt(20);

            expect(errors.length).toBe(1);
            expect(errors[0]).toContain(message);
            expect(helper.getNode('queue-1').status.lastCall.args[0]).toMatchObject({ fill: 'red', shape: 'ring', text: 'ul-forward-queue.status.not-configured' });
        });
    }
});
