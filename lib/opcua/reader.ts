// OPC UA client that subscribes to a list of nodes and reports each data change as a point.
//
// Connection states: disconnected → connecting → connected → subscribed, and reconnecting while
// node-opcua repairs a broken connection (it reopens the secure channel, then restores or
// re-creates the session with its subscription and monitored items). The reader adds its own
// check on top and replaces the client in three cases. The subscription shows no activity (no
// data change and no keepalive) for longer than its stall timeout. A repair takes longer than the
// reconnect timeout. The server closes the session or the subscription.
import type { ClientSession, ClientSubscription, DataValue, OPCUAClient } from 'node-opcua';

import { toError } from '../errors';
import type { OpcUaReaderSettings } from './config';
import { loadOpcUa } from './load';
import { toPoint, type OpcUaPoint } from './point';

export type ReaderState = 'disconnected' | 'connecting' | 'connected' | 'subscribed' | 'reconnecting';

export interface ReaderTiming {
    /** First wait before a reconnection attempt, in milliseconds. Default 500. */
    initialDelayMs?: number;
    /** Maximum wait between reconnection attempts, in milliseconds. Default 10,000. */
    maxDelayMs?: number;
    /** Maximum time node-opcua may spend repairing a connection before the reader rebuilds it. Default 60,000. */
    reconnectTimeoutMs?: number;
    /** Maximum quiet time of a subscription before the reader rebuilds it. Default 3 keepalive periods, at least 5,000. */
    stallTimeoutMs?: number;
    /** Maximum wait for each closing step (subscription, session, connection) on stop. Default 3,000. */
    closeStepTimeoutMs?: number;
}

export interface ReaderEvents {
    onPoint: (point: OpcUaPoint) => void;
    onState?: (state: ReaderState, reason?: string) => void;
    /** Problems worth a log line: a monitored item the server rejected, a rebuild and its cause. */
    onWarning?: (message: string) => void;
}

/** Keepalive count requested for the subscription: a keepalive after this many empty publishing intervals. */
const MAX_KEEPALIVE_COUNT = 10;
const LIFETIME_COUNT = 6 * MAX_KEEPALIVE_COUNT;

/** Resolves with the promise's outcome, or after `ms` when it takes longer; never rejects. */
async function settle(promise: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
}

/** Thrown out of a connection step when the connection was dropped while the step ran. */
class Dropped extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}

/** One client with its session and subscription, from connect to teardown. */
interface Connection {
    client: OPCUAClient;
    session?: ClientSession;
    subscription?: ClientSubscription;
    /** Resolves when the reader should drop this connection, with the reason. */
    lost: Promise<string>;
    drop: (reason: string) => void;
}

export class OpcUaReader {
    private currentState: ReaderState = 'disconnected';
    private stopping = false;
    private running: Promise<void> | undefined;
    private connection: Connection | undefined;
    private lastActivity = 0;
    private reconnectingSince: number | undefined;
    private wake: (() => void) | undefined;
    private readonly timing: Required<ReaderTiming>;

    constructor(
        private readonly settings: OpcUaReaderSettings,
        private readonly events: ReaderEvents,
        timing: ReaderTiming = {},
    ) {
        const keepaliveMs = Math.max(settings.publishingIntervalMs, 100) * MAX_KEEPALIVE_COUNT;
        this.timing = {
            initialDelayMs: timing.initialDelayMs ?? 500,
            maxDelayMs: timing.maxDelayMs ?? 10_000,
            reconnectTimeoutMs: timing.reconnectTimeoutMs ?? 60_000,
            stallTimeoutMs: timing.stallTimeoutMs ?? Math.max(5000, 3 * keepaliveMs),
            closeStepTimeoutMs: timing.closeStepTimeoutMs ?? 3000,
        };
    }

    get state(): ReaderState {
        return this.currentState;
    }

    /** Starts connecting in the background; connection problems are retried, not thrown. */
    start(): void {
        if (this.running) return;
        this.stopping = false;
        this.running = this.run();
    }

    /**
     * Closes subscription, session and connection. Each step waits at most the close step timeout,
     * so stop finishes within about three times that (9 s by default).
     */
    async stop(): Promise<void> {
        this.stopping = true;
        this.wake?.();
        this.connection?.drop('stopped');
        await this.running;
        this.running = undefined;
        this.setState('disconnected');
    }

