// WebSocket /v1/stream/readings: pushes clean readings as they pass the bus, scoped to what the
// caller may see. Readings are batched per interval so a busy bus does not become one frame per reading.
// The stream reads the bus only while clients are connected, because on Kafka reading every clean
// reading costs the runtime CPU time even without clients.
import type { IncomingMessage, Server } from 'node:http';

import { WebSocketServer, type WebSocket } from 'ws';

import type { Principal, TokenVerifier } from '../../lib/auth/types';
import type { BusTransport } from '../../lib/bus/memory';
import type { Store } from '../../lib/store/types';
import type { Reading } from '../../lib/types';
import type { Logger } from '../logging';
import { bearerToken, checkQueryNames } from './http';

export interface StreamOptions {
    server: Server;
    path: string;
    verifyToken: TokenVerifier;
    bus: BusTransport;
    store: Store;
    logger: Logger;
    /** Interval between frames, in milliseconds; default 250. */
    flushMs?: number;
    /** Time the bus subscription stays after the last client left, in milliseconds; default 30,000. */
    idleMs?: number;
    /** Bytes a client may leave unread before it is disconnected; default 16 MiB. */
    maxBufferedBytes?: number;
}

interface Client {
    socket: WebSocket;
    principal: Principal;
    /** Asset ids the client may see; undefined for all. */
    scope?: Set<string>;
    /** Optional asset filter from `?asset_id=a,b`. */
    filter?: Set<string>;
    pending: Reading[];
}

/** Query parameters of the stream besides access_token. */
const STREAM_PARAMETERS = ['asset_id'];

/** Maximum length of a WebSocket close reason in bytes of UTF-8 (RFC 6455, section 5.5). */
const MAX_CLOSE_REASON_BYTES = 123;

/** Cuts a close reason to the byte limit of the protocol, on a character boundary, because ws throws on a longer one. */
function closeReason(text: string): string {
    if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
    let cut = '';
    let bytes = 0;
    for (const char of text) {
        const size = Buffer.byteLength(char);
        if (bytes + size > MAX_CLOSE_REASON_BYTES - 3) break;
        cut += char;
        bytes += size;
    }
    return `${cut}...`;
}

/**
 * Returns the close reason for a query name the stream does not accept or that is given more
 * than once, or undefined when the query is valid. It names only the first such name, because a
 * close reason is limited to 123 bytes.
 */
function queryProblem(search: URLSearchParams): string | undefined {
    const { unknown, repeated } = checkQueryNames(search, STREAM_PARAMETERS);
    if (unknown.length > 0) {
        return closeReason(`unknown query parameter "${unknown[0]}"; the stream accepts access_token and asset_id`);
    }
    if (repeated.includes('asset_id')) {
        return 'query parameter asset_id is given more than once; list several assets as asset_id=a,b';
    }
    if (repeated.length > 0) {
        return closeReason(`query parameter ${repeated[0]} is given more than once; give it once`);
    }
    return undefined;
}

