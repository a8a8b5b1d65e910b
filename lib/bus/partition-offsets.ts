// Commit bookkeeping for one Kafka partition: which fetched offsets are still being handled, and
// the offset that may be committed, which is the lowest offset not yet settled. Offsets are
// tracked in fetch order, which is increasing offset order, and may have gaps where records were
// compacted away or were control records.

export type OffsetState = 'pending' | 'settled' | 'failed';

export interface OffsetEntry {
    readonly offset: bigint;
    state: OffsetState;
}

/** Settled entries at the front are dropped in chunks of at least this size. */
const COMPACT_MIN = 1_024;

export class PartitionOffsets {
    private entries: OffsetEntry[] = [];
    /** Index of the first entry not yet settled; entries before it are settled. */
    private head = 0;
    private newest: bigint | undefined;
    private committed: string | undefined;
    private unsettledCount = 0;
    private waiters: (() => void)[] = [];

    /** Deliveries handed out and neither settled nor failed. */
    get unsettled(): number {
        return this.unsettledCount;
    }

    /** Entries from the commit point to the newest offset, settled or not. */
    get window(): number {
        return this.entries.length - this.head;
    }

    /** Returns whether the offset is past every offset tracked so far, so that track() would add it. */
    isNew(offset: string): boolean {
        return this.newest === undefined || BigInt(offset) > this.newest;
    }

    /**
     * Starts tracking a fetched offset and returns its entry, or returns undefined when the offset
     * was handed out before and is pending or settled, which happens when Kafka fetches from the
     * committed offset again after a rebalance. A failed offset is handed out again.
     */
    track(offset: string): OffsetEntry | undefined {
        const value = BigInt(offset);
        if (this.newest === undefined || value > this.newest) {
            const entry: OffsetEntry = { offset: value, state: 'pending' };
            this.entries.push(entry);
            this.newest = value;
            this.unsettledCount += 1;
            return entry;
        }
        const known = this.find(value);
        if (!known || known.state !== 'failed') return undefined;
        known.state = 'pending';
        this.unsettledCount += 1;
        return known;
    }

    settle(entry: OffsetEntry): void {
        if (entry.state !== 'pending') return;
        entry.state = 'settled';
        this.unsettledCount -= 1;
        this.advance();
        this.wake();
    }

    /** Marks an offset failed: it keeps the commit point back until it is handed out again and settles. */
    fail(entry: OffsetEntry): void {
        if (entry.state !== 'pending') return;
        entry.state = 'failed';
        this.unsettledCount -= 1;
        this.wake();
    }

    /**
     * Returns the offset to commit, which is the next one to read: the lowest offset not yet
     * settled, or one past the newest offset when all have settled. Returns undefined before
     * any offset was tracked.
     */
    commitOffset(): string | undefined {
        if (this.head < this.entries.length) return this.entries[this.head].offset.toString();
        return this.newest === undefined ? undefined : (this.newest + 1n).toString();
    }

    /** Returns the commit offset when it differs from the last one committed, else undefined. */
    uncommittedOffset(): string | undefined {
        const offset = this.commitOffset();
        return offset !== undefined && offset !== this.committed ? offset : undefined;
    }

    /** The offset that Kafka last accepted as the group's position, or undefined before the first commit. */
    get committedOffset(): string | undefined {
        return this.committed;
    }

    markCommitted(offset: string): void {
        this.committed = offset;
    }

    /** Resolves at the next settle or failure. */
    nextChange(): Promise<void> {
        return new Promise((resolve) => this.waiters.push(resolve));
    }

    private wake(): void {
        const waiters = this.waiters;
        this.waiters = [];
        for (const resolve of waiters) resolve();
    }

    private advance(): void {
        while (this.head < this.entries.length && this.entries[this.head].state === 'settled') this.head += 1;
        if (this.head >= COMPACT_MIN && this.head * 2 >= this.entries.length) {
            this.entries = this.entries.slice(this.head);
            this.head = 0;
        }
    }

    /** Binary search among the entries from the commit point on; settled entries before it return undefined. */
    private find(value: bigint): OffsetEntry | undefined {
        let low = this.head;
        let high = this.entries.length - 1;
        while (low <= high) {
            const middle = (low + high) >> 1;
            const candidate = this.entries[middle];
            if (candidate.offset === value) return candidate;
            if (candidate.offset < value) low = middle + 1;
            else high = middle - 1;
        }
        return undefined;
    }
}
