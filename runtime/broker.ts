// Embedded MQTT broker (aedes) for the one-command default. It keeps persistent sessions and
// their queued QoS 1 messages in memory for as long as the supervisor runs, so a cloud runtime
// that restarts receives what the edge published meanwhile.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

import { ConfigError } from '../lib/errors';
import type { Logger } from './logging';
import type { MqttAccount } from './secrets';

export interface EmbeddedBroker {
    port: number;
    close(): Promise<void>;
}

/** Returns true when an `ops/...` topic filter or a shared subscription to one is requested. */
function isOpsFilter(topic: string): boolean {
    const plain = topic.startsWith('$share/') ? topic.split('/').slice(2).join('/') : topic;
    return plain === 'ops/#' || plain.startsWith('ops/');
}

export async function startBroker(host: string, port: number, logger: Logger, accounts: MqttAccount[] = []): Promise<EmbeddedBroker> {
    // aedes 1.x is published as an ES module only.
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    const roles = new Map<string, MqttAccount['role']>();

    if (accounts.length > 0) {
        broker.authenticate = (client, username, password, done) => {
            const account = accounts.find((candidate) => candidate.username === username);
            const presented = Buffer.from(password ?? '');
            const expected = Buffer.from(account?.password ?? '');
            const ok = account !== undefined && presented.length === expected.length && timingSafeEqual(presented, expected);
            if (!ok) {
                logger.warn('mqtt login rejected', { client_id: client.id, username: username ?? null });
                const error = Object.assign(new Error('bad user name or password'), { returnCode: 4 });
                done(error as Parameters<typeof done>[0], false);
                return;
            }
            roles.set(client.id, account.role);
            done(null, true);
        };
        // The edge publishes readings and rejected rows under ops/; only the cloud reads them.
        broker.authorizePublish = (client, packet, done) => {
            const allowed = client !== null && roles.get(client.id) === 'edge' && packet.topic.startsWith('ops/');
            done(allowed ? null : new Error(`publishing to ${packet.topic} is not allowed for this account`));
        };
        broker.authorizeSubscribe = (client, subscription, done) => {
            const allowed = client !== null && roles.get(client.id) === 'cloud' && isOpsFilter(subscription.topic);
            done(null, allowed ? subscription : null);
        };
    }
    const server: Server = createServer(broker.handle);

    broker.on('client', (client) => logger.info('mqtt client connected', { client_id: client.id }));
    broker.on('clientDisconnect', (client) => logger.info('mqtt client disconnected', { client_id: client.id }));
    broker.on('clientError', (client, err) => logger.warn('mqtt client error', { client_id: client.id, error: err.message }));

    try {
        await new Promise<void>((resolve, reject) => {
            server.once('error', (err: NodeJS.ErrnoException) => {
                reject(err.code === 'EADDRINUSE' ? new ConfigError(`MQTT port ${port} on ${host} is in use; stop the other broker or pass --mqtt-port (or set UL_MQTT_PORT) with a free port.`, { cause: err }) : err);
            });
            server.listen(port, host, () => resolve());
        });
    } catch (err) {
        // The broker's timers would keep the process alive after a failed start.
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        throw err;
    }
    const actualPort = (server.address() as AddressInfo).port;
    logger.info('embedded MQTT broker listening', { url: `mqtt://${host}:${actualPort}` });

    return {
        port: actualPort,
        async close() {
            await new Promise<void>((resolve) => server.close(() => resolve()));
            await new Promise<void>((resolve) => broker.close(() => resolve()));
        },
    };
}
