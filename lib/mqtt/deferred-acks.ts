// Holds the PUBACK of each QoS 1 message until the flow has handled the message, so that a crash
// (SIGKILL) leaves every unhandled message with the broker, which delivers it again.
//
// MQTT.js sends the PUBACK itself. In MQTT.js 5.16 the publish handler calls
// handleMessage(packet, callback), the callback writes the PUBACK through the private method
// _sendPacket, and only after that write does the client read the next packet. Holding that
// callback would handle one message at a time. holdPubacks() therefore wraps _sendPacket: MQTT.js
// gets its callback at once and reads on, and each PUBACK waits in a PubackQueue until its message
// has settled. MQTT 3.1.1 and MQTT 5 (section 4.6, Message ordering) require PUBACKs in the order
// the PUBLISH packets arrived, so the queue writes them strictly in that order.
import { createHash } from 'node:crypto';

import type { MqttClient } from 'mqtt';

import { ConfigError, ServiceError, UpstreamError } from '../errors';
import type { Rejection } from '../types';

/** Default maximum of unacknowledged QoS 1 messages on one connection. */
export const DEFAULT_MAX_UNACKNOWLEDGED = 1_000;

/** MQTT packet identifiers are 16-bit and non-zero, so one connection never has more messages in flight. */
export const MAX_PACKET_IDENTIFIERS = 65_535;

/** A PUBACK as MQTT.js builds it. */
export interface PubackPacket {
    cmd: 'puback';
    messageId?: number;
    reasonCode?: number;
}

export type AckState = 'pending' | 'settled' | 'withheld';

/** One received QoS 1 message, from its arrival until its PUBACK is written or forgotten. */
export class AckTicket {
    readonly messageId: number;
    /** Number of the connection the message arrived on; tickets of earlier connections are stale. */
    readonly connection: number;
    /** `withheld`: never acknowledged on this connection, so the broker delivers it again after a reconnect. */
    state: AckState = 'pending';
    /** The PUBACK that MQTT.js asked to send; the ticket waits for it even when settled. */
    packet: PubackPacket | undefined;

    constructor(messageId: number, connection: number) {
        this.messageId = messageId;
        this.connection = connection;
    }
}

export interface PubackQueueOptions {
    /** Maximum unacknowledged messages; at the limit the client reads no further packet. Default 1,000. */
    limit?: number;
    /** Writes one PUBACK to the connection. */
    write: (packet: PubackPacket) => void;
}

/**
 * The PUBACKs of one connection, in the order their PUBLISH packets arrived. A PUBACK is written
 * once its message has settled and every earlier PUBACK has been written. A withheld message
 * therefore delays every later PUBACK until reset() clears the connection's queue.
 */
export class PubackQueue {
    readonly limit: number;
    private readonly write: (packet: PubackPacket) => void;
    // Arrival order. Entries before `head` are written; the array is compacted as it drains.
    private entries: AckTicket[] = [];
    private head = 0;
    /** Received tickets whose PUBACK MQTT.js has not asked for yet, by packet identifier. */
    private readonly unrequested = new Map<number, AckTicket>();
    /** MQTT.js callbacks held back while the queue is full; each lets the client read its next packet. */
    private parked: (() => void)[] = [];
    private idleWaiters: (() => void)[] = [];
    /** Tickets of this connection that are neither written nor withheld. */
    private unwritten = 0;
    private connectionNumber = 0;

