import { createHash } from 'node:crypto';

/** Namespace of alert event ids, a random UUID fixed for this product. */
const NAMESPACE = Buffer.from('6f1c2a9e4b7d4e0f9a3c5d8e1f2b7c40', 'hex');

/**
 * Derives the id of an alert event from what identifies the incident: rule, asset, metric and
 * the reading time that opened it (a name-based UUID, version 5, RFC 9562). A reading delivered
 * twice, or a replay after a restart, opens the same incident again with the same id, so the
 * store keeps one event and the router sends one notification.
 */
export function alertEventId(ruleId: string, assetId: string, metric: string, openedAt: string): string {
    const hash = createHash('sha1').update(NAMESPACE).update([ruleId, assetId, metric, new Date(openedAt).toISOString()].join('\u0000')).digest();
    hash[6] = (hash[6] & 0x0f) | 0x50;
    hash[8] = (hash[8] & 0x3f) | 0x80;
    const hex = hash.subarray(0, 16).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
