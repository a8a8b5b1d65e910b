// Sequence numbers of signed envelopes: strictly increasing per device, so that the cloud can
// reject replays and duplicates.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

import { ConfigError } from '../errors';

/** Last accepted sequence number per device, in memory. */
export class SequenceState {
    private readonly last = new Map<string, number>();

    /** Returns the last accepted sequence number of a device, or undefined before the first. */
    lastAccepted(deviceId: string): number | undefined {
        return this.last.get(deviceId);
    }

    /** Returns true when `seq` is greater than the last accepted sequence number of the device. */
    isFresh(deviceId: string, seq: number): boolean {
        const last = this.last.get(deviceId);
        return last === undefined || seq > last;
    }

    /** Records an accepted sequence number; a smaller one leaves the state unchanged. */
    accept(deviceId: string, seq: number): void {
        if (this.isFresh(deviceId, seq)) this.last.set(deviceId, seq);
    }
}

/** Default number of sequence numbers reserved per write of the high-water mark file. */
export const DEFAULT_SEQUENCE_BLOCK = 1000;

/**
 * Hands out strictly increasing sequence numbers that survive restarts. The file contains a
 * high-water mark: every number up to it may have been used. Numbers are reserved in blocks, so the
 * file is written once per block rather than once per envelope. After a restart numbering continues
 * above the mark, skipping the unused rest of the last block.
 */
export class SequenceCounter {
    private nextValue: number;
    private reservedUpTo: number;

    /** Reads the mark and reserves the first block; throws a ConfigError when the file cannot be read or written. */
    constructor(
        readonly path: string,
        private readonly blockSize: number = DEFAULT_SEQUENCE_BLOCK,
    ) {
        if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new ConfigError(`Sequence block size ${blockSize} is invalid; use a whole number of 1 or more.`);
        const mark = SequenceCounter.readMark(path);
        this.nextValue = mark + 1;
        this.reservedUpTo = mark;
        this.reserve();
    }

    /** Returns the high-water mark stored in `path`, 0 when the file does not exist. */
    static readMark(path: string): number {
        let content: string;
        try {
            content = readFileSync(path, 'utf8');
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') return 0;
            throw new ConfigError(`Sequence file ${path} could not be read (${code}); check its permissions.`, { cause: err, context: { file: path } });
        }
        const mark = Number(content.trim());
        if (content.trim() === '' || !Number.isSafeInteger(mark) || mark < 0) {
            throw new ConfigError(
                `Sequence file ${path} contains "${content.trim().slice(0, 40)}", not a sequence number; write the highest sequence number the device has sent into it (a larger number is safe).`,
                { context: { file: path } },
            );
        }
        return mark;
    }

    /** Returns the next sequence number, writing a new mark first when the reserved block is used up. */
    next(): number {
        if (this.nextValue > this.reservedUpTo) this.reserve();
        return this.nextValue++;
    }

    private reserve(): void {
        const mark = this.reservedUpTo + this.blockSize;
        const temporary = `${this.path}.tmp`;
        try {
            // Write, flush and rename, so that a crash leaves either the old or the new mark.
            const fd = openSync(temporary, 'w', 0o600);
            try {
                writeSync(fd, `${mark}\n`);
                fsyncSync(fd);
            } finally {
                closeSync(fd);
            }
            renameSync(temporary, this.path);
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            throw new ConfigError(`Sequence file ${this.path} could not be written (${code ?? (err as Error).message}); make its folder writable.`, {
                cause: err,
                context: { file: this.path },
            });
        }
        this.reservedUpTo = mark;
    }
}