    constructor(options: PubackQueueOptions) {
        const limit = options.limit ?? DEFAULT_MAX_UNACKNOWLEDGED;
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PACKET_IDENTIFIERS) {
            throw new ConfigError(`Maximum unacknowledged messages ${String(limit)} is invalid; enter a whole number from 1 to ${MAX_PACKET_IDENTIFIERS}.`);
        }
        this.limit = limit;
        this.write = options.write;
    }

    /** Unacknowledged messages of the current connection, withheld ones included. */
    get size(): number {
        return this.entries.length - this.head;
    }

    /** Number of the current connection; reset() increments it. */
    get connection(): number {
        return this.connectionNumber;
    }

    /** Adds a QoS 1 message in arrival order and returns its ticket. */
    receive(messageId: number): AckTicket {
        const ticket = new AckTicket(messageId, this.connectionNumber);
        this.entries.push(ticket);
        this.unrequested.set(messageId, ticket);
        this.unwritten += 1;
        return ticket;
    }

    /**
     * Takes the PUBACK that MQTT.js wants to send. `resume` lets MQTT.js read its next packet. It
     * runs at once, unless the queue is full: then it runs once a PUBACK is written or the queue is reset.
     */
    request(packet: PubackPacket, resume: () => void): void {
        const messageId = packet.messageId ?? 0;
        let ticket = this.unrequested.get(messageId);
        if (ticket) {
            this.unrequested.delete(messageId);
        } else {
            // MQTT.js sends a PUBACK with an error reason code without emitting the message. Such a
            // PUBACK waits for nothing but its place in the order.
            ticket = this.receive(messageId);
            this.unrequested.delete(messageId);
            ticket.state = 'settled';
        }
        ticket.packet = packet;
        this.flush();
        if (this.size >= this.limit) this.parked.push(resume);
        else resume();
    }

    /** Marks a message handled and writes every PUBACK now due. Returns false for a stale or ended ticket. */
    settle(ticket: AckTicket): boolean {
        if (ticket.connection !== this.connectionNumber || ticket.state !== 'pending') return false;
        ticket.state = 'settled';
        this.flush();
        return true;
    }

    /**
     * Marks a message as never to be acknowledged on this connection. Every later PUBACK then
     * waits too, so drop the connection and let the broker deliver them again. Returns false for a
     * stale or ended ticket.
     */
    withhold(ticket: AckTicket): boolean {
        if (ticket.connection !== this.connectionNumber || ticket.state !== 'pending') return false;
        ticket.state = 'withheld';
        this.unwritten -= 1;
        this.notifyIdle();
        return true;
    }

    /**
     * Clears every unacknowledged message when the connection closed or a new one began, because
     * the broker delivers them again on the next connection of the persistent session. Returns
     * how many it cleared.
     */
    reset(): number {
        const forgotten = this.size;
        this.connectionNumber += 1;
        this.entries = [];
        this.head = 0;
        this.unrequested.clear();
        this.unwritten = 0;
        this.resumeParked();
        this.notifyIdle();
        return forgotten;
    }

    /**
     * Resolves with true once every message that is not withheld has been acknowledged or
     * forgotten, or with false after `timeoutMs` milliseconds.
     */
    idle(timeoutMs: number): Promise<boolean> {
        if (this.unwritten === 0) return Promise.resolve(true);
        return new Promise((resolve) => {
            const waiter = (): void => {
                clearTimeout(timer);
                resolve(true);
            };
            const timer = setTimeout(() => {
                this.idleWaiters = this.idleWaiters.filter((other) => other !== waiter);
                resolve(false);
            }, timeoutMs);
            this.idleWaiters.push(waiter);
        });
    }

    private flush(): void {
        while (this.head < this.entries.length) {
            const ticket = this.entries[this.head];
            if (ticket.state !== 'settled' || !ticket.packet) break;
            this.head += 1;
            this.unwritten -= 1;
            this.write(ticket.packet);
        }
        if (this.head > 1_024 && this.head * 2 > this.entries.length) {
            this.entries = this.entries.slice(this.head);
            this.head = 0;
        }
        if (this.size < this.limit) this.resumeParked();
        this.notifyIdle();
    }

    private resumeParked(): void {
        const parked = this.parked;
        this.parked = [];
        for (const resume of parked) resume();
    }

    private notifyIdle(): void {
        if (this.unwritten !== 0) return;
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const waiter of waiters) waiter();
    }
}

/** The private parts of an MQTT.js client that holdPubacks() relies on. */
interface ClientInternals {
    _sendPacket?: (packet: { cmd: string }, callback?: (error?: Error) => void, ...rest: unknown[]) => void;
}

/** Acknowledgement control of one MQTT.js client. */
export interface HeldPubacks {
    readonly queue: PubackQueue;
    /**
     * Drops the network connection. MQTT.js reconnects after its reconnect period, and the broker
     * delivers every unacknowledged message of the persistent session again.
     */
    redeliver(): void;
    /** Gives the client its own _sendPacket back and removes the listeners. */
    release(): void;
}

function mqttVersion(client: MqttClient): string {
    const version = (client.constructor as { VERSION?: unknown }).VERSION;
    return typeof version === 'string' ? version : 'of unknown version';
}

