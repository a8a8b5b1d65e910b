import { createServer, type Server } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../lib/errors';
import { checkPortFree, checkPortsFree } from './ports';

let taken: Server;
let takenPort: number;

beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    takenPort = (taken.address() as { port: number }).port;
});

afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
});

describe('checkPortFree', () => {
    it('should name the port and the option when the port is in use', async () => {
        const check = checkPortFree('127.0.0.1', { port: takenPort, option: '--edge-port', use: 'edge HTTP' });

        await expect(check).rejects.toBeInstanceOf(ConfigError);
        await expect(checkPortFree('127.0.0.1', { port: takenPort, option: '--edge-port', use: 'edge HTTP' })).rejects.toThrow(
            `The edge HTTP port ${takenPort} on 127.0.0.1 is in use; stop the other program or pass --edge-port with a free port.`,
        );
    });

    it('should pass a free port and leave it free', async () => {
        const probe = createServer();
        await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
        const freePort = (probe.address() as { port: number }).port;
        await new Promise((resolve) => probe.close(resolve));

        await expect(checkPortsFree('127.0.0.1', [{ port: freePort, option: '--port', use: 'cloud HTTP' }, { port: 0, option: '--edge-port', use: 'edge HTTP' }])).resolves.toBeUndefined();
        await expect(checkPortFree('127.0.0.1', { port: freePort, option: '--port', use: 'cloud HTTP' })).resolves.toBeUndefined();
    });
});
