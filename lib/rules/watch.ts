// Watches a rules file for changes.
import { watchFile } from '../watch-file';

/** Calls `onChange` when the file's modification time, size or inode changes; returns the stop function. */
export function watchRulesFile(path: string, onChange: () => void, intervalMs = 1000): () => void {
    return watchFile(path, onChange, intervalMs);
}
