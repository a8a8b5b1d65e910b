// One running process per role and data folder: a second `upstream-live start` on the same folder
// would open the same embedded database twice.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError } from '../lib/errors';

function isRunning(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        // EPERM means the process exists but belongs to another user.
        return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
}

/**
 * Takes the lock `<dataDir>/run/<name>.lock` for this process, replacing a lock whose process is
 * gone. Throws a ConfigError when a live process has it. Returns a function that releases it.
 */
export function lockDataDir(dataDir: string, name: string): () => void {
    const folder = join(dataDir, 'run');
    const file = join(folder, `${name}.lock`);
    mkdirSync(folder, { recursive: true });
    if (existsSync(file)) {
        const holder = Number(readFileSync(file, 'utf8').trim());
        if (Number.isInteger(holder) && holder !== process.pid && isRunning(holder)) {
            throw new ConfigError(`Data folder ${dataDir} is in use by process ${holder} (${name}); stop that process first, or pass a different --data-dir.`);
        }
    }
    writeFileSync(file, `${process.pid}\n`);
    return () => {
        try {
            if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
        } catch {
            // Already gone: nothing to release.
        }
    };
}
