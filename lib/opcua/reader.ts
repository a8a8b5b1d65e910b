// OPC UA reader: one subscription to a list of nodes on a session (session.ts), reporting each
// data change as a point. The session belongs to an ul-opcua-endpoint config node and is shared
// with other readers, or belongs to the reader alone (`OpcUaReader.withOwnSession`).
//
// Reader states follow the session: disconnected, connecting, reconnecting, and connected once the
// session is open. The reader is subscribed from its subscription's first sign of activity, and
// after a repair of the connection from the first keepalive or data change that follows it. When
// the subscription shows no activity for longer than its stall timeout while the session counts
// as connected, the reader asks the session to rebuild the connection.
import type { ClientSession, ClientSubscription, DataValue } from 'node-opcua';

import { toError } from '../errors';
import type { OpcUaReaderSettings, OpcUaSubscriptionSettings } from './config';
import { loadOpcUa } from './load';
import { toPoint, type OpcUaPoint } from './point';
import { OpcUaSession, backoffDelay, settle, type SessionState, type SessionTiming, type SessionUser } from './session';

export type ReaderState = 'disconnected' | 'connecting' | 'connected' | 'subscribed' | 'reconnecting';

export interface ReaderTiming extends SessionTiming {
    /** Maximum quiet time of a subscription before the reader asks for a rebuild. Default 3 keepalive periods, at least 5,000. */
    stallTimeoutMs?: number;
}

export interface ReaderEvents {
    onPoint: (point: OpcUaPoint) => void;
    onState?: (state: ReaderState, reason?: string) => void;
    /** Problems worth a log line: a monitored item the server rejected, a subscription that failed. */
    onWarning?: (message: string) => void;
}

/** Keepalive count requested for the subscription: a keepalive after this many empty publishing intervals. */
const MAX_KEEPALIVE_COUNT = 10;
const LIFETIME_COUNT = 6 * MAX_KEEPALIVE_COUNT;

/**
 * Failures of a service call that mean the session itself is gone, so only a new connection helps.
 * NOTE: matched on the error message, which names the status code in node-opcua 2.182; no test
 * covers this path.
 */
const SESSION_GONE = /BadSession|BadSecureChannel|BadConnectionClosed/;

export class OpcUaReader implements SessionUser {
    private currentState: ReaderState = 'disconnected';
    private started = false;
    private stopping = false;
    private sessionState: SessionState = 'disconnected';
    /** The session that the subscription lives on, set from `sessionOpened` to `sessionClosing`. */
    private session: ClientSession | undefined;
    private subscription: ClientSubscription | undefined;
    private lastActivity = 0;
    private attempt = 0;
    private supervisor: NodeJS.Timeout | undefined;
    private retry: NodeJS.Timeout | undefined;
    private readonly timing: Required<ReaderTiming>;

