// The open alerts of a rules node in a runtime without a store (the edge), saved to a file so
// that a restart keeps their ids instead of raising the same conditions again (see
// RulesEngine.restore).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import type { AlertEvent } from '../types';

/** Returns the saved open alerts; none when the file does not exist. Throws for an unreadable file. */
export function readSavedAlerts(path: string): AlertEvent[] {
    if (!existsSync(path)) return [];
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { alerts?: unknown };
    if (!Array.isArray(parsed.alerts)) throw new Error(`${path} has no "alerts" list`);
    return parsed.alerts as AlertEvent[];
}

/** Replaces the saved open alerts; a crash during the write leaves the previous file whole. */
export function writeSavedAlerts(path: string, alerts: AlertEvent[]): void {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ alerts }, null, 1)}\n`);
    renameSync(temporary, path);
}
