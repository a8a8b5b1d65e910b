// The dashboard's WebSocket side: authenticates each browser, sends it the widgets and their
// state for its scope, and pushes the collected changes in one frame per client per interval.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocket, WebSocketServer, type RawData } from 'ws';

import type { Principal, TokenVerifier } from '../../lib/auth/types';
import { toError } from '../../lib/errors';
import { decideAccess, type AssetRegistry, type Scope } from './access';
import { CLOSE_FORBIDDEN, CLOSE_RESTART, CLOSE_UNAUTHENTICATED, type ServerMessage } from './protocol';
import type { DeltaProducer, WidgetStore, WidgetView } from './widget-store';

export interface HubLogger {
    info(message: string): void;
    warn(message: string): void;
    debug(message: string): void;
}

export interface HubOptions {
    title: string;
    apiBase: string;
    /** Verifies bearer tokens; without it every client is let in as an anonymous analyst. */
    verifyToken?: TokenVerifier;
    registry: AssetRegistry;
    /** Refreshes the registry before a client gets its first state; failures are logged and ignored. */
    refreshAssets?: () => Promise<void>;
    /** Milliseconds between pushes; changes within one interval go out in one frame. */
    intervalMs: number;
    /** Milliseconds a new connection has to send its `auth` message. Default 10 000. */
    authTimeoutMs?: number;
    /** Milliseconds between pings; a client that missed the previous pong is dropped. Default 30 000. */
    heartbeatMs?: number;
    /** A client with more unsent bytes than this skips pushes and gets a full state later. Default 1 MiB. */
    maxBufferedBytes?: number;
    log: HubLogger;
}

/** The principal of every client when the page runs without authentication. */
export const ANONYMOUS: Principal = { sub: 'anonymous', roles: ['analyst'] };

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;

interface Client {
    socket: WebSocket;
    /** True once `hello` was sent; only ready clients get pushes. */
    ready: boolean;
    authenticating: boolean;
    principal?: Principal;
    scope?: Scope;
    selections: Map<string, { asset_id: string; metric: string }>;
    /** Set when pushes were skipped for a slow client or the registry changed; the next push sends the full state. */
    resync: boolean;
    /** The hub's layout version when this client got its `hello`. */
    layoutVersion: number;
    alive: boolean;
    authTimer?: NodeJS.Timeout;
}

function truncateReason(reason: string): string {
    let text = reason;
    while (Buffer.byteLength(text) > MAX_REASON_BYTES) text = text.slice(0, -2) + '…';
    return text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null;
}

export class DashboardHub {
    private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    private readonly widgets = new Map<string, WidgetStore>();
    private readonly clients = new Set<Client>();
    private flushTimer: NodeJS.Timeout | undefined;
    private heartbeatTimer: NodeJS.Timeout | undefined;
    /** Grows when a widget is added or removed; clients with an older `hello` get a new one. */
    private layoutVersion = 0;
    private closed = false;
    private readonly stopWatchingRegistry: () => void;

    constructor(private readonly options: HubOptions) {
        // Operator scopes and well counts depend on the registry, so a change resends every state.
        this.stopWatchingRegistry = options.registry.onChange(() => {
            for (const client of this.clients) if (client.ready) client.resync = true;
            this.schedulePush();
        });
    }

    addWidget(store: WidgetStore): void {
        this.widgets.set(store.config.id, store);
        store.onChange = () => this.schedulePush();
        this.layoutVersion += 1;
        this.schedulePush();
    }

    removeWidget(id: string): void {
        const store = this.widgets.get(id);
        if (!store) return;
        store.onChange = undefined;
        this.widgets.delete(id);
        this.layoutVersion += 1;
        this.schedulePush();
    }

