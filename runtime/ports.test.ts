import { createServer, type Server } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../lib/errors';
import { checkPortFree, checkPortsFree, portsToCheck } from './ports';

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

    it('should name the variable of the port too', async () => {
        await expect(checkPortFree('127.0.0.1', { port: takenPort, option: '--mqtt-port', use: 'embedded MQTT broker', env: 'UL_MQTT_PORT' })).rejects.toThrow(
            `The embedded MQTT broker port ${takenPort} on 127.0.0.1 is in use; stop the other program or pass --mqtt-port (or set UL_MQTT_PORT) with a free port.`,
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

describe('portsToCheck', () => {
    const options = { port: 1880, edgePort: 1881, mqttPort: 1883 };

    it('should list the broker port for profile all', () => {
        expect(portsToCheck('all', options)).toEqual([
            { port: 1880, option: '--port', use: 'cloud HTTP', env: 'UL_HTTP_PORT' },
            { port: 1881, option: '--edge-port', use: 'edge HTTP', env: 'UL_EDGE_HTTP_PORT' },
            { port: 1883, option: '--mqtt-port', use: 'embedded MQTT broker', env: 'UL_MQTT_PORT' },
        ]);
    });

    it('should list one HTTP port per role', () => {
        expect(portsToCheck('cloud', options)).toEqual([{ port: 1880, option: '--port', use: 'cloud HTTP', env: 'UL_HTTP_PORT' }]);
        expect(portsToCheck('edge', options)).toEqual([{ port: 1881, option: '--edge-port', use: 'edge HTTP', env: 'UL_EDGE_HTTP_PORT' }]);
    });
});

describe('checkPortsFree', () => {
    it('should name the MQTT option when its port is taken', async () => {
        const ports = portsToCheck('all', { port: 0, edgePort: 0, mqttPort: takenPort });

        await expect(checkPortsFree('127.0.0.1', ports)).rejects.toThrow(
            `The embedded MQTT broker port ${takenPort} on 127.0.0.1 is in use; stop the other program or pass --mqtt-port (or set UL_MQTT_PORT) with a free port.`,
        );
    });

    it('should reject two options with one port', async () => {
        const ports = portsToCheck('all', { port: 1883, edgePort: 0, mqttPort: 1883 });

        await expect(checkPortsFree('127.0.0.1', ports)).rejects.toBeInstanceOf(ConfigError);
        await expect(checkPortsFree('127.0.0.1', ports)).rejects.toThrow(
            '--port and --mqtt-port both name port 1883 (cloud HTTP and embedded MQTT broker); pass a different port to one of them.',
        );
    });

    it('should allow port 0 for several options', async () => {
        await expect(checkPortsFree('127.0.0.1', portsToCheck('all', { port: 0, edgePort: 0, mqttPort: 0 }))).resolves.toBeUndefined();
    });
});
