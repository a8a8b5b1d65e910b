// One OPC UA client session that several readers share. Each reader keeps its own subscription
// on it (see reader.ts), so each reader keeps its own publishing interval, and a subscription
// the server ends affects only the reader that owns it.
//
// Session states: disconnected → connecting → connected, and reconnecting while node-opcua repairs
// a broken connection (it reopens the secure channel, then reactivates or re-creates the session
// with every subscription and monitored item on it). The session replaces the client in three
// cases. A repair takes longer than the reconnect timeout. The server closes the session. A reader
// reports that its subscription went quiet: publish requests belong to the session, so one quiet
// subscription means that the session no longer delivers.
import type { ClientSession, OPCUAClient, UserIdentityInfo } from 'node-opcua';

import { toError } from '../errors';
import type { OpcUaConnectionSettings } from './config';
import { loadOpcUa } from './load';

export type SessionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/** A reader of a shared session; it keeps one subscription on each session that the client opens. */
export interface SessionUser {
    /** Called on each state change, and with the current state when the user attaches. */
    sessionStateChanged(state: SessionState, reason?: string): void;
    /** Called once per session, when it is connected: the user creates its subscription on it. */
    sessionOpened(session: ClientSession): void;
    /** Called before the session closes: the user forgets its subscription and may terminate it. */
    sessionClosing(session: ClientSession): Promise<void>;
}

export interface SessionEvents {
    onState?: (state: SessionState, reason?: string) => void;
    /** Problems worth a log line: a rebuild of the connection and its cause. */
    onWarning?: (message: string) => void;
}

export interface SessionTiming {
    /** First wait before a reconnection attempt, in milliseconds. Default 500. */
    initialDelayMs?: number;
    /** Maximum wait between reconnection attempts, in milliseconds. Default 10,000. */
    maxDelayMs?: number;
    /** Maximum time node-opcua may spend repairing a connection before the session rebuilds it. Default 60,000. */
    reconnectTimeoutMs?: number;
    /** Maximum wait for each closing step (subscriptions, session, connection). Default 3,000. */
    closeStepTimeoutMs?: number;
}

/** Resolves with the promise's outcome, or after `ms` when it takes longer; never rejects. */
export async function settle(promise: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
}

/** Exponential backoff with jitter: between half and all of `initialMs × 2^attempt`, capped at `maxMs`. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
    const base = Math.min(maxMs, initialMs * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
}

/** Thrown out of a connection step when the connection was dropped while the step ran. */
class Dropped extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}

/** One client with its session, from connect to teardown. */
interface Connection {
    client: OPCUAClient;
    session?: ClientSession;
    /** Users that received this connection's session. */
    opened: Set<SessionUser>;
    /** Resolves when the connection should be dropped, with the reason. */
    lost: Promise<string>;
    drop: (reason: string) => void;
}

export class OpcUaSession {
    private currentState: SessionState = 'disconnected';
    private readonly users = new Set<SessionUser>();
    private closed = false;
    private stopping = false;
    private running: Promise<void> | undefined;
    private connection: Connection | undefined;
    private reconnectingSince: number | undefined;
    private wake: (() => void) | undefined;
    private readonly timing: Required<SessionTiming>;

    constructor(
        private readonly settings: OpcUaConnectionSettings,
        private readonly events: SessionEvents = {},
        timing: SessionTiming = {},
    ) {
        this.timing = {
            initialDelayMs: timing.initialDelayMs ?? 500,
            maxDelayMs: timing.maxDelayMs ?? 10_000,
            reconnectTimeoutMs: timing.reconnectTimeoutMs ?? 60_000,
            closeStepTimeoutMs: timing.closeStepTimeoutMs ?? 3000,
        };
    }

    get state(): SessionState {
        return this.currentState;
    }

    get endpoint(): string {
        return this.settings.endpoint;
    }

    /** Number of attached users. */
    get userCount(): number {
        return this.users.size;
    }

