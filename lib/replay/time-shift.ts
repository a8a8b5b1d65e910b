// Timing of one replay pass: when each row is emitted and which timestamp it carries.

/** Anchors of one replay pass. All times are epoch milliseconds. */
export interface ReplayClock {
    /** Wall-clock time W at which the pass starts. */
    startWall: number;
    /** Source timestamp t0 of the first row. */
    firstSource: number;
    /** Latest source timestamp tN of the pass. */
    lastSource: number;
    /** Speed factor f: 1 is real time, 60 plays a minute of data per second, Infinity as fast as possible. */
    speed: number;
}

/**
 * Returns the wall-clock time at which the row with source timestamp `sourceMs` is due:
 * W + (t - t0) / f. Rows older than t0 are due at W.
 */
export function emitTime(sourceMs: number, clock: ReplayClock): number {
    return clock.startWall + Math.max(0, sourceMs - clock.firstSource) / clock.speed;
}

/**
 * Shifts a source timestamp so that the replayed data ends "now" (the "shift-to-now" mode):
 *
 *     ts = t + (W + (tN - t0) / f - tN)
 *
 * The last row gets the time at which it is emitted, W + (tN - t0) / f, and every earlier row keeps
 * its distance to the last one, so sample spacing is preserved. At f = 1 that is ts = W + (t - t0).
 * For f >= 1 no timestamp is later than its emit time, because ts - emitTime = (t - tN)(1 - 1/f) <= 0
 * when t <= tN. For slow motion (f < 1) the formula would produce future timestamps, so f is
 * taken as 1 there: ts = W + (t - t0), which is at or before W + (t - t0) / f.
 * The result is rounded down to a whole millisecond, which keeps it at or before the emit time.
 */
export function shiftedTimestamp(sourceMs: number, clock: ReplayClock): number {
    const span = clock.lastSource - clock.firstSource;
    const offset = clock.startWall + span / Math.max(clock.speed, 1) - clock.lastSource;
    return Math.floor(sourceMs + offset);
}
