// Ed25519 device keys in PEM files: `<device_id>.key` (private, PKCS#8) and `<device_id>.pub` (SPKI).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError } from '../errors';

const KEYGEN_HINT = 'create one with `openssl genpkey -algorithm ed25519 -out <file>` or generateDeviceKey in lib/signing/keys';
const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function readKeyFile(path: string, kind: string): string {
    try {
        return readFileSync(path, 'utf8');
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const problem = code === 'ENOENT' ? 'was not found' : `could not be read (${code ?? (err as Error).message})`;
        throw new ConfigError(`The ${kind} key file ${path} ${problem}; ${KEYGEN_HINT}, or correct the path.`, {
            cause: err,
            context: { file: path },
        });
    }
}

function requireEd25519(key: KeyObject, label: string): KeyObject {
    if (key.asymmetricKeyType !== 'ed25519') {
        throw new ConfigError(`${label} contains a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not Ed25519; ${KEYGEN_HINT}.`);
    }
    return key;
}

/** Parses a PEM Ed25519 private key; `label` names its origin in errors. */
export function parsePrivateKey(pem: string, label: string): KeyObject {
    let key: KeyObject;
    try {
        key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (err) {
        throw new ConfigError(`${label} is not a PEM private key (${(err as Error).message}); ${KEYGEN_HINT}.`, { cause: err });
    }
    return requireEd25519(key, label);
}

/** Parses a PEM Ed25519 public key; `label` names its origin in errors. */
export function parsePublicKey(pem: string, label: string): KeyObject {
    // createPublicKey would derive the public half of a private key, and accept a secret that
    // must never sit in a public-key file or a registry.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
        throw new ConfigError(`${label} contains a private key where a public key is expected; export the public part with \`openssl pkey -in <key> -pubout\`.`);
    }
    let key: KeyObject;
    try {
        key = createPublicKey({ key: pem, format: 'pem' });
    } catch (err) {
        throw new ConfigError(`${label} is not a PEM public key (${(err as Error).message}); export it with \`openssl pkey -in <key> -pubout\`.`, { cause: err });
    }
    return requireEd25519(key, label);
}

/** Loads an Ed25519 private key from a PEM file; throws a ConfigError with the path and the fix. */
export function loadPrivateKey(path: string): KeyObject {
    return parsePrivateKey(readKeyFile(path, 'private'), `Key file ${path}`);
}

/** Loads an Ed25519 public key from a PEM file; throws a ConfigError with the path and the fix. */
export function loadPublicKey(path: string): KeyObject {
    return parsePublicKey(readKeyFile(path, 'public'), `Key file ${path}`);
}

/**
 * Creates an Ed25519 key pair for a device: writes `<deviceId>.key` (mode 0600) and `<deviceId>.pub`
 * into `folder`, creating the folder, and returns the public key PEM for the device registry.
 * Refuses to overwrite an existing key, since that would lock the device out of the registry.
 */
export function generateDeviceKey(folder: string, deviceId: string): string {
    if (!DEVICE_ID_PATTERN.test(deviceId)) {
        throw new ConfigError(`Device id "${deviceId}" cannot name a key file; use letters, digits, dot, dash and underscore.`);
    }
    const keyPath = join(folder, `${deviceId}.key`);
    const publicPath = join(folder, `${deviceId}.pub`);
    if (existsSync(keyPath) || existsSync(publicPath)) {
        throw new ConfigError(`A key for device ${deviceId} already exists in ${folder}; use it, or move the old .key and .pub files away first.`);
    }
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    mkdirSync(folder, { recursive: true });
    // The flag 'wx' fails instead of overwriting a key file created in the meantime.
    writeFileSync(keyPath, privatePem, { mode: 0o600, flag: 'wx' });
    writeFileSync(publicPath, publicPem, { mode: 0o644, flag: 'wx' });
    return publicPem;
}