    /** Takes over an HTTP upgrade request that the caller matched to this page's WebSocket path. */
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
        if (this.closed) {
            socket.destroy();
            return;
        }
        this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
    }

    /** Schedules a push at the end of the current interval, unless one is scheduled already. */
    schedulePush(): void {
        if (this.flushTimer || this.closed) return;
        this.flushTimer = setTimeout(() => {
            this.flushTimer = undefined;
            this.push();
        }, this.options.intervalMs);
    }

    /** Closes every connection with 1012 so that browsers reconnect to the next page, and stops the server. */
    async close(): Promise<void> {
        this.closed = true;
        this.stopWatchingRegistry();
        clearTimeout(this.flushTimer);
        clearInterval(this.heartbeatTimer);
        const closing = [...this.clients].map(
            (client) =>
                new Promise<void>((resolve) => {
                    clearTimeout(client.authTimer);
                    if (client.socket.readyState === WebSocket.CLOSED) {
                        resolve();
                        return;
                    }
                    const force = setTimeout(() => client.socket.terminate(), 1_000);
                    client.socket.once('close', () => {
                        clearTimeout(force);
                        resolve();
                    });
                    client.socket.close(CLOSE_RESTART, 'Dashboard restarting; reconnect.');
                }),
        );
        await Promise.all(closing);
        await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    }

    private accept(socket: WebSocket, request: IncomingMessage): void {
        const client: Client = {
            socket,
            ready: false,
            authenticating: false,
            selections: new Map(),
            resync: false,
            layoutVersion: -1,
            alive: true,
        };
        this.clients.add(client);
        socket.on('close', () => {
            clearTimeout(client.authTimer);
            this.clients.delete(client);
        });
        socket.on('error', (err) => this.options.log.debug(`dashboard socket error from ${client.principal?.sub ?? 'unauthenticated client'}: ${err.message}`));
        socket.on('pong', () => {
            client.alive = true;
        });
        socket.on('message', (data, isBinary) => this.receive(client, data, isBinary));

        const queryToken = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
        if (queryToken !== null) {
            void this.authenticate(client, queryToken);
            return;
        }
        const timeout = this.options.authTimeoutMs ?? 10_000;
        client.authTimer = setTimeout(() => {
            this.reject(client, CLOSE_UNAUTHENTICATED, `No auth message within ${timeout} ms; send {"type":"auth","token":"..."} first.`);
        }, timeout);
    }

    private receive(client: Client, data: RawData, isBinary: boolean): void {
        let message: unknown;
        try {
            message = isBinary ? undefined : JSON.parse(data.toString());
        } catch {
            message = undefined;
        }
        if (!isRecord(message) || typeof message.type !== 'string') {
            if (!client.ready && !client.authenticating) {
                this.reject(client, CLOSE_UNAUTHENTICATED, 'The first message must be {"type":"auth","token":"..."}.');
                return;
            }
            this.send(client, { type: 'error', message: 'Messages must be JSON objects with a type, for example {"type":"select",...}.' });
            return;
        }

        if (!client.ready) {
            if (client.authenticating) return;
            if (message.type !== 'auth' || typeof message.token !== 'string') {
                this.reject(client, CLOSE_UNAUTHENTICATED, 'The first message must be {"type":"auth","token":"..."}.');
                return;
            }
            void this.authenticate(client, message.token);
            return;
        }

        if (message.type === 'select') {
            this.select(client, message);
            return;
        }
        this.send(client, { type: 'error', message: `Unknown message type "${message.type}"; the client may send auth and select.` });
    }

    // NOTE: the token is checked once per connection, so an open socket outlives the token's
    // expiry until it reconnects; Principal carries no expiry time to check against.
    private async authenticate(client: Client, token: string): Promise<void> {
        clearTimeout(client.authTimer);
        client.authenticating = true;

        let principal = ANONYMOUS;
        const verifyToken = this.options.verifyToken;
        if (verifyToken) {
            if (!token) {
                this.reject(client, CLOSE_UNAUTHENTICATED, 'No token; sign in to get one.');
                return;
            }
            try {
                principal = await verifyToken(token);
            } catch (err) {
                this.options.log.debug(`dashboard token rejected: ${toError(err).message}`);
                this.reject(client, CLOSE_UNAUTHENTICATED, `Invalid token: ${toError(err).message}`);
                return;
            }
        }
        const decision = decideAccess(principal);
        if (!decision.allowed) {
            this.options.log.debug(`dashboard access denied to ${principal.sub}: ${decision.reason}`);
            this.reject(client, CLOSE_FORBIDDEN, decision.reason);
            return;
        }

        try {
            await this.options.refreshAssets?.();
        } catch (err) {
            this.options.log.warn(`Refreshing the asset registry failed: ${toError(err).message}; the dashboard keeps the assets loaded before.`);
        }
        if (client.socket.readyState !== WebSocket.OPEN || this.closed) return;

        // Pushing the pending changes to the other clients first means that the next push holds
        // only changes made after this client's snapshot.
        this.push();
        client.principal = { sub: principal.sub, roles: principal.roles, operator: principal.operator };
        client.scope = decision.scope;
        client.ready = true;
        client.authenticating = false;
        this.sendHello(client);
        this.sendState(client);
        this.startHeartbeat();
        this.options.log.debug(`dashboard client connected: ${principal.sub}`);
    }

    private select(client: Client, message: Record<string, unknown>): void {
        const { widget, asset_id: assetId, metric } = message;
        if (typeof widget !== 'string' || typeof assetId !== 'string' || typeof metric !== 'string') {
            this.send(client, { type: 'error', message: 'A select message needs string fields widget, asset_id and metric.' });
            return;
        }
        const store = this.widgets.get(widget);
        if (!store?.select) {
            this.send(client, { type: 'error', message: `Widget "${widget}" does not exist or has no series to select.` });
            return;
        }
        const scope = client.scope as Scope;
        if (!this.options.registry.visible(scope, assetId)) {
            this.send(client, { type: 'error', message: `Asset "${assetId}" does not exist or belongs to another operator.` });
            return;
        }
        client.selections.set(widget, { asset_id: assetId, metric });
        const series = store.select(this.view(client, widget), assetId, metric) ?? { asset_id: assetId, metric, unit: '', points: [] };
        this.send(client, { type: 'series', widget, data: series });
    }

    /** Sends each ready client one frame with its share of the changes since the previous push. */
    private push(): void {
        const producers: [string, DeltaProducer][] = [];
        for (const store of this.widgets.values()) {
            const produce = store.drain(this.options.registry);
            if (produce) producers.push([store.config.id, produce]);
        }
        const maxBuffered = this.options.maxBufferedBytes ?? 1024 * 1024;

        for (const client of this.clients) {
            if (!client.ready || client.socket.readyState !== WebSocket.OPEN) continue;
            if (client.socket.bufferedAmount > maxBuffered) {
                client.resync = true;
                continue;
            }
            if (client.layoutVersion !== this.layoutVersion) {
                this.sendHello(client);
                this.sendState(client);
                continue;
            }
            if (client.resync) {
                client.resync = false;
                this.sendState(client);
                continue;
            }
            const updates: { widget: string; data: unknown }[] = [];
            for (const [widget, produce] of producers) {
                const data = produce(this.view(client, widget));
                if (data !== undefined) updates.push({ widget, data });
            }
            if (updates.length > 0) this.send(client, { type: 'update', updates });
        }
    }

    private view(client: Client, widget: string): WidgetView {
        return { scope: client.scope as Scope, registry: this.options.registry, selection: client.selections.get(widget) };
    }

    private sendHello(client: Client): void {
        client.layoutVersion = this.layoutVersion;
        this.send(client, {
            type: 'hello',
            principal: client.principal as Principal,
            auth: this.options.verifyToken !== undefined,
            title: this.options.title,
            apiBase: this.options.apiBase,
            widgets: [...this.widgets.values()].map((store) => store.config),
        });
    }

    private sendState(client: Client): void {
        const widgets = [...this.widgets.values()].map((store) => ({
            widget: store.config.id,
            data: store.snapshot(this.view(client, store.config.id)),
        }));
        this.send(client, { type: 'state', widgets });
    }

    private send(client: Client, message: ServerMessage): void {
        if (client.socket.readyState !== WebSocket.OPEN) return;
        client.socket.send(JSON.stringify(message));
    }

    private reject(client: Client, code: number, reason: string): void {
        client.authenticating = false;
        if (client.socket.readyState === WebSocket.OPEN) client.socket.close(code, truncateReason(reason));
    }

    private startHeartbeat(): void {
        if (this.heartbeatTimer) return;
        this.heartbeatTimer = setInterval(() => {
            for (const client of this.clients) {
                if (!client.alive) {
                    client.socket.terminate();
                    continue;
                }
                client.alive = false;
                client.socket.ping();
            }
        }, this.options.heartbeatMs ?? 30_000);
        this.heartbeatTimer.unref();
    }
}
