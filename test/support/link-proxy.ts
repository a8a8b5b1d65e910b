// A TCP proxy on loopback between MQTT clients and a broker, for tests that cut a site's link. It
// forwards bytes unchanged and reads the MQTT packets on the way, so a test can list every PUBLISH
// the clients sent towards the broker and which of them the broker acknowledged (PUBACK).
//
// cut() drops the client side of every connection at once and rejects new connections, as a
// failed WAN link would. The broker side of each dropped connection stays open for a short grace
// period, so that PUBACKs for publishes the broker already took are still counted. Those
// publishes were delivered even though their client never learned it.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Time the broker side of a cut connection stays open to collect late PUBACKs, in milliseconds. */
const CUT_GRACE_MS = 500;

const PACKET_CONNECT = 1;
const PACKET_PUBLISH = 3;
const PACKET_PUBACK = 4;

/** One PUBLISH packet that a client sent through the proxy. */
export interface CapturedPublish {
    /** Number of the proxied connection, from 1 in order of acceptance. */
    connection: number;
    clientId: string;
    topic: string;
    qos: number;
    /** Packet identifier, undefined for QoS 0. */
    packetId?: number;
    /** DUP flag: the client sent this packet before on the same session. */
    dup: boolean;
    payload: Buffer;
    /** Epoch milliseconds at which the proxy passed the packet to the broker. */
    sentAt: number;
    /** Epoch milliseconds of the broker's PUBACK, or undefined when none came before the connection closed. */
    ackedAt?: number;
}

export interface LinkProxy {
    /** Loopback port the clients connect to. */
    readonly port: number;
    /** Whether connections are passed to the broker. */
    readonly up: boolean;
    /** Every PUBLISH passed to the broker, in the order the proxy forwarded them. */
    readonly publishes: readonly CapturedPublish[];
    /** Sets the broker port. Until then, connections are rejected. */
    connectTo(brokerPort: number): void;
    /** Drops the client side of every connection and rejects new ones. Resolves after the grace period. */
    cut(): Promise<void>;
    /** Accepts connections again. */
    restore(): void;
    /** Closes the listening socket and every connection. */
    close(): Promise<void>;
}

/** Reads a packet's remaining length (an MQTT variable byte integer), or undefined when more bytes are needed. */
function readRemainingLength(buffer: Buffer, offset: number): { value: number; bytes: number } | undefined {
    let value = 0;
    for (let index = 0; index < 4; index++) {
        if (offset + index >= buffer.length) return undefined;
        const byte = buffer[offset + index];
        value += (byte & 0x7f) * 128 ** index;
        if ((byte & 0x80) === 0) return { value, bytes: index + 1 };
    }
    throw new Error(`Invalid MQTT remaining length at byte ${offset}: more than 4 length bytes.`);
}

/** Splits one direction of an MQTT byte stream into whole packets. */
class PacketSplitter {
    private pending = Buffer.alloc(0);

    constructor(private readonly onPacket: (type: number, flags: number, body: Buffer) => void) {}

    push(chunk: Buffer): void {
        this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
        for (;;) {
            if (this.pending.length < 2) return;
            const length = readRemainingLength(this.pending, 1);
            if (!length) return;
            const start = 1 + length.bytes;
            const end = start + length.value;
            if (this.pending.length < end) return;
            const first = this.pending[0];
            this.onPacket(first >> 4, first & 0x0f, this.pending.subarray(start, end));
            this.pending = this.pending.subarray(end);
        }
    }
}

/** Returns the offset after an MQTT 5 property block that starts at `offset`. */
function skipProperties(body: Buffer, offset: number): number {
    const length = readRemainingLength(body, offset);
    if (!length) throw new Error('Invalid MQTT 5 packet: its property length is cut short.');
    return offset + length.bytes + length.value;
}

interface Connection {
    id: number;
    client: Socket;
    broker: Socket;
    clientId: string;
    protocolLevel: number;
    /** Publishes waiting for their PUBACK, by packet identifier. */
    awaitingAck: Map<number, CapturedPublish>;
}

