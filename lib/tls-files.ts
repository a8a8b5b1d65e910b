// PEM files of an MQTT client's TLS settings, read from disk so that certificates and keys never
// sit in a flow file. Shared by the edge's forward queue and the cloud's MQTT intake.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { ConfigError } from './errors';

export interface TlsFileSettings {
    /** CA certificate that signed the broker's certificate; empty for the system's CAs. */
    caFile?: string;
    /** Client certificate for mutual TLS; set together with keyFile. */
    certFile?: string;
    keyFile?: string;
}

export interface TlsFiles {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
}

const FIELDS = [
    ['caFile', 'ca'],
    ['certFile', 'cert'],
    ['keyFile', 'key'],
] as const;

/**
 * Reads the files named in `settings`, relative paths from `baseDir`. Throws a ConfigError that
 * names the field and file when one cannot be read, or when a certificate comes without its key
 * or a key without its certificate.
 */
export function readTlsFiles(settings: TlsFileSettings, baseDir: string): TlsFiles {
    const files: TlsFiles = {};
    for (const [field, option] of FIELDS) {
        const path = (settings[field] ?? '').trim();
        if (path === '') continue;
        const file = isAbsolute(path) ? path : resolve(baseDir, path);
        try {
            files[option] = readFileSync(file);
        } catch (err) {
            throw new ConfigError(`Reading the TLS file ${field} (${file}) failed: ${(err as Error).message}. Enter a path to a PEM file, relative to the data folder or absolute.`, {
                context: { field, file },
            });
        }
    }
    if ((files.cert === undefined) !== (files.key === undefined)) {
        throw new ConfigError('A client certificate needs its key and a key needs its certificate; fill in both the certificate and the key file, or neither.');
    }
    return files;
}