/**
 * Makes an MQTT.js client hold each QoS 1 PUBACK in a PubackQueue. Call it right after
 * mqtt.connect(), before any packet arrives. Throws ConfigError when the client lacks the private
 * method this relies on, which a future MQTT.js release may rename.
 */
export function holdPubacks(client: MqttClient, options: { limit?: number } = {}): HeldPubacks {
    const internals = client as unknown as ClientInternals;
    const original = internals._sendPacket;
    if (typeof original !== 'function') {
        throw new ConfigError(`MQTT.js ${mqttVersion(client)} has no _sendPacket method, which the ingest node wraps to acknowledge `
            + 'each message only after the flow has handled it; install MQTT.js 5.16, the version this was checked with.');
    }
    const queue = new PubackQueue({
        limit: options.limit,
        write: (packet) => {
            // When not connected, MQTT.js would keep the PUBACK and send it on the next connection,
            // where the packet identifier may belong to another message.
            if (client.connected) original.call(client, packet);
        },
    });

    const wrapper: NonNullable<ClientInternals['_sendPacket']> = function (this: unknown, packet, callback, ...rest) {
        if (packet.cmd !== 'puback') {
            original.call(this, packet, callback, ...rest);
            return;
        }
        queue.request(packet as PubackPacket, () => callback?.());
    };
    internals._sendPacket = wrapper;

    // Packets of a closed connection may still be handled after its close event, so a new
    // connection starts at its CONNACK, which MQTT.js handles before any PUBLISH that follows.
    const onClose = (): void => {
        queue.reset();
    };
    const onPacket = (packet: { cmd: string }): void => {
        if (packet.cmd === 'connack') queue.reset();
    };
    client.on('close', onClose);
    client.on('packetreceive', onPacket);

    return {
        queue,
        redeliver: () => {
            client.stream?.destroy();
        },
        release: () => {
            if (internals._sendPacket === wrapper) internals._sendPacket = original;
            client.removeListener('close', onClose);
            client.removeListener('packetreceive', onPacket);
        },
    };
}

/**
 * Whether a message whose handling failed with `error` should be delivered again by the broker:
 * true for a failed service (database, bus, mail server) and for errors marked retriable.
 */
export function shouldRedeliver(error: unknown): boolean {
    return error instanceof ServiceError || (error instanceof UpstreamError && error.retriable);
}

/** Default size limit of a message that the ingest node passes into the flow: 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;
/** Largest packet body MQTT can carry (its remaining length), 256 MiB minus one byte; a payload is a little smaller. */
export const MAX_MESSAGE_BYTES = 268_435_455;
/** Characters of an oversized message kept in its rejection. */
const OVERSIZED_HEAD_CHARS = 1_024;

/**
 * Builds the rejection of a message larger than the size limit. It keeps the size, a SHA-256 of the
 * whole payload (to match it against the sender's copy) and its first kilobyte.
 */
export function oversizedMessageRejection(topic: string, payload: Buffer, limit: number, receivedAt: Date = new Date()): Rejection {
    const sha256 = createHash('sha256').update(payload).digest('hex');
    return {
        source: `mqtt:${topic}`,
        code: 'message_too_large',
        reason: `The message has ${payload.length} bytes, more than the limit of ${limit} bytes; split the readings into smaller envelopes, or raise the node's size limit.`,
        field: 'payload',
        value: payload.length,
        ref: `sha256:${sha256.slice(0, 32)}`,
        payload: { bytes: payload.length, sha256, head: payload.subarray(0, OVERSIZED_HEAD_CHARS).toString('utf8') },
        received_at: receivedAt.toISOString(),
    };
}

/**
 * Builds the rejection of a message whose handling failed for good. `ref` is a digest of topic
 * and payload, so the quarantine keeps a message delivered twice only once.
 */
export function failedMessageRejection(topic: string, payload: string, error: Error, receivedAt: Date = new Date()): Rejection {
    const digest = createHash('sha256').update(topic).update('\u0000').update(payload).digest('hex');
    return {
        source: `mqtt:${topic}`,
        reason: `Handling the message failed: ${error.message}. Fix the cause, then publish the message again.`,
        code: 'handling_failed',
        ref: `sha256:${digest.slice(0, 32)}`,
        payload,
        received_at: receivedAt.toISOString(),
    };
}
