// Checks that the HTTP ports of the runtimes are free before anything starts, so that a taken
// port is reported at once with the option that changes it, not after the store has opened.
import { createServer } from 'node:net';

import { ConfigError } from '../lib/errors';

export interface PortToCheck {
    port: number;
    /** The option that sets the port, named in the error, such as --port. */
    option: string;
    /** User of the port in messages, such as "cloud HTTP". */
    use: string;
}

/** Resolves when `port` can be bound on `host`; rejects with a ConfigError naming the option when it is in use. */
export function checkPortFree(host: string, { port, option, use }: PortToCheck): Promise<void> {
    return new Promise((resolve, reject) => {
        const probe = createServer();
        probe.once('error', (err: NodeJS.ErrnoException) => {
            if (err.code === 'EADDRINUSE') {
                reject(new ConfigError(`The ${use} port ${port} on ${host} is in use; stop the other program or pass ${option} with a free port.`, { cause: err }));
            } else {
                // Other problems (an address of another machine) are reported by the runtime that binds it.
                resolve();
            }
        });
        probe.listen(port, host, () => probe.close(() => resolve()));
    });
}

/** Checks each port in turn; rejects at the first one in use. Port 0 (any free port) is skipped. */
export async function checkPortsFree(host: string, ports: PortToCheck[]): Promise<void> {
    for (const entry of ports) {
        if (entry.port !== 0) await checkPortFree(host, entry);
    }
}
