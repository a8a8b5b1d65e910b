import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../lib/errors';
import { createLogger } from './logging';
import { parseOptions } from './options';
import { runSupervisor } from './supervisor';

let portHolder: Server;
let takenPort: number;
let folder: string;

beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ul-supervisor-'));
    portHolder = createServer();
    await new Promise<void>((resolve) => portHolder.listen(0, '127.0.0.1', () => resolve()));
    takenPort = (portHolder.address() as { port: number }).port;
});

afterAll(async () => {
    await new Promise((resolve) => portHolder.close(resolve));
    rmSync(folder, { recursive: true, force: true });
});

describe('runSupervisor', () => {
    const cases = [
        { option: '--mqtt-port', use: 'embedded MQTT broker', env: 'UL_MQTT_PORT' },
        { option: '--port', use: 'cloud HTTP', env: 'UL_HTTP_PORT' },
        { option: '--edge-port', use: 'edge HTTP', env: 'UL_EDGE_HTTP_PORT' },
    ];

    for (const { option, use, env } of cases) {
        it(`should check ${option} before the data folder`, async () => {
            const dataDir = join(folder, option.slice(2));
            const ports = { '--port': '0', '--edge-port': '0', '--mqtt-port': '0', [option]: String(takenPort) };
            const argv = ['--data-dir', dataDir, ...Object.entries(ports).flat()];
            const lines: string[] = [];
            const logger = createLogger({ role: 'supervisor' }, { write: (line) => lines.push(line) });

            const start = runSupervisor(parseOptions(argv, {}), logger);

            await expect(start).rejects.toBeInstanceOf(ConfigError);
            await expect(start).rejects.toThrow(`The ${use} port ${takenPort} on 127.0.0.1 is in use; stop the other program or pass ${option} (or set ${env}) with a free port.`);
            expect(existsSync(dataDir)).toBe(false);
            expect(lines).toEqual([]);
        });
    }

    it('should check the asset registry before the data folder', async () => {
        const dataDir = join(folder, 'registry');
        const missing = join(folder, 'no-such-assets.json');
        const options = parseOptions(['--data-dir', dataDir, '--port', '0', '--edge-port', '0', '--mqtt-port', '0', '--assets-file', missing], {});

        const start = runSupervisor(options, createLogger({ role: 'supervisor' }, { write: () => undefined }));

        await expect(start).rejects.toBeInstanceOf(ConfigError);
        await expect(start).rejects.toThrow(missing);
        expect(existsSync(dataDir)).toBe(false);
    });
});
