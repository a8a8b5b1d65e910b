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

/** An account of the embedded MQTT broker. */
export interface MqttAccount {
    username: string;
    password: string;
    /** `edge` may publish under ops/; `cloud` may subscribe to ops/ topics. */
    role: 'edge' | 'cloud';
}

/** Returns the embedded broker's accounts, creating them with random passwords on first use. */
export function mqttAccounts(dataDir: string): MqttAccount[] {
    const file = join(dataDir, 'mqtt-accounts.json');
    if (!existsSync(file)) {
        const accounts: MqttAccount[] = [
            { username: 'ul-edge', password: randomBytes(18).toString('base64url'), role: 'edge' },
            { username: 'ul-cloud', password: randomBytes(18).toString('base64url'), role: 'cloud' },
        ];
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(accounts, null, 4) + '\n', { mode: 0o600 });
    }
    return JSON.parse(readFileSync(file, 'utf8')) as MqttAccount[];
}
