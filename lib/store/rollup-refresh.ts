// Background refresh of the rollups. Writes only mark the minutes they touch. Shortly after, the
// marked minutes that have ended are recomputed in large batches and mark their quarters. Less often, the marked
// quarters and their hours are recomputed. So a busy minute is recomputed once per refresh, not
// once per write, and an hour once per quarter refresh, not once per minute refresh.
import { incrementCounter } from '../observability/counters';
import type { Db } from './db';
import { refreshRollupBatch, type RefreshStage } from './readings';

export interface RollupRefresherOptions {
    /** Time from a write to the refresh of its minutes, so that writes close together share it. Default 1 s. */
    minuteDelayMs?: number;
    /** Time from a minute refresh to the refresh of the quarters and hours it marked. Default 10 s. */
    quarterDelayMs?: number;
    /** Maximum wait between attempts after failures. Default 30 s. */
    maxBackoffMs?: number;
    /** Marked buckets one refresh transaction takes at most. Default 1,000. */
    batchBuckets?: number;
    /**
     * After a full batch, the wait before the next, as a multiple of the time the batch took.
     * Default 2, so that a backlog takes about a third of a database core. 0 runs batches back to
     * back.
     */
    restFactor?: number;
    /** Receives each failure; the refresher tries again with a growing delay. */
    onError?: (error: Error, stage: RefreshStage) => void;
    /** Current time in epoch milliseconds; Date.now by default. */
    now?: () => number;
}

/** Time after which marks of buckets that had not ended are looked at again without a new write. */
const OPEN_BUCKET_RECHECK_MS = 15_000;

/**
 * Default batch size. At 5,000 wells each minute ends with 5,000 marks. Taken in one statement they
 * kept a core of a 2-core test server busy for 4 to 5 s.
 */
const DEFAULT_BATCH_BUCKETS = 1_000;
const DEFAULT_REST_FACTOR = 2;

interface StagePacing {
    batchBuckets: number;
    restFactor: number;
}

/** Runs one refresh stage on a timer, at most one run at a time. */
class StageLoop {
    private timer?: NodeJS.Timeout;
    private running?: Promise<void>;
    private failures = 0;
    private closed = false;
    private kickedWhileRunning = false;
    /** Ends the rest between two batches early, when the loop closes. */
    private endRest?: () => void;

    constructor(
        private readonly db: Db,
        private readonly stage: RefreshStage,
        private readonly delayMs: number,
        private readonly maxBackoffMs: number,
        private readonly pacing: StagePacing,
        private readonly onDone: (taken: number) => void,
        private readonly now: () => number,
        private readonly onError?: (error: Error, stage: RefreshStage) => void,
    ) {}

    kick(delayMs = this.delayMs): void {
        if (this.closed || this.timer) return;
        if (this.running) {
            // Writes during a run may have set marks that the run has passed: run again after it.
            this.kickedWhileRunning = true;
            return;
        }
        this.timer = setTimeout(() => {
            this.timer = undefined;
            this.kickedWhileRunning = false;
            this.running = this.run().finally(() => {
                this.running = undefined;
                if (this.kickedWhileRunning) this.kick();
            });
        }, delayMs);
        this.timer.unref();
    }

    async close(): Promise<void> {
        this.closed = true;
        clearTimeout(this.timer);
        this.timer = undefined;
        this.endRest?.();
        await this.running;
    }

    private async run(): Promise<void> {
        let total = 0;
        try {
            // Full batches mean a backlog, so the loop goes on after a rest that leaves the database
            // to the writes. A partial batch ends the run, and the next write's kick starts another
            // after the delay, so that marks set again meanwhile are recomputed once. Another
            // process that holds the stage's lock takes the marks of this one too.
            const { batchBuckets, restFactor } = this.pacing;
            for (;;) {
                if (this.closed) break;
                const began = Date.now();
                const taken = await refreshRollupBatch(this.db, this.stage, {}, batchBuckets, false, this.now());
                total += taken;
                if (taken > 0) incrementCounter('ul_rollup_buckets_refreshed_total', 'Marked rollup buckets that were recomputed.', { stage: this.stage }, taken);
                if (taken < batchBuckets) break;
                await this.rest((Date.now() - began) * restFactor);
            }
            this.failures = 0;
            // Buckets still open stay marked. Writes to them kick the loop again, and so does this
            // check when writes stop.
            if (!this.closed && (await this.marksLeft())) setTimeout(() => this.kick(), OPEN_BUCKET_RECHECK_MS).unref();
        } catch (error) {
            this.failures += 1;
            incrementCounter('ul_rollup_refresh_failures_total', 'Rollup refreshes that failed and were tried again.', { stage: this.stage });
            this.onError?.(error as Error, this.stage);
            const retryInMs = Math.min(this.maxBackoffMs, this.delayMs * 2 ** this.failures);
            setTimeout(() => this.kick(0), retryInMs).unref();
        }
        if (total > 0) this.onDone(total);
    }

    private rest(ms: number): Promise<void> {
        if (ms <= 0 || this.closed) return Promise.resolve();
        return new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            this.endRest = () => {
                clearTimeout(timer);
                resolve();
            };
        }).finally(() => {
            this.endRest = undefined;
        });
    }

    private async marksLeft(): Promise<boolean> {
        const table = this.stage === 'minutes' ? 'rollup_pending_1m' : 'rollup_pending_15m';
        const { rows } = await this.db.query<{ marked: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${table}) AS marked`);
        return rows[0]?.marked === true;
    }
}

export class RollupRefresher {
    private readonly minutes: StageLoop;
    private readonly quarters: StageLoop;

    constructor(db: Db, options: RollupRefresherOptions = {}) {
        const maxBackoffMs = options.maxBackoffMs ?? 30_000;
        const now = options.now ?? Date.now;
        const pacing = { batchBuckets: options.batchBuckets ?? DEFAULT_BATCH_BUCKETS, restFactor: options.restFactor ?? DEFAULT_REST_FACTOR };
        this.quarters = new StageLoop(db, 'quarters', options.quarterDelayMs ?? 10_000, maxBackoffMs, pacing, () => undefined, now, options.onError);
        this.minutes = new StageLoop(db, 'minutes', options.minuteDelayMs ?? 1_000, maxBackoffMs, pacing, () => this.quarters.kick(), now, options.onError);
    }

    /** Schedules a refresh of the marked minutes, and after it of the quarters they mark. */
    kick(): void {
        this.minutes.kick();
        this.quarters.kick();
    }

    /** Stops scheduling and waits for running refreshes; marks left behind wait for the next start. */
    async close(): Promise<void> {
        await this.minutes.close();
        await this.quarters.close();
    }
}
