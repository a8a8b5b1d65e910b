// Test helper: serves the /v1 API router on a free loopback port, with bearer tokens that map to
// fixed principals.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';

import type { Principal } from '../../lib/auth/types';
import type { StoreHandle } from '../../lib/store';
import { createLogger } from '../../runtime/logging';
import { apiErrorHandler } from '../../runtime/api/errors';
import { createApiRouter } from '../../runtime/api/routes';

export interface TestApiServer {
    server: Server;
    baseUrl: string;
    close(): Promise<void>;
}

/** Starts the API router on 127.0.0.1 with a token check that accepts only the keys of `principals`. */
export async function startTestApi(store: StoreHandle, principals: Record<string, Principal>): Promise<TestApiServer> {
    const app = express();
    const verifyToken = async (token: string): Promise<Principal> => {
        const principal = principals[token];
        if (!principal) throw new Error('unknown test token');
        return principal;
    };
    app.use('/v1', createApiRouter({ store, verifyToken, ingest: async () => [] }));
    app.use('/v1', apiErrorHandler(createLogger({}, { write: () => undefined })));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return {
        server,
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
