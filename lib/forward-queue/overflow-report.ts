// Rate limit for reports of dropped and blocked records, so that a full queue logs one warning a
// minute with counts instead of one per message.

export interface OverflowCounts {
    dropped: number;
    blocked: number;
}

export interface OverflowSummary extends OverflowCounts {
    /** Records dropped since the previous report. */
    newlyDropped: number;
    /** Records blocked since the previous report. */
    newlyBlocked: number;
}

export class OverflowReport {
    private reported: OverflowCounts = { dropped: 0, blocked: 0 };
    private reportedAt = Number.NEGATIVE_INFINITY;

    /**
     * @param intervalMs minimum time between two reports, in milliseconds. Default one minute.
     * @param now clock in epoch milliseconds
     */
    constructor(
        private readonly intervalMs = 60_000,
        private readonly now: () => number = Date.now,
    ) {}

    /** Returns a summary when the totals changed since the last report and the interval has passed, else undefined. */
    check(totals: OverflowCounts): OverflowSummary | undefined {
        if (totals.dropped === this.reported.dropped && totals.blocked === this.reported.blocked) return undefined;
        const now = this.now();
        if (now - this.reportedAt < this.intervalMs) return undefined;
        const summary: OverflowSummary = {
            ...totals,
            newlyDropped: totals.dropped - this.reported.dropped,
            newlyBlocked: totals.blocked - this.reported.blocked,
        };
        this.reported = { ...totals };
        this.reportedAt = now;
        return summary;
    }
}