    /**
     * Adds a user. The first user starts the connection in the background; connection problems are
     * retried, not thrown. The user receives the current state at once, and the session when it is
     * connected.
     */
    attach(user: SessionUser): void {
        if (this.closed) {
            user.sessionStateChanged('disconnected', 'the endpoint is closed');
            return;
        }
        if (this.users.has(user)) return;
        this.users.add(user);
        user.sessionStateChanged(this.currentState);
        this.openFor(user);
        this.ensureRunning();
    }

    /**
     * Removes a user, which has terminated its own subscription before. When the last user leaves,
     * the session closes, and the next user to attach opens a new one.
     */
    async detach(user: SessionUser): Promise<void> {
        if (!this.users.delete(user)) return;
        this.connection?.opened.delete(user);
        if (this.users.size > 0) return;
        await this.halt();
        // A user may have attached while the session closed.
        this.ensureRunning();
    }

    /** Replaces the client when `session` is still the current session; a user calls it when its subscription went quiet. */
    rebuild(session: ClientSession, reason: string): void {
        if (this.connection?.session === session) this.connection.drop(reason);
    }

    /**
     * Closes the session for good, as the config node does on redeploy. Each closing step waits at
     * most the close step timeout, so this finishes within about three times that (9 s by default).
     */
    async close(): Promise<void> {
        this.closed = true;
        await this.halt();
    }

    private ensureRunning(): void {
        if (this.closed || this.running || this.users.size === 0) return;
        this.stopping = false;
        this.running = this.run();
    }

    private async halt(): Promise<void> {
        const running = this.running;
        if (!running) return;
        this.stopping = true;
        this.wake?.();
        this.connection?.drop('stopped');
        await running;
        if (this.running === running) this.running = undefined;
    }

    private async run(): Promise<void> {
        let attempt = 0;
        while (!this.stopping) {
            let reason: string;
            try {
                const connection = this.createConnection();
                this.connection = connection;
                try {
                    reason = await this.connect(connection);
                    attempt = 0;
                } catch (err) {
                    reason = err instanceof Dropped ? err.reason : toError(err).message;
                }
                await this.teardown(connection);
            } catch (err) {
                reason = `the client could not be created: ${toError(err).message}`;
            }
            this.connection = undefined;
            if (this.stopping) break;
            this.setState('disconnected', reason);
            this.events.onWarning?.(`OPC UA connection to ${this.settings.endpoint} is being rebuilt: ${reason}`);
            await this.delay(backoffDelay(attempt++, this.timing.initialDelayMs, this.timing.maxDelayMs));
        }
        this.setState('disconnected');
    }

    private createConnection(): Connection {
        const opcua = loadOpcUa();
        const certificateManager = new opcua.OPCUACertificateManager({
            rootFolder: this.settings.pkiFolder,
            automaticallyAcceptUnknownCertificate: this.settings.acceptUnknownCertificate,
        });
        const client = opcua.OPCUAClient.create({
            applicationName: 'UpstreamLive-Edge',
            endpointMustExist: false,
            securityMode: opcua.MessageSecurityMode[this.settings.securityMode],
            securityPolicy: opcua.SecurityPolicy[this.settings.securityPolicy],
            clientCertificateManager: certificateManager,
            ...(this.settings.certificateFile ? { certificateFile: this.settings.certificateFile, privateKeyFile: this.settings.privateKeyFile } : {}),
            connectionStrategy: { initialDelay: this.timing.initialDelayMs, maxDelay: this.timing.maxDelayMs, maxRetry: -1 },
            requestedSessionTimeout: 60_000,
        });
        let drop: (reason: string) => void = () => undefined;
        const lost = new Promise<string>((resolve) => (drop = resolve));
        const connection: Connection = { client, opened: new Set(), lost, drop };

        // Events of a client that has been replaced no longer count.
        const current = () => this.connection === connection && !this.stopping;
        client.on('connection_lost', () => current() && this.enterReconnecting());
        client.on('start_reconnection', () => current() && this.enterReconnecting());
        client.on('connection_reestablished', () => {
            if (!current()) return;
            this.reconnectingSince = undefined;
            if (!connection.session) {
                this.setState('connecting');
                return;
            }
            this.setState('connected');
            this.openAll();
        });
        client.on('after_reconnection', (err) => {
            if (err) connection.drop(`reconnection failed: ${err.message}`);
        });
        return connection;
    }

