// Watches a file by polling its modification time, size and inode. Polling also notices editors
// that save by writing a new file and renaming it over the old one, which fs.watch misses.
import { statSync } from 'node:fs';

/**
 * Calls `onChange` whenever the file's modification time, size or inode changes, checking every
 * `intervalMs`. The first state is read now, synchronously, so a change made right after this
 * call is seen even when the process is too busy to take a first sample soon (fs.watchFile
 * samples asynchronously and misses such a change). Returns a function that stops watching.
 */
export function watchFile(path: string, onChange: () => void, intervalMs = 1000): () => void {
    const version = (): string => {
        try {
            const stat = statSync(path);
            return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
        } catch {
            // A missing file is a state of its own; the listener reports it when it reads the file.
            return 'missing';
        }
    };
    let last = version();
    const timer = setInterval(() => {
        const current = version();
        if (current === last) return;
        last = current;
        onChange();
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
}
