// First-start provisioning of the one-command demo: the edge device key and its entry in the
// cloud's device registry, and the Volve daily production report dropped into the import inbox.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DATA_DIR } from '../lib/paths';
import { generateDeviceKey } from '../lib/signing/keys';
import type { Logger } from './logging';

/** The demo's edge gateway at the Petrobras site (3W wells). */
export const DEMO_DEVICE = {
    device_id: 'edge-petrobras-01',
    cert_id: 'cert-edge-petrobras-01',
    operator: 'petrobras',
    assets: ['3w-well-00004', '3w-well-00007', '3w-well-00012'],
};

export interface DeviceRegistryEntry {
    device_id: string;
    cert_id: string;
    operator: string;
    public_key: string;
    assets?: string[];
}

export function keysDir(dataDir: string): string {
    return join(dataDir, 'keys');
}

export function deviceRegistryFile(dataDir: string): string {
    return join(dataDir, 'devices.json');
}

export function inboxDir(dataDir: string): string {
    return join(dataDir, 'inbox');
}

/** Adds or replaces a device in the registry file, creating the file when needed. */
export function registerDevice(dataDir: string, entry: DeviceRegistryEntry): void {
    const file = deviceRegistryFile(dataDir);
    const devices: DeviceRegistryEntry[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DeviceRegistryEntry[]) : [];
    const others = devices.filter((device) => device.device_id !== entry.device_id);
    writeFileSync(file, JSON.stringify([...others, entry], null, 4) + '\n');
}

/**
 * Creates the demo device key and registry entry unless they exist, and on the very first start
 * drops the Volve report into the inbox. Idempotent: a second start changes nothing.
 */
export async function provisionDemo(dataDir: string, importReport: boolean, logger: Logger): Promise<void> {
    mkdirSync(dataDir, { recursive: true });
    const keyFile = join(keysDir(dataDir), `${DEMO_DEVICE.device_id}.key`);
    if (!existsSync(keyFile)) {
        const publicKey = generateDeviceKey(keysDir(dataDir), DEMO_DEVICE.device_id);
        registerDevice(dataDir, { ...DEMO_DEVICE, public_key: publicKey });
        logger.info('demo device key created', { device_id: DEMO_DEVICE.device_id, key_file: keyFile });
    }

    const marker = join(dataDir, '.demo-report-imported');
    if (importReport && !existsSync(marker)) {
        mkdirSync(inboxDir(dataDir), { recursive: true });
        copyFileSync(join(DATA_DIR, 'equinor-volve', 'volve_daily_production.csv'), join(inboxDir(dataDir), 'volve_daily_production.csv'));
        writeFileSync(marker, new Date().toISOString() + '\n');
        logger.info('demo report placed in the import inbox', { file: 'volve_daily_production.csv' });
    }
}
