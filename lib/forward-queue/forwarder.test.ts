import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../paths';
import { readReplayFile } from '../replay/reader';
import { MqttForwarder, type ForwarderState } from './forwarder';
import { ForwardQueue } from './queue';

interface Broker {
    url: string;
    port: number;
    stop(): Promise<void>;
}

/** Starts an aedes broker on 127.0.0.1 and records every message a client publishes to it. */
async function startBroker(received: { topic: string; payload: string }[], port = 0): Promise<Broker> {
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    broker.on('publish', (packet, client) => {
        if (client) received.push({ topic: packet.topic, payload: packet.payload.toString() });
    });
    const sockets = new Set<Socket>();
    const server = createServer(broker.handle);
    server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const actualPort = (server.address() as { port: number }).port;
    return {
        url: `mqtt://127.0.0.1:${actualPort}`,
        port: actualPort,
        stop: async () => {
            for (const socket of sockets) socket.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await new Promise<void>((resolve) => broker.close(() => resolve()));
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

/** Rows of a real 3W file as the payloads to forward. */
async function realRows(count: number): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const line of readReplayFile(join(DATA_DIR, 'petrobras-3w/6/WELL-00004_20171031193025.csv'), { endRow: count })) {
        if (line.ok) rows.push({ ts: line.row.source_ts, values: line.row.values });
    }
    return rows;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(brokerUrl: string): { forwarder: MqttForwarder; queue: ForwardQueue; states: ForwarderState[]; delivered: number[] } {
    const folder = mkdtempSync(join(tmpdir(), 'ul-forwarder-'));
    const queue = ForwardQueue.open({ folder, maxBytes: 16 * 1024 * 1024, whenFull: 'block' });
    const states: ForwarderState[] = [];
    const delivered: number[] = [];
    const forwarder = new MqttForwarder({
        queue,
        brokerUrl,
        clientId: `forwarder-${Math.random().toString(16).slice(2)}`,
        reconnectPeriodMs: 100,
        onStateChange: (state) => states.push(state),
        onDelivered: (record) => delivered.push(record.seq),
    });
    cleanups.push(async () => {
        await forwarder.stop();
        await queue.close();
        rmSync(folder, { recursive: true, force: true });
    });
    return { forwarder, queue, states, delivered };
}

/** Returns the indexes carried by the payloads, and checks that repeats only repeat an earlier one. */
function arrivalOrder(received: { payload: string }[]): { firsts: number[]; repeats: number } {
    const seen = new Set<number>();
    const firsts: number[] = [];
    let repeats = 0;
    for (const message of received) {
        const index = (JSON.parse(message.payload) as { index: number }).index;
        if (seen.has(index)) repeats++;
        else firsts.push(index);
        seen.add(index);
    }
    return { firsts, repeats };
}

describe('MqttForwarder', () => {
    it('should publish real rows after each PUBACK', async () => {
        const received: { topic: string; payload: string }[] = [];
        const broker = await startBroker(received);
        cleanups.push(() => broker.stop());
        const { forwarder, queue, delivered } = setup(broker.url);
        const rows = await realRows(300);
        await forwarder.enqueue(rows.slice(0, 100).map((row, index) => ({ topic: 'ops/petrobras/3w-well-00004/readings', payload: { index, ...row } })));
        forwarder.start();
        await forwarder.enqueue(rows.slice(100).map((row, index) => ({ topic: 'ops/petrobras/3w-well-00004/readings', payload: { index: index + 100, ...row } })));
        await until(() => delivered.length === rows.length);

        expect(arrivalOrder(received)).toEqual({ firsts: [...rows.keys()], repeats: 0 });
        expect(JSON.parse(received[5].payload)).toEqual({ index: 5, ...rows[5] });
        expect(received.every((message) => message.topic === 'ops/petrobras/3w-well-00004/readings')).toBe(true);
        expect(queue.stats().depth).toBe(0);
        expect(delivered).toEqual(rows.map((_, index) => index + 1));
    });

    it('should deliver in order across broker outage', async () => {
        const received: { topic: string; payload: string }[] = [];
        let broker = await startBroker(received);
        const port = broker.port;
        cleanups.push(() => broker.stop());
        const { forwarder, queue, states, delivered } = setup(broker.url);
        const rows = await realRows(400);
        const message = (index: number) => ({ topic: 'ops/petrobras/3w-well-00004/readings', payload: { index, ...rows[index] } });
        forwarder.start();
        for (let index = 0; index < 150; index++) await forwarder.enqueue([message(index)]);
        await until(() => delivered.length >= 50);

        await broker.stop();
        await until(() => forwarder.state !== 'connected');
        for (let index = 150; index < 300; index++) await forwarder.enqueue([message(index)]);
        const depthWhileDown = queue.stats().depth;
        expect(depthWhileDown).toBeGreaterThanOrEqual(150);
        expect(delivered.length).toBeLessThan(300);

        broker = await startBroker(received, port);
        for (let index = 300; index < 400; index++) await forwarder.enqueue([message(index)]);
        await until(() => delivered.length === 400);

        const order = arrivalOrder(received);
        expect(order.firsts).toEqual([...Array(400).keys()]);
        // Only a record in flight at the outage may arrive twice.
        expect(order.repeats).toBeLessThanOrEqual(1);
        expect(states).toContain('disconnected');
        expect(states[states.length - 1]).toBe('connected');
        expect(queue.stats().depth).toBe(0);
    });

    it('should hold records until a broker listens', async () => {
        const received: { topic: string; payload: string }[] = [];
        const probe = await startBroker(received);
        const port = probe.port;
        await probe.stop();
        const { forwarder, queue, states, delivered } = setup(`mqtt://127.0.0.1:${port}`);
        forwarder.start();
        await forwarder.enqueue([0, 1, 2].map((index) => ({ topic: 'ops/a/b/readings', payload: { index } })));
        await until(() => states.filter((state) => state === 'connecting').length >= 2);

        expect(queue.stats().depth).toBe(3);
        const broker = await startBroker(received, port);
        cleanups.push(() => broker.stop());
        await until(() => delivered.length === 3);
        expect(arrivalOrder(received).firsts).toEqual([0, 1, 2]);
    });

    it('should reject a message without a topic', async () => {
        const { forwarder } = setup('mqtt://127.0.0.1:1');

        await expect(forwarder.enqueue([{ payload: 1 }])).rejects.toThrow(/no msg.topic/);
        await expect(forwarder.enqueue([{ topic: 'ops/#', payload: 1 }])).rejects.toThrow(/wildcards/);
    });
});
