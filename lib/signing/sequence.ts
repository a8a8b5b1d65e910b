// Sequence numbers of signed envelopes: increasing per device, so that the cloud can reject
// replays and duplicates.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

import { ConfigError } from '../errors';

/** Number of sequence numbers below the highest accepted one that may still arrive late. */
export const DEFAULT_REPLAY_WINDOW = 65_536;

/** Accepted envelopes per device whose signature is kept, to recognise a redelivery of the same envelope. */
export const DEFAULT_RECENT_SIGNATURES = 4_096;

/** Returns a 32-bit FNV-1a hash of a signature text: enough to tell a redelivery from other content. */
function signatureHash(sig: string): number {
    let hash = 0x811c9dc5;
    for (let index = 0; index < sig.length; index++) {
        hash ^= sig.charCodeAt(index);
        hash = Math.imul(hash, 0x01000193);
    }
    return hash >>> 0;
}

/**
 * Anti-replay state per device, in memory: the highest accepted sequence number and the numbers
 * accepted within a window below it. An MQTT broker that resumes a persistent session delivers
 * queued envelopes interleaved with live ones. A late envelope inside the window is therefore accepted
 * once; a number seen before, or older than the window, is a replay.
 */
export class SequenceState {
    private readonly devices = new Map<string, { highest: number; seen: Set<number>; recent: Map<number, number> }>();

    constructor(
        readonly window = DEFAULT_REPLAY_WINDOW,
        readonly recentSignatures = DEFAULT_RECENT_SIGNATURES,
    ) {}

    /** Returns the highest accepted sequence number of a device, or undefined before the first. */
    lastAccepted(deviceId: string): number | undefined {
        return this.devices.get(deviceId)?.highest;
    }

    /** Returns true when `seq` was not accepted before and lies within the window. */
    isFresh(deviceId: string, seq: number): boolean {
        const state = this.devices.get(deviceId);
        if (!state) return true;
        if (seq <= state.highest - this.window) return false;
        return !state.seen.has(seq);
    }

    /** Returns true when `seq` is older than the window of the device. */
    isStale(deviceId: string, seq: number): boolean {
        const state = this.devices.get(deviceId);
        return state !== undefined && seq <= state.highest - this.window;
    }

    /**
     * Returns true when `seq` was accepted recently with the same signature: the same envelope
     * delivered again, as MQTT and Kafka do after a reconnect. Ed25519 signatures are deterministic,
     * so the same content has the same signature.
     */
    isRedelivery(deviceId: string, seq: number, sig: string): boolean {
        return this.devices.get(deviceId)?.recent.get(seq) === signatureHash(sig);
    }

    /** Records an accepted sequence number (and its signature) and drops the numbers that left the window. */
    accept(deviceId: string, seq: number, sig?: string): void {
        let state = this.devices.get(deviceId);
        if (!state) {
            state = { highest: seq, seen: new Set(), recent: new Map() };
            this.devices.set(deviceId, state);
        }
        state.seen.add(seq);
        if (sig !== undefined && this.recentSignatures > 0) {
            state.recent.set(seq, signatureHash(sig));
            // A Map iterates in insertion order, so the first key is the oldest kept signature.
            if (state.recent.size > this.recentSignatures) state.recent.delete(state.recent.keys().next().value as number);
        }
        if (seq > state.highest) {
            state.highest = seq;
            // Pruning costs a pass over the set, so it runs once the set is twice the window.
            if (state.seen.size > 2 * this.window) {
                for (const old of state.seen) if (old <= seq - this.window) state.seen.delete(old);
            }
        }
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
