// Watches a rules file for changes. Polling (fs.watchFile) also notices editors that save by
// writing a new file and renaming it over the old one, which fs.watch on the file misses.
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** Calls `onChange` when the file's modification time, size or inode changes; returns the stop function. */
export function watchRulesFile(path: string, onChange: () => void, intervalMs = 1000): () => void {
    const listener = (current: Stats, previous: Stats): void => {
        if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) onChange();
    };
    watchFile(path, { interval: intervalMs, persistent: false }, listener);
    return () => unwatchFile(path, listener);
}
