// Summary features of a window of one metric's readings, the inputs of the isolation forest.

/** Names of the features per metric, in the order windowFeatures returns them. */
export const FEATURE_NAMES = ['mean', 'std', 'slope', 'change'] as const;

/**
 * Returns [mean, standard deviation, least-squares slope per second, last − first] of the values,
 * or undefined for fewer than two values. `times` are epoch milliseconds in ascending order.
 */
export function windowFeatures(times: ArrayLike<number>, values: ArrayLike<number>): number[] | undefined {
    const n = values.length;
    if (n < 2) return undefined;
    const t0 = times[0];
    let sumT = 0;
    let sumX = 0;
    for (let i = 0; i < n; i++) {
        sumT += (times[i] - t0) / 1000;
        sumX += values[i];
    }
    const meanT = sumT / n;
    const mean = sumX / n;
    let sxx = 0;
    let stt = 0;
    let stx = 0;
    for (let i = 0; i < n; i++) {
        const dt = (times[i] - t0) / 1000 - meanT;
        const dx = values[i] - mean;
        sxx += dx * dx;
        stt += dt * dt;
        stx += dt * dx;
    }
    const std = Math.sqrt(sxx / n);
    const slope = stt > 0 ? stx / stt : 0;
    return [mean, std, slope, values[n - 1] - values[0]];
}

/** Readings of one metric inside a trailing time window, oldest first. */
export class TimeWindow {
    private times: number[] = [];
    private values: number[] = [];
    private head = 0;

    constructor(
        private readonly windowMs: number,
        /** Maximum readings kept. */
        private readonly capacity: number,
    ) {}

    push(ts: number, value: number): void {
        this.times.push(ts);
        this.values.push(value);
        if (this.times.length - this.head > this.capacity) this.head++;
        this.compact();
    }

    /** Times and values with from < ts ≤ to. */
    slice(to: number): { times: number[]; values: number[] } {
        const from = to - this.windowMs;
        while (this.head < this.times.length && this.times[this.head] <= from) this.head++;
        this.compact();
        let end = this.times.length;
        while (end > this.head && this.times[end - 1] > to) end--;
        return { times: this.times.slice(this.head, end), values: this.values.slice(this.head, end) };
    }

    private compact(): void {
        if (this.head > 1024 && this.head * 2 > this.times.length) {
            this.times = this.times.slice(this.head);
            this.values = this.values.slice(this.head);
            this.head = 0;
        }
    }
}
