// Configuration of the OPC UA reader: the server connection (endpoint, security, PKI folder) and
// the subscription (monitored nodes and intervals). A reader takes its connection from an
// ul-opcua-endpoint config node, or from its own fields in flows made before that node existed.
import { isAbsolute, join, resolve } from 'node:path';

import { ConfigError } from '../errors';
import { loadOpcUa } from './load';

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
export const SECURITY_POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep'] as const;

export type SecurityModeName = (typeof SECURITY_MODES)[number];
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];

/** One monitored node and the tag name its values carry. */
export interface MonitoredTag {
    nodeId: string;
    tag: string;
}

/** Connection settings of one OPC UA server: address, security and the client's identity. */
export interface OpcUaConnectionSettings {
    /** Server endpoint, for example opc.tcp://127.0.0.1:4840. */
    endpoint: string;
    securityMode: SecurityModeName;
    securityPolicy: SecurityPolicyName;
    /** Folder of the client's PKI: own certificate and key, trusted and rejected server certificates. */
    pkiFolder: string;
    /** Trust a server certificate that is not in the PKI's trusted folder (and store it there). */
    acceptUnknownCertificate: boolean;
    /** Client certificate file; when absent, node-opcua creates a self-signed one in the PKI folder. */
    certificateFile?: string;
    /** Private key file (PEM) of the client certificate; set together with `certificateFile`. */
    privateKeyFile?: string;
    /** User name and password for the session; the session is anonymous when absent. */
    user?: { userName: string; password: string };
}

/** Monitored nodes and intervals of one reader's subscription. */
export interface OpcUaSubscriptionSettings {
    items: MonitoredTag[];
    /** Sampling interval requested for each monitored item, in milliseconds. */
    samplingIntervalMs: number;
    /** Publishing interval requested for the subscription, in milliseconds. */
    publishingIntervalMs: number;
}

/** Settings of a reader with its own connection. */
export interface OpcUaReaderSettings extends OpcUaConnectionSettings, OpcUaSubscriptionSettings {}

/**
 * A checked reader configuration: either the id of the ul-opcua-endpoint config node to share,
 * or the reader's own connection settings.
 */
export type OpcUaReaderConfig =
    | { mode: 'endpoint'; endpointId: string; subscription: OpcUaSubscriptionSettings }
    | { mode: 'own'; settings: OpcUaReaderSettings };

export interface RawOpcUaReaderConfig {
    /**
     * Id of an ul-opcua-endpoint config node. Flows made before that node existed hold the
     * server URL here, which selects the reader's own connection settings.
     */
    endpoint?: unknown;
    /** Server URL of the reader's own connection, used when `endpoint` is empty. */
    endpointUrl?: unknown;
    securityMode?: unknown;
    securityPolicy?: unknown;
    /** PKI folder; relative paths are resolved under the data folder. Default `opcua-pki`. */
    pkiFolder?: unknown;
    acceptUnknownCertificate?: unknown;
    /** JSON array (text or parsed) of { nodeId, tag }. */
    items?: unknown;
    samplingInterval?: unknown;
    publishingInterval?: unknown;
}

export const DEFAULT_PKI_FOLDER = 'opcua-pki';

function readInterval(value: unknown, name: string, fallback: number): number {
    if (value === undefined || value === null || value === '') return fallback;
    const number = typeof value === 'number' ? value : Number(String(value).trim());
    if (!Number.isFinite(number) || number < 0) throw new ConfigError(`The ${name} "${String(value)}" is invalid; enter a number of milliseconds, 0 or more.`);
    return number;
}

function parseItems(items: unknown): MonitoredTag[] {
    let list = items;
    if (typeof items === 'string') {
        try {
            list = JSON.parse(items.trim() === '' ? '[]' : items);
        } catch (err) {
            throw new ConfigError(`The node list is not valid JSON (${(err as Error).message}); write it as [{ "nodeId": "ns=1;s=WellheadPressure", "tag": "WHP" }].`, { cause: err });
        }
    }
    if (!Array.isArray(list) || list.length === 0) {
        throw new ConfigError('The node list is empty; add at least one { "nodeId": ..., "tag": ... } entry.');
    }
    const { resolveNodeId } = loadOpcUa();
    const tags = new Set<string>();
    return list.map((entry, index) => {
        const where = `Node list entry ${index + 1}`;
        const record = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
        const nodeId = typeof record.nodeId === 'string' ? record.nodeId.trim() : '';
        if (nodeId === '') throw new ConfigError(`${where} has no nodeId; give the node id, such as ns=1;s=WellheadPressure.`);
        try {
            resolveNodeId(nodeId);
        } catch (err) {
            throw new ConfigError(`${where} has the invalid node id "${nodeId}"; write it as ns=<index>;s=<name> or ns=<index>;i=<number>.`, { cause: err });
        }
        const tag = typeof record.tag === 'string' && record.tag.trim() !== '' ? record.tag.trim() : nodeId;
        if (tags.has(tag)) throw new ConfigError(`The node list uses tag ${tag} twice; give every node its own tag.`);
        tags.add(tag);
        return { nodeId, tag };
    });
}

