// Runs one Node-RED runtime inside an Express app: the shared piece of the edge and cloud processes.
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

import express, { type Express } from 'express';

import { ConfigError } from '../lib/errors';
import { PROJECT_ROOT } from '../lib/paths';
import type { Logger } from './logging';

export interface NodeRedHost {
    app: Express;
    server: Server;
    port: number;
    stop(): Promise<void>;
}

export interface HostOptions {
    host: string;
    port: number;
    settings: Record<string, unknown>;
    logger: Logger;
    /** Mounts routes that must take precedence over the flows' HTTP nodes (API, auth, health). */
    mountBefore?: (app: Express, server: Server) => void | Promise<void>;
    /** Called on every `flows:started` runtime event: the start, and each deploy after it. */
    onFlowsStarted?: (event: { config?: { flows?: unknown[] }; type?: string }) => void;
    /** Command-line option that sets `port`, named in the error when the port is in use. */
    portOption?: string;
    /** Milliseconds to wait for the flows to start before giving up; default 60 s. */
    startTimeoutMs?: number;
}

/**
 * Makes the project's node set visible to Node-RED as an installed module, the way an integrator
 * would install it into an existing instance: `<userDir>/node_modules/upstream-live` links to the
 * project root, whose package.json lists the nodes under its `node-red` key.
 */
function linkNodeSet(userDir: string): void {
    const modules = join(userDir, 'node_modules');
    const link = join(modules, 'upstream-live');
    mkdirSync(modules, { recursive: true });
    if (existsSync(link)) return;
    rmSync(link, { force: true });
    symlinkSync(PROJECT_ROOT, link, 'dir');
}

export async function startNodeRed(options: HostOptions): Promise<NodeRedHost> {
    const { settings, logger } = options;
    const userDir = settings.userDir as string;
    mkdirSync(userDir, { recursive: true });
    linkNodeSet(userDir);

    // Node-RED keeps its state in module scope, so there is one runtime per process.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const RED = require('node-red');
    const app = express();
    app.disable('x-powered-by');
    const server = createServer(app);

    await options.mountBefore?.(app, server);
    RED.init(server, settings);
    app.use(settings.httpAdminRoot as string, RED.httpAdmin);
    app.use(settings.httpNodeRoot as string, RED.httpNode);

    await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
            if (err.code === 'EADDRINUSE') {
                reject(new ConfigError(`HTTP port ${options.port} on ${options.host} is in use; stop the other program or pass ${options.portOption ?? '--port'} with a free port.`, { cause: err }));
            } else if (err.code === 'EADDRNOTAVAIL') {
                reject(new ConfigError(`Address ${options.host} is not an address of this machine; pass --host with one of its addresses, such as 127.0.0.1.`, { cause: err }));
            } else {
                reject(err);
            }
        });
        server.listen(options.port, options.host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;

    // RED.start() resolves before the flows run; wait for the runtime's own start event.
    const flowsStarted = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
            () => reject(new Error(`Node-RED flows did not start within ${(options.startTimeoutMs ?? 60_000) / 1000} s; check the log above for node errors.`)),
            options.startTimeoutMs ?? 60_000,
        );
        RED.events.once('flows:started', () => {
            clearTimeout(timer);
            resolve();
        });
    });
    const onFlowsStarted = options.onFlowsStarted;
    if (onFlowsStarted) RED.events.on('flows:started', onFlowsStarted);
    await RED.start();
    await flowsStarted;
    logger.info('flows started', { port });

    return {
        app,
        server,
        port,
        async stop() {
            if (onFlowsStarted) RED.events.off('flows:started', onFlowsStarted);
            await RED.stop();
            await new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            });
        },
    };
}
