// The topics an MQTT client with a persistent session last subscribed to, kept in a file. A broker
// keeps a persistent session's subscriptions across reconnects and restarts. A client whose topics
// changed (another list, or a shared group set when a second runtime joins) would otherwise go on
// receiving messages through the old subscriptions.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Returns the file that records the subscriptions of client `clientId` under the data folder. */
export function subscriptionRecordPath(dataDir: string, clientId: string): string {
    return join(dataDir, 'mqtt', `${clientId.replace(/[^A-Za-z0-9._-]/g, '_')}.subscriptions.json`);
}

/**
 * Returns the topics recorded at `path`, or an empty list when the file is missing or invalid.
 * The record only serves to remove old subscriptions, so a broken file is treated as none.
 */
export function readSubscriptions(path: string): string[] {
    let text: string;
    try {
        text = readFileSync(path, 'utf8');
    } catch {
        return [];
    }
    try {
        const value: unknown = JSON.parse(text);
        const topics = (value as { topics?: unknown }).topics;
        return Array.isArray(topics) ? topics.filter((topic): topic is string => typeof topic === 'string' && topic !== '') : [];
    } catch {
        return [];
    }
}

/** Returns the file content that records `topics`. */
function recordText(topics: readonly string[]): string {
    return `${JSON.stringify({ topics: [...topics] }, null, 2)}\n`;
}

/** Writes `topics` to `path` through a temporary file, so a crash leaves either the old record or the new one. */
export function writeSubscriptions(path: string, topics: readonly string[]): void {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, recordText(topics));
    renameSync(temporary, path);
}

/**
 * Writes `topics` to `path` with `write` unless the file already contains exactly that record, so
 * a reconnect with unchanged topics leaves the file alone. Returns whether it wrote. A file that
 * cannot be read counts as changed, and a different order of the same topics counts as a change.
 */
export function updateSubscriptions(
    path: string,
    topics: readonly string[],
    write: (path: string, topics: readonly string[]) => void = writeSubscriptions,
): boolean {
    let current: string | undefined;
    try {
        current = readFileSync(path, 'utf8');
    } catch {
        current = undefined;
    }
    if (current === recordText(topics)) return false;
    write(path, topics);
    return true;
}

/** Returns the recorded topics that are not configured any more, to unsubscribe from. */
export function staleSubscriptions(recorded: readonly string[], configured: readonly string[]): string[] {
    const current = new Set(configured);
    return recorded.filter((topic) => !current.has(topic));
}
