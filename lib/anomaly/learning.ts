// The learning part of a detector: readings counted and time elapsed since the asset's first reading.
import type { LearnLimit } from './types';

export class LearningClock {
    private seen = 0;
    private done = false;

    constructor(
        private readonly limit: LearnLimit,
        /** Epoch milliseconds of the asset's first reading. */
        private readonly start: number,
    ) {}

    /** Counts a reading at `ts`; returns true while this reading still belongs to the learning part. */
    tick(ts: number): boolean {
        if (this.done) return false;
        const { readings, durationMs } = this.limit;
        const countReached = readings !== undefined && this.seen >= readings;
        const timeReached = durationMs !== undefined && ts - this.start >= durationMs;
        if (countReached || timeReached || (readings === undefined && durationMs === undefined)) {
            this.done = true;
            return false;
        }
        this.seen++;
        return true;
    }

    get learning(): boolean {
        return !this.done;
    }
}
