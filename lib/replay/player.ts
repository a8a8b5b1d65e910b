// Plays a replay file in source time, scaled by a speed factor, with pause, resume and stop.
import { basename } from 'node:path';

import { toError } from '../errors';
import { readReplayFile, scanReplayFile, type ReplayLine, type ReplayRow, type ReplayScan, type RowError, type RowSlice } from './reader';
import { emitTime, shiftedTimestamp, type ReplayClock } from './time-shift';

export type TimestampMode = 'shift-to-now' | 'original';

export type PlayerState = 'idle' | 'scanning' | 'playing' | 'paused' | 'stopped' | 'finished';

export interface ReplayOptions extends RowSlice {
    /** Absolute path of the replay file. */
    path: string;
    /** Speed factor, > 0: 1 is real time, 60 plays a minute of data per second, Infinity as fast as possible. */
    speed: number;
    /** 'shift-to-now' moves timestamps so that the data ends now (see shiftedTimestamp); 'original' keeps them. */
    timestamps: TimestampMode;
    /** Whether to start again from the first row after the last. Default false. */
    loop?: boolean;
    /**
     * Maximum rows handled in one turn of the event loop before yielding with setImmediate.
     * Default 200.
     */
    chunkSize?: number;
    /** Clock, for tests. Default Date.now. */
    now?: () => number;
}

/** Completion summary of one pass through the file. */
export interface ReplaySummary {
    /** Base name of the file. */
    file: string;
    /** Rows emitted. */
    rows: number;
    /** Invalid rows reported. */
    rejected: number;
    /** ISO 8601 UTC wall-clock time the pass started. */
    started_at: string;
    /** ISO 8601 UTC wall-clock time the pass ended. */
    finished_at: string;
}

/** Position of a pass, enough to continue the same timeline after a restart. */
export interface ReplayCheckpoint {
    clock: ReplayClock;
    /** Lines of the pass already handled, valid or not. */
    index: number;
}

export interface ReplayProgress {
    /** Data lines handled so far in this pass, valid or not. */
    index: number;
    /** Data lines in the slice. */
    total: number;
}

export interface ReplayHandlers {
    /** A row is due; `ts` is its emitted timestamp in epoch ms. */
    row(row: ReplayRow, ts: number, progress: ReplayProgress): void;
    /** A line of the file is invalid. */
    rejected(error: RowError, progress: ReplayProgress): void;
    /** A pass reached the end of the slice. */
    end(summary: ReplaySummary): void;
    /** Reading the file failed during playback; the player is idle afterwards. */
    error(err: Error): void;
}

const DEFAULT_CHUNK_SIZE = 200;

/**
 * Plays one file. Rows are emitted in file order, each at W + (t - t0) / speed (see emitTime).
 * A row whose time has come is emitted at once. At most `chunkSize` rows are handled per
 * event-loop turn, so that very high speeds do not block the process.
 */
export class ReplayPlayer {
    private currentState: PlayerState = 'idle';
    private readonly now: () => number;
    private readonly chunkSize: number;
    private scan?: ReplayScan;
    private clock?: ReplayClock;
    private lines?: AsyncGenerator<ReplayLine>;
    private pending?: ReplayLine;
    private progress: ReplayProgress = { index: 0, total: 0 };
    private emitted = 0;
    private rejected = 0;
    private pausedAt = 0;
    private timer?: NodeJS.Timeout;
    private immediate?: NodeJS.Immediate;
    private pumping = false;
    /** Lines still to pass over without emitting, when resuming from a checkpoint. */
    private skipRemaining = 0;
    /** Incremented by stop(), so that work started before it ends without effect. */
    private generation = 0;

    constructor(
        private readonly options: ReplayOptions,
        private readonly handlers: ReplayHandlers,
    ) {
        this.now = options.now ?? Date.now;
        this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    }

    get state(): PlayerState {
        return this.currentState;
    }

    /** Data lines in the slice, known once start() has scanned the file. */
    get total(): number {
        return this.scan?.total ?? 0;
    }

    /**
     * Position of the current pass: its clock and the number of lines handled. A player started
     * with it as `resume` continues the same timeline, so replayed rows get the same timestamps.
     */
    get checkpoint(): ReplayCheckpoint | undefined {
        if (!this.clock || (this.currentState !== 'playing' && this.currentState !== 'paused')) return undefined;
        return { clock: { ...this.clock }, index: this.progress.index };
    }

    /**
     * Scans the file and starts the first pass, or continues the pass of a checkpoint. Resolves when
     * playback has begun; rejects with the file or header error. Has no effect while the player is
     * scanning, playing or paused.
     */
    async start(resume?: ReplayCheckpoint): Promise<void> {
        if (this.currentState === 'scanning' || this.currentState === 'playing' || this.currentState === 'paused') return;
        const generation = ++this.generation;
        this.currentState = 'scanning';
        let scan: ReplayScan;
        try {
            scan = await scanReplayFile(this.options.path, this.options);
        } catch (err) {
            if (generation === this.generation) this.currentState = 'idle';
            throw err;
        }
        if (generation !== this.generation) return;
        this.scan = scan;
        if (resume && resume.index < scan.total) {
            // Lines before the checkpoint were emitted before the restart. Rows that fell due while
            // the player was stopped are emitted at once, with the timestamps they would have had.
            this.beginPass(resume.clock.startWall, resume.clock.speed, resume.index);
        } else {
            this.beginPass(this.now(), this.options.speed);
        }
    }

    /** Holds emission; the next row is kept. Only while playing. */
    pause(): void {
        if (this.currentState !== 'playing') return;
        this.currentState = 'paused';
        this.pausedAt = this.now();
        this.clearTimers();
    }