/** Attaches the stream to the HTTP server; returns a function that detaches it and closes clients. */
export function attachReadingStream(options: StreamOptions): () => Promise<void> {
    const { server, path, bus, store, logger } = options;
    const wss = new WebSocketServer({ noServer: true });
    const clients = new Set<Client>();

    const onUpgrade = (req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (url.pathname !== path) return;
        const token = bearerToken(req.headers.authorization, Object.fromEntries(url.searchParams));
        wss.handleUpgrade(req, socket, head, (ws) => {
            if (!token) {
                ws.close(4401, 'missing bearer token: add ?access_token=<token>');
                return;
            }
            options.verifyToken(token).then(
                async (principal) => {
                    if (!principal.roles.some((role) => role !== 'public')) {
                        ws.close(4403, 'the public role sees aggregates only');
                        return;
                    }
                    const problem = queryProblem(url.searchParams);
                    if (problem) {
                        ws.close(4400, problem);
                        return;
                    }
                    let scope: Set<string> | undefined;
                    if (!principal.roles.includes('regulator-admin') && !principal.roles.includes('analyst')) {
                        const assets = await store.listAssets({ operator: principal.operator });
                        scope = new Set(assets.map((asset) => asset.asset_id));
                    }
                    const assetFilter = url.searchParams.get('asset_id');
                    const filter = assetFilter ? new Set(assetFilter.split(',').map((id) => id.trim()).filter(Boolean)) : undefined;
                    if (filter) {
                        // A filter that can match nothing would leave the client waiting in silence.
                        const visible = scope ?? new Set((await store.listAssets()).map((asset) => asset.asset_id));
                        const missing = [...filter].find((id) => !visible.has(id));
                        if (missing !== undefined) {
                            ws.close(4404, closeReason(`asset "${missing}" is unknown or not one of yours; GET /v1/assets lists the assets you may stream`));
                            return;
                        }
                    }
                    const client: Client = { socket: ws, principal, scope, filter, pending: [] };
                    clients.add(client);
                    subscribe();
                    ws.on('close', () => leave(client));
                    ws.send(JSON.stringify({ type: 'hello', sub: principal.sub, roles: principal.roles }));
                    logger.debug('reading stream client connected', { sub: principal.sub });
                },
                (err: Error) => ws.close(4401, closeReason(err.message)),
            );
        });
    };
    server.on('upgrade', onUpgrade);

    // Every runtime streams every reading to its own clients, so the stream reads the topic in
    // broadcast mode and commits nothing. It subscribes when the first client connects, and
    // unsubscribes once no client has been connected for the idle time.
    let unsubscribe: (() => Promise<void>) | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    const subscribe = (): void => {
        if (idleTimer) clearTimeout(idleTimer);
        idleTimer = undefined;
        unsubscribe ??= bus.subscribe('telemetry.clean', (message) => {
            const readings = (Array.isArray(message.value) ? message.value : [message.value]) as Reading[];
            for (const client of clients) {
                for (const reading of readings) {
                    if (client.scope && !client.scope.has(reading.asset_id)) continue;
                    if (client.filter && !client.filter.has(reading.asset_id)) continue;
                    client.pending.push(reading);
                }
            }
        }, { mode: 'broadcast', group: 'api-stream' });
    };
    const leave = (client: Client): void => {
        clients.delete(client);
        if (clients.size > 0 || !unsubscribe || idleTimer) return;
        idleTimer = setTimeout(() => {
            idleTimer = undefined;
            const stop = unsubscribe;
            unsubscribe = undefined;
            stop?.().catch((err: unknown) => logger.warn('stopping the reading stream subscription failed', { error: String(err) }));
        }, options.idleMs ?? 30_000);
        idleTimer.unref();
    };

    const maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    const timer = setInterval(() => {
        for (const client of clients) {
            if (client.pending.length === 0 || client.socket.readyState !== client.socket.OPEN) continue;
            // A client that does not read would make the server keep every frame for it.
            if (client.socket.bufferedAmount > maxBufferedBytes) {
                logger.warn('reading stream client too slow; disconnecting it', { sub: client.principal.sub, buffered_bytes: client.socket.bufferedAmount });
                client.pending = [];
                client.socket.close(4008, closeReason(`client too slow: more than ${maxBufferedBytes} bytes unread; read frames as they come, or filter with asset_id`));
                leave(client);
                continue;
            }
            client.socket.send(JSON.stringify({ type: 'readings', readings: client.pending }));
            client.pending = [];
        }
    }, options.flushMs ?? 250);

    return async () => {
        clearInterval(timer);
        if (idleTimer) clearTimeout(idleTimer);
        await unsubscribe?.();
        unsubscribe = undefined;
        server.off('upgrade', onUpgrade);
        for (const client of clients) client.socket.close(1001, 'server shutting down');
        await new Promise<void>((resolve) => wss.close(() => resolve()));
    };
}