/** Starts the proxy on 127.0.0.1 with a free port. */
export async function startLinkProxy(): Promise<LinkProxy> {
    const publishes: CapturedPublish[] = [];
    const connections = new Set<Connection>();
    let brokerPort: number | undefined;
    let up = true;
    let accepted = 0;

    const onClientPacket = (connection: Connection, type: number, flags: number, body: Buffer) => {
        if (type === PACKET_CONNECT) {
            const nameLength = body.readUInt16BE(0);
            connection.protocolLevel = body[2 + nameLength];
            let offset = 2 + nameLength + 4;
            if (connection.protocolLevel === 5) offset = skipProperties(body, offset);
            const idLength = body.readUInt16BE(offset);
            connection.clientId = body.toString('utf8', offset + 2, offset + 2 + idLength);
            return;
        }
        if (type !== PACKET_PUBLISH) return;

        const qos = (flags >> 1) & 0x03;
        const topicLength = body.readUInt16BE(0);
        const topic = body.toString('utf8', 2, 2 + topicLength);
        let offset = 2 + topicLength;
        let packetId: number | undefined;
        if (qos > 0) {
            packetId = body.readUInt16BE(offset);
            offset += 2;
        }
        if (connection.protocolLevel === 5) offset = skipProperties(body, offset);

        const captured: CapturedPublish = {
            connection: connection.id,
            clientId: connection.clientId,
            topic,
            qos,
            packetId,
            dup: (flags & 0x08) !== 0,
            payload: Buffer.from(body.subarray(offset)),
            sentAt: Date.now(),
        };
        publishes.push(captured);
        if (packetId !== undefined) connection.awaitingAck.set(packetId, captured);
    };

    const onBrokerPacket = (connection: Connection, type: number, body: Buffer) => {
        if (type !== PACKET_PUBACK) return;
        const packetId = body.readUInt16BE(0);
        const captured = connection.awaitingAck.get(packetId);
        if (!captured) return;
        captured.ackedAt = Date.now();
        connection.awaitingAck.delete(packetId);
    };

    const server: Server = createServer((client) => {
        if (!up || brokerPort === undefined) {
            client.destroy();
            return;
        }
        const broker = createConnection({ host: '127.0.0.1', port: brokerPort });
        const connection: Connection = { id: ++accepted, client, broker, clientId: '', protocolLevel: 4, awaitingAck: new Map() };
        connections.add(connection);
        const fromClient = new PacketSplitter((type, flags, body) => onClientPacket(connection, type, flags, body));
        const fromBroker = new PacketSplitter((type, _flags, body) => onBrokerPacket(connection, type, body));

        client.on('data', (chunk: Buffer) => {
            fromClient.push(chunk);
            broker.write(chunk);
        });
        broker.on('data', (chunk: Buffer) => {
            fromBroker.push(chunk);
            if (!client.destroyed) client.write(chunk);
        });
        // Either side closing ends the connection, as a TCP connection through a router would.
        const end = () => {
            client.destroy();
            broker.destroy();
            connections.delete(connection);
        };
        client.on('close', () => {
            // A cut leaves the broker side open for the grace period; see cut().
            if (up) end();
        });
        broker.on('close', end);
        client.on('error', () => undefined);
        broker.on('error', () => undefined);
    });

    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as { port: number }).port;

    return {
        port,
        get up() {
            return up;
        },
        publishes,
        connectTo(target) {
            brokerPort = target;
        },
        async cut() {
            up = false;
            const cutConnections = [...connections];
            for (const connection of cutConnections) connection.client.destroy();
            await new Promise((resolve) => setTimeout(resolve, CUT_GRACE_MS));
            for (const connection of cutConnections) {
                connection.broker.destroy();
                connections.delete(connection);
            }
        },
        restore() {
            up = true;
        },
        async close() {
            up = false;
            for (const connection of connections) {
                connection.client.destroy();
                connection.broker.destroy();
            }
            connections.clear();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
