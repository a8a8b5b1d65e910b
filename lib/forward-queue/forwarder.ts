// Publishes the records of a forward queue to an MQTT broker one at a time, QoS 1, in queue
// order: a record is acknowledged in the queue only after the broker's PUBACK, and the next one is
// published only then. Delivery is at least once: a record published but not acknowledged when
// the link or the process fails is published again.
import type { IClientOptions, MqttClient } from 'mqtt';

import { ServiceError, toError } from '../errors';
import { originalPayload, toStoredMessage, wirePayload, type OutgoingMessage, type StoredMessage } from './message';
import type { ForwardQueue, QueueRecord } from './queue';

export type ForwarderState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface ForwarderOptions {
    queue: ForwardQueue;
    /** Broker URL, for example mqtt://127.0.0.1:1883 or mqtts://broker.example:8883. */
    brokerUrl: string;
    clientId: string;
    /** Broker account; empty for a broker without accounts. */
    username?: string;
    password?: string;
    /** TLS for mqtts:// brokers: trusted CA certificates, and a client certificate and key for mutual TLS. */
    tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
    /** Wait between reconnection attempts, in milliseconds. Default 1000. */
    reconnectPeriodMs?: number;
    /** MQTT keepalive, in seconds. Default 30. */
    keepaliveS?: number;
    /** Called after the PUBACK of each record, with the message as it was handed over. */
    onDelivered?: (record: QueueRecord, message: OutgoingMessage) => void;
    onStateChange?: (state: ForwarderState) => void;
    /** Connection errors; the client keeps retrying after each. */
    onError?: (error: Error) => void;
}

/** Maximum wait for the MQTT client to close on stop, in milliseconds. */
const STOP_TIMEOUT_MS = 5000;

export class MqttForwarder {
    private client: MqttClient | undefined;
    private inFlight: number | undefined;
    private retryTimer: NodeJS.Timeout | undefined;
    private currentState: ForwarderState = 'disconnected';

    constructor(private readonly options: ForwarderOptions) {}

    get state(): ForwarderState {
        return this.currentState;
    }

    /** Connects to the broker and starts publishing queued records; a persistent session (clean off). */
    start(): void {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mqtt = require('mqtt') as typeof import('mqtt');
        const clientOptions: IClientOptions = {
            clientId: this.options.clientId,
            clean: false,
            reconnectPeriod: this.options.reconnectPeriodMs ?? 1000,
            connectTimeout: 10_000,
            keepalive: this.options.keepaliveS ?? 30,
            ...(this.options.username ? { username: this.options.username, password: this.options.password ?? '' } : {}),
            ...(this.options.tls ? { ...this.options.tls, rejectUnauthorized: true } : {}),
        };
        this.setState('connecting');
        const client = mqtt.connect(this.options.brokerUrl, clientOptions);
        this.client = client;
        client.on('connect', () => {
            this.setState('connected');
            this.pump();
        });
        client.on('reconnect', () => this.setState('connecting'));
        client.on('offline', () => this.setState('disconnected'));
        client.on('close', () => {
            if (this.currentState !== 'stopped') this.setState('disconnected');
        });
        client.on('error', (err) => this.options.onError?.(err));
    }

    /** Appends messages to the queue (flushed to disk as the queue is set) and publishes them when their turn comes. */
    async enqueue(messages: { topic?: unknown; payload?: unknown }[]): Promise<QueueRecord[]> {
        const stored = messages.map((message) => toStoredMessage(message));
        const records = await this.options.queue.append(stored);
        this.pump();
        return records;
    }

    /** Stops publishing and closes the connection. A record in flight stays queued and is published again next time. */
    async stop(): Promise<void> {
        this.setState('stopped');
        if (this.retryTimer) clearTimeout(this.retryTimer);
        const client = this.client;
        this.client = undefined;
        if (!client) return;
        await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
            client.end(true, {}, () => {
                clearTimeout(timer);
                resolve();
            });
        });
    }

    /** Publishes the head of the queue when connected and nothing is in flight. */
    private pump(): void {
        const client = this.client;
        if (!client || this.inFlight !== undefined || this.currentState !== 'connected') return;
        let record: QueueRecord | undefined;
        try {
            record = this.options.queue.peek();
        } catch (err) {
            this.options.onError?.(toError(err));
            return;
        }
        if (!record) return;
        const stored = record.payload as StoredMessage;
        const seq = record.seq;
        this.inFlight = seq;
        // MQTT.js calls back on PUBACK. A QoS 1 packet sent before a disconnect stays in the client's
        // outgoing store and is sent again after the reconnect, so the callback comes later.
        client.publish(stored.topic, wirePayload(stored), { qos: 1, retain: false }, (err) => {
            if (this.inFlight !== seq) return;
            this.inFlight = undefined;
            if (err) {
                // The client was ended or the broker refused the packet; the record stays at the head.
                if (this.client !== client) return;
                this.options.onError?.(new ServiceError(`Publishing queue record ${seq} to ${stored.topic} failed: ${err.message}`, { cause: err, retriable: true }));
                this.retryTimer = setTimeout(() => {
                    this.retryTimer = undefined;
                    this.pump();
                }, this.options.reconnectPeriodMs ?? 1000);
                return;
            }
            this.acknowledge(record as QueueRecord, stored);
            this.pump();
        });
    }

    private acknowledge(record: QueueRecord, stored: StoredMessage): void {
        try {
            this.options.queue.ack(record.seq);
        } catch (err) {
            this.options.onError?.(toError(err));
            return;
        }
        this.options.onDelivered?.(record, { topic: stored.topic, payload: originalPayload(stored) });
    }

    private setState(state: ForwarderState): void {
        if (state === this.currentState) return;
        if (this.currentState === 'stopped') return;
        this.currentState = state;
        this.options.onStateChange?.(state);
    }
}
