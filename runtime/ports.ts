// Checks that the ports a start binds (HTTP ports of the runtimes, the embedded MQTT broker) are
// free before the data folder is touched. A taken port is then reported at once with the option
// that changes it, not after the demo files are written or the store has opened.
import { createServer } from 'node:net';

import { ConfigError } from '../lib/errors';
import type { Profile, RuntimeOptions } from './options';

export interface PortToCheck {
    port: number;
    /** The option that sets the port, named in the error, such as --port. */
    option: string;
    /** User of the port in messages, such as "cloud HTTP". */
    use: string;
    /** The environment variable that sets the port too, such as UL_HTTP_PORT. */
    env?: string;
}

/** Resolves when `port` can be bound on `host`; rejects with a ConfigError naming the option when it is in use. */
export function checkPortFree(host: string, { port, option, use, env }: PortToCheck): Promise<void> {
    return new Promise((resolve, reject) => {
        const probe = createServer();
        probe.once('error', (err: NodeJS.ErrnoException) => {
            if (err.code === 'EADDRINUSE') {
                reject(new ConfigError(`The ${use} port ${port} on ${host} is in use; stop the other program or pass ${option}${env ? ` (or set ${env})` : ''} with a free port.`, { cause: err }));
            } else {
                // Other problems (an address of another machine) are reported by the runtime that binds it.
                resolve();
            }
        });
        probe.listen(port, host, () => probe.close(() => resolve()));
    });
}

/**
 * Lists the ports that a start with `profile` binds: profile all runs the embedded MQTT broker
 * and both runtimes, and a cloud or edge process binds its own HTTP port only.
 */
export function portsToCheck(profile: Profile, options: Pick<RuntimeOptions, 'port' | 'edgePort' | 'mqttPort'>): PortToCheck[] {
    const cloud = { port: options.port, option: '--port', use: 'cloud HTTP', env: 'UL_HTTP_PORT' };
    const edge = { port: options.edgePort, option: '--edge-port', use: 'edge HTTP', env: 'UL_EDGE_HTTP_PORT' };
    const broker = { port: options.mqttPort, option: '--mqtt-port', use: 'embedded MQTT broker', env: 'UL_MQTT_PORT' };
    if (profile === 'cloud') return [cloud];
    if (profile === 'edge') return [edge];
    return [cloud, edge, broker];
}

/**
 * Checks each port in turn; rejects at the first one in use, or when two options name the same
 * port. Port 0 (any free port) is skipped.
 */
export async function checkPortsFree(host: string, ports: PortToCheck[]): Promise<void> {
    const fixed = ports.filter((entry) => entry.port !== 0);
    for (const [index, entry] of fixed.entries()) {
        const earlier = fixed.slice(0, index).find((other) => other.port === entry.port);
        if (earlier) {
            throw new ConfigError(`${earlier.option} and ${entry.option} both name port ${entry.port} (${earlier.use} and ${entry.use}); pass a different port to one of them.`);
        }
    }
    for (const entry of fixed) await checkPortFree(host, entry);
}