    private async run(): Promise<void> {
        let attempt = 0;
        while (!this.stopping) {
            let reason: string;
            try {
                const connection = this.createConnection();
                this.connection = connection;
                try {
                    reason = await this.connectAndSubscribe(connection);
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
            await this.delay(this.backoff(attempt++));
        }
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
            connectionStrategy: { initialDelay: this.timing.initialDelayMs, maxDelay: this.timing.maxDelayMs, maxRetry: -1 },
            requestedSessionTimeout: 60_000,
        });
        let drop: (reason: string) => void = () => undefined;
        const lost = new Promise<string>((resolve) => (drop = resolve));
        const connection: Connection = { client, lost, drop };

        client.on('connection_lost', () => this.enterReconnecting());
        client.on('start_reconnection', () => this.enterReconnecting());
        client.on('connection_reestablished', () => {
            this.reconnectingSince = undefined;
            // The subscription counts as back only when it shows activity again.
            this.setState('connected');
        });
        client.on('after_reconnection', (err) => {
            if (err) connection.drop(`reconnection failed: ${err.message}`);
        });
        return connection;
    }

    /** Connects, subscribes and then waits until the connection must be dropped; returns why. */
    private async connectAndSubscribe(connection: Connection): Promise<string> {
        const opcua = loadOpcUa();
        // Each step gives up when the connection is dropped meanwhile, on stop for example. The
        // step's own promise may still settle later, so it gets a handler that ignores it.
        const step = <T>(promise: Promise<T>): Promise<T> => {
            promise.catch(() => undefined);
            return Promise.race([promise, connection.lost.then((reason) => Promise.reject(new Dropped(reason)))]);
        };
        this.setState('connecting');
        await step(connection.client.connect(this.settings.endpoint));
        this.setState('connected');

        const session = await step(connection.client.createSession());
        connection.session = session;
        session.on('session_closed', () => connection.drop('the server closed the session'));

        const subscription = await step(session.createSubscription2({
            requestedPublishingInterval: this.settings.publishingIntervalMs,
            requestedMaxKeepAliveCount: MAX_KEEPALIVE_COUNT,
            requestedLifetimeCount: LIFETIME_COUNT,
            maxNotificationsPerPublish: 0,
            publishingEnabled: true,
            priority: 10,
        }));
        connection.subscription = subscription;
        subscription.on('keepalive', () => this.markActive());
        subscription.on('terminated', () => connection.drop('the subscription was terminated'));

        for (const item of this.settings.items) {
            const monitored = opcua.ClientMonitoredItem.create(
                subscription,
                { nodeId: item.nodeId, attributeId: opcua.AttributeIds.Value },
                { samplingInterval: this.settings.samplingIntervalMs, discardOldest: true, queueSize: 100 },
                opcua.TimestampsToReturn.Both,
            );
            monitored.on('changed', (dataValue: DataValue) => {
                this.markActive();
                this.events.onPoint(toPoint(item.tag, dataValue));
            });
            monitored.on('err', (message: string) => {
                this.events.onWarning?.(`OPC UA node ${item.nodeId} (tag ${item.tag}) cannot be monitored: ${message}; check the node id on the server.`);
            });
        }
        this.markActive();
        return this.supervise(connection);
    }

    /** Waits for a reason to drop the connection: an event, or the reader's own stall and repair checks. */
    private async supervise(connection: Connection): Promise<string> {
        const checkEveryMs = Math.max(250, Math.min(1000, this.timing.stallTimeoutMs / 4));
        const timer = setInterval(() => {
            const now = Date.now();
            if (this.reconnectingSince !== undefined) {
                if (now - this.reconnectingSince > this.timing.reconnectTimeoutMs) connection.drop(`no reconnection within ${this.timing.reconnectTimeoutMs} ms`);
                return;
            }
            if (now - this.lastActivity > this.timing.stallTimeoutMs) connection.drop(`no data change or keepalive within ${this.timing.stallTimeoutMs} ms`);
        }, checkEveryMs);
        try {
            return await connection.lost;
        } finally {
            clearInterval(timer);
        }
    }

    private markActive(): void {
        this.lastActivity = Date.now();
        if (this.currentState === 'connected' || this.currentState === 'reconnecting') this.reconnectingSince = undefined;
        if (this.currentState === 'connected') this.setState('subscribed');
    }

    private enterReconnecting(): void {
        if (this.stopping) return;
        this.reconnectingSince ??= Date.now();
        this.setState('reconnecting');
    }

    /** Closes subscription, session and client, each step bounded in time; errors are irrelevant here. */
    private async teardown(connection: Connection): Promise<void> {
        const step = this.timing.closeStepTimeoutMs;
        this.reconnectingSince = undefined;
        if (connection.subscription) await settle(connection.subscription.terminate(), step);
        if (connection.session) await settle(connection.session.close(), step);
        await settle(connection.client.disconnect(), step);
    }

    /** Exponential backoff with jitter, capped at the maximum delay. */
    private backoff(attempt: number): number {
        const base = Math.min(this.timing.maxDelayMs, this.timing.initialDelayMs * 2 ** attempt);
        return base / 2 + Math.random() * (base / 2);
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

    private setState(state: ReaderState, reason?: string): void {
        if (state === this.currentState) return;
        this.currentState = state;
        this.events.onState?.(state, reason);
    }
}