    constructor(
        private readonly source: OpcUaSession,
        private readonly settings: OpcUaSubscriptionSettings,
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

    /** Creates a reader with a session of its own, which closes when the reader stops. */
    static withOwnSession(settings: OpcUaReaderSettings, events: ReaderEvents, timing: ReaderTiming = {}): OpcUaReader {
        const session = new OpcUaSession(settings, { onWarning: events.onWarning }, timing);
        return new OpcUaReader(session, settings, events, timing);
    }

    get state(): ReaderState {
        return this.currentState;
    }

    /** Attaches to the session, which connects in the background; connection problems are retried, not thrown. */
    start(): void {
        if (this.started) return;
        this.started = true;
        this.stopping = false;
        this.source.attach(this);
    }

    /**
     * Terminates the subscription and detaches from the session, which closes when this was its last
     * reader. Each step waits at most the close step timeout, so stop finishes within about three
     * times that (9 s by default) for the last reader, and within one for any other.
     */
    async stop(): Promise<void> {
        if (!this.started) return;
        this.started = false;
        this.stopping = true;
        const session = this.session;
        if (session) await settle(this.sessionClosing(session), this.timing.closeStepTimeoutMs);
        await this.source.detach(this);
        this.setState('disconnected');
    }

    sessionStateChanged(state: SessionState, reason?: string): void {
        this.sessionState = state;
        if (this.stopping) return;
        // A connection that was just opened or repaired gets a full stall timeout to show activity.
        if (state === 'connected') this.lastActivity = Date.now();
        this.setState(state, reason);
    }

    sessionOpened(session: ClientSession): void {
        if (this.stopping) return;
        this.session = session;
        this.attempt = 0;
        void this.subscribe(session);
    }

    async sessionClosing(session: ClientSession): Promise<void> {
        if (this.session !== session) return;
        const subscription = this.subscription;
        this.session = undefined;
        this.subscription = undefined;
        this.clearTimers();
        if (subscription && this.sessionState === 'connected') await subscription.terminate();
    }

    private async subscribe(session: ClientSession): Promise<void> {
        let subscription: ClientSubscription;
        try {
            subscription = await session.createSubscription2({
                requestedPublishingInterval: this.settings.publishingIntervalMs,
                requestedMaxKeepAliveCount: MAX_KEEPALIVE_COUNT,
                requestedLifetimeCount: LIFETIME_COUNT,
                maxNotificationsPerPublish: 0,
                publishingEnabled: true,
                priority: 10,
            });
        } catch (err) {
            this.subscribeFailed(session, toError(err).message);
            return;
        }
        if (this.session !== session || this.stopping) {
            void settle(subscription.terminate(), this.timing.closeStepTimeoutMs);
            return;
        }
        this.subscription = subscription;
        this.attempt = 0;
        subscription.on('keepalive', () => this.markActive(subscription));
        subscription.on('terminated', () => this.subscriptionEnded(session, subscription));
        this.monitor(subscription);
        this.markActive(subscription);
        this.superviseStall(session);
    }

    private monitor(subscription: ClientSubscription): void {
        const opcua = loadOpcUa();
        for (const item of this.settings.items) {
            const monitored = opcua.ClientMonitoredItem.create(
                subscription,
                { nodeId: item.nodeId, attributeId: opcua.AttributeIds.Value },
                { samplingInterval: this.settings.samplingIntervalMs, discardOldest: true, queueSize: 100 },
                opcua.TimestampsToReturn.Both,
            );
            monitored.on('changed', (dataValue: DataValue) => {
                if (subscription !== this.subscription) return;
                this.markActive(subscription);
                this.events.onPoint(toPoint(item.tag, dataValue));
            });
            monitored.on('err', (message: string) => {
                this.events.onWarning?.(`OPC UA node ${item.nodeId} (tag ${item.tag}) cannot be monitored: ${message}; check the node id on the server.`);
            });
        }
    }

    /**
     * Retries a subscription that could not be created on the same session, with backoff, so that
     * a problem of this reader leaves the other readers of the session alone. A failure that means
     * the session is gone asks the session for a new connection instead.
     */
    private subscribeFailed(session: ClientSession, message: string): void {
        if (this.session !== session || this.stopping) return;
        if (SESSION_GONE.test(message)) {
            this.source.rebuild(session, `the subscription could not be created: ${message}`);
            return;
        }
        const waitMs = this.scheduleSubscribe(session);
        this.events.onWarning?.(`OPC UA subscription on ${this.source.endpoint} could not be created: ${message}; retrying in ${waitMs} ms.`);
    }

    /** Creates a new subscription on the same session after the server ended the previous one, when its lifetime ran out, for example. */
    private subscriptionEnded(session: ClientSession, subscription: ClientSubscription): void {
        if (this.subscription !== subscription || this.stopping) return;
        this.subscription = undefined;
        this.clearTimers();
        if (this.sessionState === 'connected') this.setState('connected');
        const waitMs = this.scheduleSubscribe(session);
        this.events.onWarning?.(`OPC UA server ${this.source.endpoint} ended the subscription of ${this.settings.items.length} nodes; subscribing again in ${waitMs} ms.`);
    }

    /** Creates the subscription again after a backoff delay; returns the delay in milliseconds. */
    private scheduleSubscribe(session: ClientSession): number {
        const waitMs = Math.round(backoffDelay(this.attempt++, this.timing.initialDelayMs, this.timing.maxDelayMs));
        clearTimeout(this.retry);
        this.retry = setTimeout(() => {
            this.retry = undefined;
            if (this.session === session && !this.stopping) void this.subscribe(session);
        }, waitMs);
        return waitMs;
    }

    private superviseStall(session: ClientSession): void {
        const stallMs = this.timing.stallTimeoutMs;
        const checkEveryMs = Math.max(250, Math.min(1000, stallMs / 4));
        clearInterval(this.supervisor);
        this.supervisor = setInterval(() => {
            if (this.sessionState !== 'connected' || !this.subscription) return;
            if (Date.now() - this.lastActivity > stallMs) {
                this.source.rebuild(session, `no data change or keepalive within ${stallMs} ms`);
            }
        }, checkEveryMs);
    }

    private markActive(subscription: ClientSubscription): void {
        if (subscription !== this.subscription) return;
        this.lastActivity = Date.now();
        if (this.currentState === 'connected') this.setState('subscribed');
    }

    private clearTimers(): void {
        clearInterval(this.supervisor);
        clearTimeout(this.retry);
        this.supervisor = undefined;
        this.retry = undefined;
    }

    private setState(state: ReaderState, reason?: string): void {
        if (state === this.currentState) return;
        this.currentState = state;
        this.events.onState?.(state, reason);
    }
}
