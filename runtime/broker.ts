// Embedded MQTT broker (aedes) for the one-command default. It keeps persistent sessions and
// their queued QoS 1 messages in memory for as long as the supervisor runs, so a cloud runtime
// that restarts receives what the edge published meanwhile.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

import { ConfigError } from '../lib/errors';
import type { Logger } from './logging';

export interface EmbeddedBroker {
    port: number;
    close(): Promise<void>;
}

export async function startBroker(host: string, port: number, logger: Logger): Promise<EmbeddedBroker> {
    // aedes 1.x is published as an ES module only.
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    const server: Server = createServer(broker.handle);

    broker.on('client', (client) => logger.info('mqtt client connected', { client_id: client.id }));
    broker.on('clientDisconnect', (client) => logger.info('mqtt client disconnected', { client_id: client.id }));
    broker.on('clientError', (client, err) => logger.warn('mqtt client error', { client_id: client.id, error: err.message }));

    try {
        await new Promise<void>((resolve, reject) => {
            server.once('error', (err: NodeJS.ErrnoException) => {
                reject(err.code === 'EADDRINUSE' ? new ConfigError(`MQTT port ${port} on ${host} is in use; stop the other broker or pass --mqtt-port with a free port.`, { cause: err }) : err);
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
