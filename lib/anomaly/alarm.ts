// Hold and clear logic of one alarm channel: it opens after `hold` consecutive scores above the
// threshold, and clears after `clearHold` consecutive scores at or below threshold × clearRatio.

export interface AlarmOptions {
    /** Consecutive scores above the threshold that open the alarm. Default 1. */
    hold?: number;
    /** Consecutive scores at or below the clear level that clear it. Default 1. */
    clearHold?: number;
    /** Clear level as a fraction of the threshold, 0 < clearRatio ≤ 1. Default 1. */
    clearRatio?: number;
}

export class AlarmState {
    open = false;
    private run = 0;

    constructor(private readonly options: AlarmOptions = {}) {}

    /** Feeds one score; returns the transition it causes, if any. */
    update(score: number, threshold: number): 'open' | 'clear' | undefined {
        if (!this.open) {
            this.run = score > threshold ? this.run + 1 : 0;
            if (this.run < (this.options.hold ?? 1)) return undefined;
            this.open = true;
            this.run = 0;
            return 'open';
        }
        this.run = score <= threshold * (this.options.clearRatio ?? 1) ? this.run + 1 : 0;
        if (this.run < (this.options.clearHold ?? 1)) return undefined;
        this.open = false;
        this.run = 0;
        return 'clear';
    }
}
