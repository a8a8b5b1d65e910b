import { createServer, type Server } from 'node:http';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { createMemoryBus, type BusTransport } from '../../lib/bus/memory';
import type { Store } from '../../lib/store/types';
import type { Reading } from '../../lib/types';
import { attachReadingStream } from './stream';

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** Creates a memory bus that counts the subscriptions opened and closed on it. */
function countingBus(): { bus: BusTransport; opened: () => number; closed: () => number } {
    const inner = createMemoryBus();
    let opened = 0;
    let closed = 0;
    const bus: BusTransport = {
        durable: inner.durable,
        publish: (topic, key, value) => inner.publish(topic, key, value),
        subscribe: (topic, handler, options) => {
            opened += 1;
            const unsubscribe = inner.subscribe(topic, handler, options);
            return async () => {
                closed += 1;
                await unsubscribe();
            };
        },
        close: () => inner.close(),
    };
    return { bus, opened: () => opened, closed: () => closed };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
    const started = Date.now();
    while (!check()) {
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

const reading: Reading = { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 2000, unit: 'psi', ts: '2026-12-05T00:00:00.000Z', quality_flag: 'GOOD' };

describe('reading stream', () => {
    let server: Server;
    let detach: () => Promise<void>;
    let counting: ReturnType<typeof countingBus>;
    let url: string;

    beforeEach(async () => {
        server = createServer();
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        counting = countingBus();
        detach = attachReadingStream({
            server,
            path: '/v1/stream/readings',
            verifyToken: async () => ({ sub: 'analyst-1', roles: ['analyst'] }),
            bus: counting.bus,
            store: { listAssets: async () => ['3w-well-00004', '3w-well-00005', '3w-well-00009'].map((asset_id) => ({ asset_id })) } as unknown as Store,
            logger: quiet,
            flushMs: 20,
            idleMs: 100,
        });
        url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/v1/stream/readings?access_token=token`;
    });

    afterEach(async () => {
        await detach();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    /** Opens a client and resolves with it and the readings it receives, once it was greeted. */
    async function connect(query = ''): Promise<{ socket: WebSocket; received: Reading[] }> {
        const socket = new WebSocket(url + query);
        const received: Reading[] = [];
        await new Promise<void>((resolve, reject) => {
            socket.on('message', (data) => {
                const frame = JSON.parse(String(data)) as { type: string; readings?: Reading[] };
                if (frame.type === 'hello') resolve();
                if (frame.type === 'readings') received.push(...(frame.readings ?? []));
            });
            socket.on('error', reject);
        });
        return { socket, received };
    }

    it('should read the bus only while clients are connected', async () => {
        expect(counting.opened()).toBe(0);

        const first = await connect();
        const second = await connect();
        expect(counting.opened()).toBe(1);

        await counting.bus.publish('telemetry.clean', reading.asset_id, [reading]);
        await waitFor(() => first.received.length === 1 && second.received.length === 1, 'the reading on both clients');
        expect(first.received[0]).toEqual(reading);

        first.socket.close();
        second.socket.close();
        await waitFor(() => counting.closed() === 1, 'the subscription to close after the idle time');
    });

    /** Opens a client that the server is expected to close, and resolves with the close code and reason. */
    async function closeOf(query: string): Promise<{ code: number; reason: string; greeted: boolean }> {
        const socket = new WebSocket(url + query);
        let greeted = false;
        socket.on('message', () => {
            greeted = true;
        });
        return new Promise((resolve, reject) => {
            socket.on('close', (code, reason) => resolve({ code, reason: reason.toString(), greeted }));
            socket.on('error', reject);
        });
    }

    it('should filter by asset_id', async () => {
        const other: Reading = { ...reading, asset_id: '3w-well-00005' };
        const filtered = await connect(`&asset_id=${reading.asset_id},3w-well-00009`);

        await counting.bus.publish('telemetry.clean', other.asset_id, [other]);
        await counting.bus.publish('telemetry.clean', reading.asset_id, [reading]);
        await waitFor(() => filtered.received.length > 0, 'the reading of the filtered asset');
        await new Promise((resolve) => setTimeout(resolve, 60));

        expect(filtered.received).toEqual([reading]);
        filtered.socket.close();
    });

    it('should close on an unknown asset', async () => {
        const { code, reason, greeted } = await closeOf('&asset_id=3w-well-00004,no-such-well');

        expect(code).toBe(4404);
        expect(reason).toContain('asset "no-such-well" is unknown or not one of yours');
        expect(greeted).toBe(false);
    });

    it('should close on an unknown parameter', async () => {
        const { code, reason, greeted } = await closeOf('&asset=3w-well-00004');

        expect(code).toBe(4400);
        expect(reason).toBe('unknown query parameter "asset"; the stream accepts access_token and asset_id');
        expect(greeted).toBe(false);
        expect(counting.opened()).toBe(0);
    });

    it('should close on a repeated parameter', async () => {
        const assets = await closeOf('&asset_id=a&asset_id=b');
        const tokens = await closeOf('&access_token=token');

        expect(assets.code).toBe(4400);
        expect(assets.reason).toBe('query parameter asset_id is given more than once; list several assets as asset_id=a,b');
        expect(tokens.code).toBe(4400);
        expect(tokens.reason).toBe('query parameter access_token is given more than once; give it once');
    });

    it('should cut a long close reason to 123 bytes', async () => {
        const name = 'ü'.repeat(200);
        const { code, reason } = await closeOf(`&${encodeURIComponent(name)}=1`);

        expect(code).toBe(4400);
        expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
        expect(reason).toMatch(/^unknown query parameter "ü+\.\.\.$/);
    });

    it('should keep the subscription within idle time', async () => {
        const first = await connect();
        first.socket.close();
        await new Promise((resolve) => setTimeout(resolve, 20));
        const again = await connect();
        await new Promise((resolve) => setTimeout(resolve, 200));

        expect(counting.opened()).toBe(1);
        expect(counting.closed()).toBe(0);

        again.socket.close();
        await waitFor(() => counting.closed() === 1, 'the subscription to close');
        const later = await connect();
        expect(counting.opened()).toBe(2);
        later.socket.close();
    });
});

describe('reading stream with a client that does not read', () => {
    it('should disconnect it past the buffer limit', async () => {
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const bus = createMemoryBus();
        const warnings: string[] = [];
        const logger = { ...quiet, warn: (message: string) => warnings.push(message) } as never;
        const detach = attachReadingStream({
            server,
            path: '/v1/stream/readings',
            verifyToken: async () => ({ sub: 'analyst-1', roles: ['analyst'] }),
            bus,
            store: {} as Store,
            logger,
            flushMs: 20,
            maxBufferedBytes: 1024 * 1024,
        });
        const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/v1/stream/readings?access_token=token`;
        const socket = new WebSocket(url);
        await new Promise<void>((resolve) => socket.once('message', () => resolve()));
        const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
        // The client stops reading, so frames pile up in the kernel buffers and then in the server.
        (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

        const batch = Array.from({ length: 20_000 }, (_, index) => ({ ...reading, ts: new Date(Date.UTC(2026, 11, 5) + index * 1_000).toISOString() }));
        for (let round = 0; round < 60 && warnings.length === 0; round++) {
            await bus.publish('telemetry.clean', reading.asset_id, batch);
            await new Promise((resolve) => setTimeout(resolve, 30));
        }
        (socket as unknown as { _socket: { resume(): void } })._socket.resume();

        expect(warnings).toEqual(['reading stream client too slow; disconnecting it']);
        expect(await closed).toBe(4008);
        await detach();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    }, 30_000);
});