    private userIdentity(): UserIdentityInfo | undefined {
        const user = this.settings.user;
        if (!user) return undefined;
        return { type: loadOpcUa().UserTokenType.UserName, userName: user.userName, password: user.password };
    }

    /** Connects and opens the session, then waits until the connection must be dropped; returns why. */
    private async connect(connection: Connection): Promise<string> {
        // Each step gives up when the connection is dropped meanwhile, on stop for example. The
        // step's own promise may still settle later, so it gets a handler that ignores it.
        const step = <T>(promise: Promise<T>): Promise<T> => {
            promise.catch(() => undefined);
            return Promise.race([promise, connection.lost.then((reason) => Promise.reject(new Dropped(reason)))]);
        };
        this.setState('connecting');
        await step(connection.client.connect(this.settings.endpoint));
        const identity = this.userIdentity();
        const session = await step(identity ? connection.client.createSession(identity) : connection.client.createSession());
        connection.session = session;
        session.on('session_closed', () => connection.drop('the server closed the session'));
        this.setState('connected');
        this.openAll();
        return this.supervise(connection);
    }

    /** Waits for a reason to drop the connection: an event, a user's report, or a repair that takes too long. */
    private async supervise(connection: Connection): Promise<string> {
        const checkEveryMs = Math.max(250, Math.min(1000, this.timing.reconnectTimeoutMs / 4));
        const timer = setInterval(() => {
            if (this.reconnectingSince !== undefined && Date.now() - this.reconnectingSince > this.timing.reconnectTimeoutMs) {
                connection.drop(`no reconnection within ${this.timing.reconnectTimeoutMs} ms`);
            }
        }, checkEveryMs);
        try {
            return await connection.lost;
        } finally {
            clearInterval(timer);
        }
    }

    private openFor(user: SessionUser): void {
        const connection = this.connection;
        if (this.currentState !== 'connected' || !connection?.session || connection.opened.has(user)) return;
        connection.opened.add(user);
        user.sessionOpened(connection.session);
    }

    private openAll(): void {
        for (const user of this.users) this.openFor(user);
    }

    private enterReconnecting(): void {
        this.reconnectingSince ??= Date.now();
        this.setState('reconnecting');
    }

    /**
     * Lets the users end their subscriptions, then closes the session and the client, each step
     * bounded in time. Over a broken connection only the client is closed, since requests to the
     * server would wait for the timeout.
     */
    private async teardown(connection: Connection): Promise<void> {
        const step = this.timing.closeStepTimeoutMs;
        const reachable = this.currentState === 'connected';
        this.reconnectingSince = undefined;
        const session = connection.session;
        if (session) {
            const users = [...connection.opened];
            connection.opened.clear();
            await Promise.all(users.map((user) => settle(user.sessionClosing(session), step)));
            if (reachable) await settle(session.close(), step);
        }
        await settle(connection.client.disconnect(), step);
    }

    private delay(ms: number): Promise<void> {
        return new Promise((resolve) => {
            const timer = setTimeout(done, ms);
            function done() {
                clearTimeout(timer);
                resolve();
            }
            this.wake = done;
        });
    }

    private setState(state: SessionState, reason?: string): void {
        if (state === this.currentState) return;
        this.currentState = state;
        this.events.onState?.(state, reason);
        for (const user of [...this.users]) user.sessionStateChanged(state, reason);
    }
}
