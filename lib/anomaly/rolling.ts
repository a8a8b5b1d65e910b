// A trailing window of values that keeps a sorted copy, so the median costs O(1) and the median
// absolute deviation O(log n) per query. Adding or evicting a value shifts the sorted copy, O(n).

/**
 * Returns the element of rank `k` (0-based) in the merge of two ascending sequences, read through
 * accessor functions so that neither sequence is copied. Binary search over how many elements
 * come from `a`, O(log(min(na, nb))).
 */
export function kthOfTwoSorted(a: (index: number) => number, na: number, b: (index: number) => number, nb: number, k: number): number {
    if (k < 0 || k >= na + nb) throw new RangeError(`Rank ${k} is outside the ${na + nb} merged elements.`);
    let low = Math.max(0, k + 1 - nb);
    let high = Math.min(k + 1, na);
    while (low <= high) {
        const fromA = (low + high) >> 1;
        const fromB = k + 1 - fromA;
        if (fromA < na && fromB > 0 && b(fromB - 1) > a(fromA)) {
            low = fromA + 1;
        } else if (fromA > 0 && fromB < nb && a(fromA - 1) > b(fromB)) {
            high = fromA - 1;
        } else {
            const lastA = fromA > 0 ? a(fromA - 1) : -Infinity;
            const lastB = fromB > 0 ? b(fromB - 1) : -Infinity;
            return Math.max(lastA, lastB);
        }
    }
    // Unreachable for ascending inputs; kept so that unsorted input fails loudly.
    throw new RangeError('kthOfTwoSorted needs both sequences in ascending order.');
}

/** The last `capacity` values in arrival order, with their timestamps, plus a sorted copy. */
export class RollingWindow {
    private readonly values: Float64Array;
    private readonly times: Float64Array;
    private readonly sorted: Float64Array;
    private head = 0;
    private count = 0;

    constructor(readonly capacity: number) {
        if (!Number.isInteger(capacity) || capacity < 1) {
            throw new RangeError(`Window capacity ${capacity} is invalid; use a whole number of 1 or more.`);
        }
        this.values = new Float64Array(capacity);
        this.times = new Float64Array(capacity);
        this.sorted = new Float64Array(capacity);
    }

    get size(): number {
        return this.count;
    }

    /** Timestamp of the oldest value, or undefined when the window is empty. */
    get oldestTime(): number | undefined {
        return this.count > 0 ? this.times[this.head] : undefined;
    }

    /** Timestamp of the newest value, or undefined when the window is empty. */
    get newestTime(): number | undefined {
        return this.count > 0 ? this.times[(this.head + this.count - 1) % this.capacity] : undefined;
    }

    /** Appends a value; the oldest value is evicted when the window is full. */
    push(value: number, time = 0): void {
        if (this.count === this.capacity) this.evictOldest();
        if (!Number.isFinite(value)) throw new RangeError(`Window value ${value} is not a finite number.`);
        const slot = (this.head + this.count) % this.capacity;
        this.values[slot] = value;
        this.times[slot] = time;
        const position = this.lowerBound(value);
        this.sorted.copyWithin(position + 1, position, this.count);
        this.sorted[position] = value;
        this.count++;
    }

    /** Evicts values older than `time`. */
    evictBefore(time: number): void {
        while (this.count > 0 && this.times[this.head] < time) this.evictOldest();
    }

    /** Removes the oldest value. */
    evictOldest(): void {
        if (this.count === 0) return;
        const value = this.values[this.head];
        this.head = (this.head + 1) % this.capacity;
        const position = this.lowerBound(value);
        this.sorted.copyWithin(position, position + 1, this.count);
        this.count--;
    }

    median(): number {
        if (this.count === 0) return Number.NaN;
        const middle = this.count >> 1;
        return this.count % 2 === 1 ? this.sorted[middle] : (this.sorted[middle - 1] + this.sorted[middle]) / 2;
    }

    /** Median absolute deviation from the median: the median of |x - median| over the window. */
    mad(): number {
        const n = this.count;
        if (n === 0) return Number.NaN;
        const center = this.median();
        // Values at or below the center, read from the center outwards, give ascending deviations;
        // so do the values above it. The MAD is the middle rank of the merge of the two runs.
        const split = this.upperBound(center);
        const sorted = this.sorted;
        const below = (index: number): number => center - sorted[split - 1 - index];
        const above = (index: number): number => sorted[split + index] - center;
        const belowCount = split;
        const aboveCount = n - split;
        const middle = n >> 1;
        if (n % 2 === 1) return kthOfTwoSorted(below, belowCount, above, aboveCount, middle);
        const lower = kthOfTwoSorted(below, belowCount, above, aboveCount, middle - 1);
        const upper = kthOfTwoSorted(below, belowCount, above, aboveCount, middle);
        return (lower + upper) / 2;
    }

    /** First position in the sorted copy whose value is not below `value`. */
    private lowerBound(value: number): number {
        let low = 0;
        let high = this.count;
        while (low < high) {
            const mid = (low + high) >> 1;
            if (this.sorted[mid] < value) low = mid + 1;
            else high = mid;
        }
        return low;
    }

    /** First position in the sorted copy whose value is above `value`. */
    private upperBound(value: number): number {
        let low = 0;
        let high = this.count;
        while (low < high) {
            const mid = (low + high) >> 1;
            if (this.sorted[mid] <= value) low = mid + 1;
            else high = mid;
        }
        return low;
    }
}
