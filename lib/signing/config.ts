// Configuration of the sign and verify nodes: ids and the files they read, resolved against the
// runtime data folder.
import { isAbsolute, resolve } from 'node:path';

import { ConfigError } from '../errors';

/** Resolves a configured file: absolute paths stay, relative ones start in `dataDir`, else in the working directory. */
export function resolveRuntimeFile(file: string, dataDir?: string): string {
    return isAbsolute(file) ? file : resolve(dataDir ?? process.cwd(), file);
}

export interface SignSettings {
    deviceId: string;
    certId: string;
    operator: string;
    /** Absolute path of the PEM private key. */
    keyFile: string;
}

const TOPIC_LEVEL = /^[^/+#\u0000]+$/;

function required(value: unknown, name: string, example: string): string {
    const text = typeof value === 'string' ? value.trim() : '';
    if (text === '') throw new ConfigError(`No ${name} is set; enter it, for example ${example}.`);
    return text;
}

/** Checks the sign node configuration; throws a ConfigError naming the missing or invalid option. */
export function parseSignConfig(config: { deviceId?: unknown; certId?: unknown; operator?: unknown; keyFile?: unknown }, dataDir?: string): SignSettings {
    const deviceId = required(config.deviceId, 'device id', 'edge-01');
    const certId = required(config.certId, 'certificate id', 'edge-01-2024');
    const operator = required(config.operator, 'operator', 'petrobras');
    if (!TOPIC_LEVEL.test(operator)) throw new ConfigError(`Operator "${operator}" cannot be part of an MQTT topic; use an id without /, + or #.`);
    const keyFile = resolveRuntimeFile(required(config.keyFile, 'key file', 'keys/edge-01.key'), dataDir);
    return { deviceId, certId, operator, keyFile };
}

export interface SignBatchSettings {
    /** 0 signs every message on its own; above 0, readings of several messages wait this long at most for one envelope. */
    windowMs: number;
    /** Maximum readings in one envelope. */
    maxReadings: number;
}

function wholeNumber(value: unknown, name: string, min: number, max: number, fallback: number): number {
    if (value === undefined || value === '') return fallback;
    let number = Number.NaN;
    if (typeof value === 'number') number = value;
    else if (typeof value === 'string') number = Number(value.trim());
    if (!Number.isInteger(number) || number < min || number > max) {
        throw new ConfigError(`The ${name} is ${JSON.stringify(value)}; enter a whole number from ${min} to ${max}.`);
    }
    return number;
}

/** Checks the batching options of the sign node; throws a ConfigError naming the invalid one. */
export function parseSignBatchConfig(config: { batchMs?: unknown; batchMax?: unknown }): SignBatchSettings {
    return {
        windowMs: wholeNumber(config.batchMs, 'batch window (ms)', 0, 60_000, 0),
        maxReadings: wholeNumber(config.batchMax, 'maximum readings per envelope', 1, 10_000, 1_000),
    };
}

/** Checks the verify node configuration and returns the absolute path of the device registry. */
export function parseVerifyConfig(config: { registryFile?: unknown }, dataDir?: string): string {
    return resolveRuntimeFile(required(config.registryFile, 'device registry file', 'devices.json'), dataDir);
}