/** Checks an OPC UA TCP endpoint URL and returns it trimmed. */
export function parseEndpointUrl(value: unknown): string {
    const endpoint = typeof value === 'string' ? value.trim() : '';
    if (!/^opc\.tcp:\/\/[^/\s]+/.test(endpoint)) {
        throw new ConfigError(`The endpoint "${endpoint}" is invalid; enter an OPC UA TCP endpoint such as opc.tcp://127.0.0.1:4840.`);
    }
    return endpoint;
}

/** Checks a security mode and policy pair; None goes only with None. */
export function parseSecurity(rawMode: unknown, rawPolicy: unknown): { securityMode: SecurityModeName; securityPolicy: SecurityPolicyName } {
    const securityMode = (rawMode || 'None') as SecurityModeName;
    if (!SECURITY_MODES.includes(securityMode)) {
        throw new ConfigError(`The security mode "${String(rawMode)}" is unknown; choose ${SECURITY_MODES.join(', ')}.`);
    }
    const securityPolicy = (rawPolicy || 'None') as SecurityPolicyName;
    if (!SECURITY_POLICIES.includes(securityPolicy)) {
        throw new ConfigError(`The security policy "${String(rawPolicy)}" is unknown; choose ${SECURITY_POLICIES.join(', ')}.`);
    }
    if ((securityMode === 'None') !== (securityPolicy === 'None')) {
        throw new ConfigError(
            `Security mode ${securityMode} does not go with policy ${securityPolicy}; use mode None with policy None, or Sign or SignAndEncrypt with Basic256Sha256 or Aes128_Sha256_RsaOaep.`,
        );
    }
    return { securityMode, securityPolicy };
}

/** Resolves a folder or file path: relative paths start at the data folder, empty means `fallback`. */
export function resolveUnderDataDir(value: unknown, dataDir: string, fallback: string): string {
    const path = typeof value === 'string' && value.trim() !== '' ? value.trim() : fallback;
    return isAbsolute(path) ? path : resolve(join(dataDir, path));
}

/** Checks the monitored nodes and the intervals of a reader. */
export function parseSubscriptionConfig(raw: RawOpcUaReaderConfig): OpcUaSubscriptionSettings {
    return {
        items: parseItems(raw.items),
        samplingIntervalMs: readInterval(raw.samplingInterval, 'sampling interval', 1000),
        publishingIntervalMs: readInterval(raw.publishingInterval, 'publishing interval', 1000),
    };
}

/**
 * Checks the reader's own connection fields (the fields of flows made before the endpoint config
 * node) together with its subscription, and returns the settings.
 */
export function parseOwnReaderSettings(raw: RawOpcUaReaderConfig, dataDir: string): OpcUaReaderSettings {
    const url = typeof raw.endpoint === 'string' && raw.endpoint.includes('://') ? raw.endpoint : raw.endpointUrl;
    return {
        endpoint: parseEndpointUrl(url),
        ...parseSecurity(raw.securityMode, raw.securityPolicy),
        pkiFolder: resolveUnderDataDir(raw.pkiFolder, dataDir, DEFAULT_PKI_FOLDER),
        acceptUnknownCertificate: raw.acceptUnknownCertificate === true || raw.acceptUnknownCertificate === 'true',
        ...parseSubscriptionConfig(raw),
    };
}

/**
 * Checks the node configuration of a reader; throws a ConfigError naming the field.
 *
 * `endpoint` holding a config node id selects that shared endpoint. `endpoint` holding a URL (a
 * flow made before the endpoint config node) or left empty with `endpointUrl` set selects the
 * reader's own connection fields.
 */
export function parseOpcUaReaderConfig(raw: RawOpcUaReaderConfig, dataDir: string): OpcUaReaderConfig {
    const endpoint = typeof raw.endpoint === 'string' ? raw.endpoint.trim() : '';
    const endpointUrl = typeof raw.endpointUrl === 'string' ? raw.endpointUrl.trim() : '';
    if (endpoint !== '' && !endpoint.includes('://')) {
        return { mode: 'endpoint', endpointId: endpoint, subscription: parseSubscriptionConfig(raw) };
    }
    if (endpoint === '' && endpointUrl === '') {
        throw new ConfigError('No OPC UA endpoint is selected (property endpoint); select an OPC UA endpoint config node, or enter the server URL in the reader\'s own connection fields.');
    }
    return { mode: 'own', settings: parseOwnReaderSettings(raw, dataDir) };
}
