// Configuration of the ul-opcua-endpoint config node: one OPC UA server, its security settings,
// the client certificate files and the user that the shared session logs in as.
import { accessSync, constants } from 'node:fs';

import { ConfigError } from '../errors';
import { DEFAULT_PKI_FOLDER, parseEndpointUrl, parseSecurity, resolveUnderDataDir, type OpcUaConnectionSettings } from './config';

export interface RawOpcUaEndpointConfig {
    endpoint?: unknown;
    securityMode?: unknown;
    securityPolicy?: unknown;
    /** Client certificate file (PEM or DER); relative paths are resolved under the data folder. */
    certificateFile?: unknown;
    /** Private key file (PEM) of the client certificate; relative paths are resolved under the data folder. */
    privateKeyFile?: unknown;
    /** PKI folder with the trust list (trusted/certs) and rejected certificates. Default `opcua-pki`. */
    trustListFolder?: unknown;
    acceptUnknownCertificate?: unknown;
    /** User name for the session; empty for an anonymous session. */
    userName?: unknown;
}

/** Credentials of the config node, stored by Node-RED outside the flow file. */
export interface OpcUaEndpointCredentials {
    password?: unknown;
}

// Node-RED replaces a whole-value ${NAME} reference with the variable's value and leaves the
// text as it is when the variable is not set.
const UNSET_REFERENCE = /^\$\{(\S+)\}$/;

function text(value: unknown): string {
    return typeof value === 'string' ? value.trim() : '';
}

/** Throws when the variable behind a `${NAME}` reference was not set. */
function checkResolved(value: string, field: string): void {
    const unset = UNSET_REFERENCE.exec(value);
    if (unset) {
        throw new ConfigError(`The ${field} refers to the environment variable ${unset[1]}, which is not set; set it in the runtime's environment or enter the value itself.`);
    }
}

/** Resolves a file path under the data folder and checks that the runtime can read it. */
function readableFile(value: string, field: string, dataDir: string): string {
    const path = resolveUnderDataDir(value, dataDir, value);
    try {
        accessSync(path, constants.R_OK);
    } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new ConfigError(`The ${field} "${value}" cannot be read (${path}: ${reason}); put the file there or correct the path, which is relative to the data folder ${dataDir}.`, {
            cause: err,
        });
    }
    return path;
}

/** Checks the config node's fields and credentials and returns the connection settings. */
export function parseOpcUaEndpointConfig(raw: RawOpcUaEndpointConfig, credentials: OpcUaEndpointCredentials, dataDir: string): OpcUaConnectionSettings {
    const settings: OpcUaConnectionSettings = {
        endpoint: parseEndpointUrl(raw.endpoint),
        ...parseSecurity(raw.securityMode, raw.securityPolicy),
        pkiFolder: resolveUnderDataDir(raw.trustListFolder, dataDir, DEFAULT_PKI_FOLDER),
        acceptUnknownCertificate: raw.acceptUnknownCertificate === true || raw.acceptUnknownCertificate === 'true',
    };

    const certificateFile = text(raw.certificateFile);
    const privateKeyFile = text(raw.privateKeyFile);
    if ((certificateFile === '') !== (privateKeyFile === '')) {
        const missing = certificateFile === '' ? 'certificate file' : 'private key file';
        throw new ConfigError(`The ${missing} is missing; give both the client certificate and its private key, or neither to use the certificate in the PKI folder.`);
    }
    if (certificateFile !== '') {
        settings.certificateFile = readableFile(certificateFile, 'certificate file', dataDir);
        settings.privateKeyFile = readableFile(privateKeyFile, 'private key file', dataDir);
    }

    const userName = text(raw.userName);
    const password = typeof credentials.password === 'string' ? credentials.password : '';
    checkResolved(userName, 'user name');
    checkResolved(password, 'password');
    if (userName === '' && password !== '') {
        throw new ConfigError('A password is set but the user name is empty; enter the user name, or clear the password for an anonymous session.');
    }
    if (userName !== '' && password === '') {
        throw new ConfigError(`User ${userName} has no password; enter the password (stored as a credential, or a \${NAME} reference to an environment variable).`);
    }
    if (userName !== '') settings.user = { userName, password };
    return settings;
}

/** Node that a reader finds under the id in its `endpoint` property. */
export interface EndpointCandidate<Session> {
    type?: string;
    name?: string;
    /** The shared session; absent when the config node rejected its configuration. */
    session?: Session;
    /** Reason the config node rejected its configuration. */
    problem?: string;
}

/**
 * Returns the shared session of the endpoint config node that a reader references. Throws a
 * ConfigError naming the id when that node is missing, of another type, or not configured.
 */
export function endpointSession<Session>(id: string, found: EndpointCandidate<Session> | null | undefined): Session {
    if (!found || found.type !== 'ul-opcua-endpoint') {
        throw new ConfigError(`The OPC UA endpoint "${id}" (property endpoint) was not found; select an existing OPC UA endpoint config node, or add one with that id.`);
    }
    if (!found.session) {
        const name = found.name ? `${found.name} (${id})` : id;
        throw new ConfigError(`The OPC UA endpoint ${name} is not configured: ${found.problem ?? 'its configuration was rejected'}`);
    }
    return found.session;
}
