// Replay positions kept on disk, so that a restarted runtime continues each replay on the same
// timeline instead of playing its file again over time already stored.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import type { ReplayCheckpoint } from './player';

export interface SavedReplay {
    /** Settings the checkpoint belongs to; a checkpoint of other settings is ignored. */
    file: string;
    speed: number;
    timestamps: string;
    /** Set when a replay without looping reached the end of its file. */
    finished: boolean;
    checkpoint?: ReplayCheckpoint;
}

/** Reads a saved replay position; returns undefined for a missing, unreadable or foreign file. */
export function readSavedReplay(path: string, expected: Pick<SavedReplay, 'file' | 'speed' | 'timestamps'>): SavedReplay | undefined {
    let saved: SavedReplay;
    try {
        saved = JSON.parse(readFileSync(path, 'utf8')) as SavedReplay;
    } catch {
        // No position yet, or a file cut short by a crash: the replay starts from the top.
        return undefined;
    }
    if (saved.file !== expected.file || saved.speed !== expected.speed || saved.timestamps !== expected.timestamps) return undefined;
    return saved;
}

/** Writes the position through a temporary file and a rename, so a crash leaves the old or the new one. */
export function writeSavedReplay(path: string, saved: SavedReplay): void {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, JSON.stringify(saved) + '\n');
    renameSync(temporary, path);
}

export function removeSavedReplay(path: string): void {
    rmSync(path, { force: true });
}