    /**
     * Continues after pause(). The remaining rows move later by the length of the pause, as if the
     * pass had started that much later, so timestamps stay at or before the wall clock.
     */
    resume(): void {
        if (this.currentState !== 'paused' || !this.clock) return;
        this.clock = { ...this.clock, startWall: this.clock.startWall + (this.now() - this.pausedAt) };
        this.currentState = 'playing';
        this.schedule(0);
    }

    /** Ends playback and closes the file. A later start() begins again from the first row. */
    async stop(): Promise<void> {
        this.generation++;
        this.clearTimers();
        if (this.currentState !== 'idle' && this.currentState !== 'finished') this.currentState = 'stopped';
        const lines = this.lines;
        this.lines = undefined;
        this.pending = undefined;
        if (lines) await lines.return(undefined);
    }

    private beginPass(startWall: number, speed: number, skip = 0): void {
        const scan = this.scan as ReplayScan;
        const firstSource = scan.firstMs ?? 0;
        this.clock = { startWall, firstSource, lastSource: scan.maxMs ?? firstSource, speed };
        this.lines = readReplayFile(this.options.path, this.options);
        this.pending = undefined;
        this.skipRemaining = skip;
        this.progress = { index: 0, total: scan.total };
        this.emitted = 0;
        this.rejected = 0;
        this.currentState = 'playing';
        this.schedule(0);
    }

    private schedule(delayMs: number): void {
        this.clearTimers();
        if (delayMs <= 0) this.immediate = setImmediate(() => this.pump());
        else this.timer = setTimeout(() => this.pump(), delayMs);
    }

    private clearTimers(): void {
        if (this.timer) clearTimeout(this.timer);
        if (this.immediate) clearImmediate(this.immediate);
        this.timer = undefined;
        this.immediate = undefined;
    }

    private async pump(): Promise<void> {
        this.timer = undefined;
        this.immediate = undefined;
        // One pump at a time: a resume while a pump awaits the file lets that pump carry on.
        if (this.pumping) return;
        this.pumping = true;
        const generation = this.generation;
        try {
            await this.emitDue(generation);
        } catch (err) {
            if (generation === this.generation) {
                this.generation++;
                this.currentState = 'idle';
                this.lines = undefined;
                this.handlers.error(toError(err));
            }
        } finally {
            this.pumping = false;
        }
    }

    /** Emits every row that is due, up to one chunk, then schedules the next pump. */
    private async emitDue(generation: number): Promise<void> {
        const lines = this.lines;
        if (!lines) {
            // Resumed while waiting between two passes of a loop.
            if (this.currentState === 'playing') this.beginPass(this.now(), this.loopSpeed());
            return;
        }
        const clock = () => this.clock as ReplayClock;
        for (let handled = 0; ; handled++) {
            if (generation !== this.generation || this.currentState !== 'playing') return;
            if (handled >= this.chunkSize) {
                this.schedule(0);
                return;
            }
            if (!this.pending) {
                const next = await lines.next();
                if (generation !== this.generation) return;
                if (next.done) {
                    this.finishPass();
                    return;
                }
                if (this.skipRemaining > 0) {
                    this.skipRemaining--;
                    this.progress.index++;
                    if (next.value.ok) this.emitted++;
                    else this.rejected++;
                    continue;
                }
                this.pending = next.value;
            }
            const line = this.pending;
            if (!line.ok) {
                this.pending = undefined;
                this.rejected++;
                this.progress.index++;
                this.handlers.rejected(line.error, { ...this.progress });
                continue;
            }
            const due = emitTime(line.row.source_ms, clock());
            const now = this.now();
            if (due > now) {
                // Paused in the meantime: resume() schedules again.
                if (this.currentState === 'playing') this.schedule(Math.ceil(due - now));
                return;
            }
            this.pending = undefined;
            this.emitted++;
            this.progress.index++;
            const ts = this.options.timestamps === 'original' ? line.row.source_ms : shiftedTimestamp(line.row.source_ms, clock());
            this.handlers.row(line.row, ts, { ...this.progress });
        }
    }

    /**
     * Returns the speed of the passes after the first. With shifted timestamps the first pass
     * backfills the file up to "now" at the configured speed, and later passes continue at real
     * time. Data time cannot run faster than the wall clock for long without timestamps in the
     * future, and at real time each pass's timestamps follow those of the pass before.
     */
    private loopSpeed(): number {
        return this.options.timestamps === 'original' ? this.options.speed : 1;
    }

    private finishPass(): void {
        const clock = this.clock as ReplayClock;
        const scan = this.scan as ReplayScan;
        this.lines = undefined;
        this.handlers.end({
            file: basename(this.options.path),
            rows: this.emitted,
            rejected: this.rejected,
            started_at: new Date(clock.startWall).toISOString(),
            finished_at: new Date(this.now()).toISOString(),
        });
        if (this.currentState !== 'playing') return;
        if (!this.options.loop || scan.valid === 0) {
            this.currentState = 'finished';
            return;
        }
        // The next pass starts one mean sample interval after the last row's emit time, so a
        // looping file keeps its rhythm and a one-row file does not spin.
        const span = clock.lastSource - clock.firstSource;
        const interval = scan.valid > 1 ? span / (scan.valid - 1) : 1000;
        const speed = this.loopSpeed();
        const nextStart = emitTime(clock.lastSource, clock) + interval / speed;
        const generation = this.generation;
        const wait = Math.max(0, nextStart - this.now());
        this.timer = setTimeout(() => {
            if (generation === this.generation && this.currentState === 'playing') this.beginPass(this.now(), speed);
        }, wait);
    }
}
