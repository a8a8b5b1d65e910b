import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Returns the secret that encrypts Node-RED's flow credentials: UL_CREDENTIAL_SECRET when set,
 * else a random secret kept in the data folder and readable by its owner only.
 */
export function credentialSecret(dataDir: string): string {
    if (process.env.UL_CREDENTIAL_SECRET) return process.env.UL_CREDENTIAL_SECRET;
    const file = join(dataDir, 'credential-secret');
    if (!existsSync(file)) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
    }
    return readFileSync(file, 'utf8').trim();
}
