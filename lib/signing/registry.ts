// Device registry: which devices may send signed readings, with their public keys, operator and
// permitted assets. Kept in a JSON file that is read again when it changes.
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import { ConfigError, toError } from '../errors';
import { parsePublicKey } from './keys';

/** One entry of the registry file. */
export interface DeviceRecord {
    device_id: string;
    /** Identifier of the device certificate whose key signs the device's envelopes. */
    cert_id: string;
    operator: string;
    /** Ed25519 public key, PEM (SPKI). */
    public_key: string;
    /** Assets the device may report; any asset of its operator when absent. */
    assets?: string[];
}

export interface RegisteredDevice extends DeviceRecord {
    key: KeyObject;
}

/** Device lookup used by verifyIngestLine; the file registry and any other source implement it. */
export interface DeviceLookup {
    get(deviceId: string): RegisteredDevice | undefined;
}

function text(entry: Record<string, unknown>, field: string, where: string): string {
    const value = entry[field];
    if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${where} has no ${field}; give it a non-empty text value.`);
    return value.trim();
}

/** Checks registry entries and parses their keys; `label` names the origin in errors. */
export function parseDeviceRecords(records: unknown, label: string): Map<string, RegisteredDevice> {
    if (!Array.isArray(records)) {
        throw new ConfigError(`${label} is not a JSON array; write it as [ { "device_id", "cert_id", "operator", "public_key", "assets" } ].`);
    }
    const devices = new Map<string, RegisteredDevice>();
    records.forEach((record: unknown, index) => {
        const where = `${label} entry ${index + 1}`;
        if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new ConfigError(`${where} is not an object; write each device as a JSON object.`);
        const entry = record as Record<string, unknown>;
        const device: RegisteredDevice = {
            device_id: text(entry, 'device_id', where),
            cert_id: text(entry, 'cert_id', where),
            operator: text(entry, 'operator', where),
            public_key: text(entry, 'public_key', where),
            key: undefined as unknown as KeyObject,
        };
        device.key = parsePublicKey(device.public_key, `${where} (device ${device.device_id}) public_key`);
        if (entry.assets !== undefined) {
            const assets = entry.assets;
            if (!Array.isArray(assets) || assets.some((asset) => typeof asset !== 'string' || asset.trim() === '')) {
                throw new ConfigError(`${where} (device ${device.device_id}) has invalid assets; use an array of asset ids or leave the field out.`);
            }
            device.assets = assets.map((asset: string) => asset.trim());
        }
        if (devices.has(device.device_id)) throw new ConfigError(`${label} lists device ${device.device_id} twice; keep one entry per device.`);
        devices.set(device.device_id, device);
    });
    return devices;
}

export interface DeviceRegistryOptions {
    /** Minimum time between two checks of the file's modification time, in ms. Default 1000. */
    recheckMs?: number;
    /** Called when a changed file cannot be loaded; the previous devices stay in use. */
    onReloadError?: (err: Error) => void;
}

/**
 * Device registry backed by a JSON file. The first load throws a ConfigError for a missing or
 * invalid file. Afterwards the file is checked for changes (modification time, size and inode) on use,
 * at most once per `recheckMs`.
 * NOTE: when a changed file is invalid or deleted, the devices loaded before stay in use until the
 * file is valid again, so a typo does not stop ingestion; `lastReloadError` reports the problem.
 */
export class DeviceRegistry implements DeviceLookup {
    private devices: Map<string, RegisteredDevice>;
    private version = '';
    private checkedAt = 0;
    private readonly recheckMs: number;
    private reloadError?: Error;

    constructor(
        readonly path: string,
        private readonly options: DeviceRegistryOptions = {},
    ) {
        this.recheckMs = options.recheckMs ?? 1000;
        this.devices = this.load();
    }

    get size(): number {
        this.refresh();
        return this.devices.size;
    }

    /** The error of the last failed reload, cleared by a successful one. */
    get lastReloadError(): Error | undefined {
        return this.reloadError;
    }

    get(deviceId: string): RegisteredDevice | undefined {
        this.refresh();
        return this.devices.get(deviceId);
    }

    private fileVersion(): string {
        const stat = statSync(this.path);
        return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    }

    private load(): Map<string, RegisteredDevice> {
        let version: string;
        let content: string;
        try {
            version = this.fileVersion();
            content = readFileSync(this.path, 'utf8');
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            throw new ConfigError(`Device registry ${this.path} ${code === 'ENOENT' ? 'was not found' : `could not be read (${code})`}; create it as a JSON array of devices or correct the path.`, {
                cause: err,
                context: { file: this.path },
            });
        }
        let records: unknown;
        try {
            records = JSON.parse(content);
        } catch (err) {
            throw new ConfigError(`Device registry ${this.path} is not valid JSON (${(err as Error).message}); fix the file.`, { cause: err, context: { file: this.path } });
        }
        const devices = parseDeviceRecords(records, `Device registry ${this.path}`);
        this.version = version;
        this.checkedAt = Date.now();
        return devices;
    }

    private refresh(): void {
        const now = Date.now();
        if (now - this.checkedAt < this.recheckMs) return;
        this.checkedAt = now;
        let version: string;
        try {
            version = this.fileVersion();
        } catch (err) {
            this.failReload(toError(err));
            return;
        }
        if (version === this.version) return;
        try {
            this.devices = this.load();
            this.reloadError = undefined;
        } catch (err) {
            // Remember the broken version, so the same error is reported once and not on every use.
            this.version = version;
            this.failReload(toError(err));
        }
    }

    private failReload(err: Error): void {
        const repeated = this.reloadError?.message === err.message;
        this.reloadError = err;
        if (!repeated) this.options.onReloadError?.(err);
    }
}
