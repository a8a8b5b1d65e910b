// Configuration of the OPC UA reader: endpoint, security, PKI folder, monitored nodes and intervals.
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

export interface OpcUaReaderSettings {
    /** Server endpoint, for example opc.tcp://127.0.0.1:4840. */
    endpoint: string;
    securityMode: SecurityModeName;
    securityPolicy: SecurityPolicyName;
    /** Folder of the client's PKI: own certificate and key, trusted and rejected server certificates. */
    pkiFolder: string;
    /** Trust a server certificate that is not in the PKI's trusted folder (and store it there). */
    acceptUnknownCertificate: boolean;
    items: MonitoredTag[];
    /** Sampling interval requested for each monitored item, in milliseconds. */
    samplingIntervalMs: number;
    /** Publishing interval requested for the subscription, in milliseconds. */
    publishingIntervalMs: number;
}

export interface RawOpcUaReaderConfig {
    endpoint?: unknown;
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

/** Checks the node configuration and returns the settings; throws a ConfigError naming the field. */
export function parseOpcUaReaderConfig(raw: RawOpcUaReaderConfig, dataDir: string): OpcUaReaderSettings {
    const endpoint = typeof raw.endpoint === 'string' ? raw.endpoint.trim() : '';
    if (!/^opc\.tcp:\/\/[^/\s]+/.test(endpoint)) {
        throw new ConfigError(`The endpoint "${endpoint}" is invalid; enter an OPC UA TCP endpoint such as opc.tcp://127.0.0.1:4840.`);
    }
    const securityMode = (raw.securityMode || 'None') as SecurityModeName;
    if (!SECURITY_MODES.includes(securityMode)) {
        throw new ConfigError(`The security mode "${String(raw.securityMode)}" is unknown; choose ${SECURITY_MODES.join(', ')}.`);
    }
    const securityPolicy = (raw.securityPolicy || 'None') as SecurityPolicyName;
    if (!SECURITY_POLICIES.includes(securityPolicy)) {
        throw new ConfigError(`The security policy "${String(raw.securityPolicy)}" is unknown; choose ${SECURITY_POLICIES.join(', ')}.`);
    }
    if ((securityMode === 'None') !== (securityPolicy === 'None')) {
        throw new ConfigError(
            `Security mode ${securityMode} does not go with policy ${securityPolicy}; use mode None with policy None, or Sign or SignAndEncrypt with Basic256Sha256 or Aes128_Sha256_RsaOaep.`,
        );
    }
    const folder = typeof raw.pkiFolder === 'string' && raw.pkiFolder.trim() !== '' ? raw.pkiFolder.trim() : DEFAULT_PKI_FOLDER;
    const pkiFolder = isAbsolute(folder) ? folder : resolve(join(dataDir, folder));
    return {
        endpoint,
        securityMode,
        securityPolicy,
        pkiFolder,
        acceptUnknownCertificate: raw.acceptUnknownCertificate === true || raw.acceptUnknownCertificate === 'true',
        items: parseItems(raw.items),
        samplingIntervalMs: readInterval(raw.samplingInterval, 'sampling interval', 1000),
        publishingIntervalMs: readInterval(raw.publishingInterval, 'publishing interval', 1000),
    };
}
