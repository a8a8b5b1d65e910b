// The evaluation protocol: which rows a detector learns from, the scored windows and their labels,
// and how an alert timeline turns into window predictions.
import { UNLABELLED } from './dataset';

/** Share of the normal rows before the event that detectors learn from. */
export const LEARN_SHARE = 0.6;
/** Length of a scored window, in milliseconds. */
export const WINDOW_MS = 180_000;
/** Step between scored windows, in milliseconds. */
export const STEP_MS = 15_000;

/**
 * Returns the number of rows the detectors learn from: the rows up to and including the
 * ⌊share·n⌋-th normal row, where n counts the normal (label 0) rows before the first event label.
 * For a file without events, n is every row.
 */
export function learningRows(labels: ArrayLike<number>, share = LEARN_SHARE): number {
    let firstEvent = labels.length;
    for (let i = 0; i < labels.length; i++) {
        if (labels[i] !== UNLABELLED && labels[i] !== 0) {
            firstEvent = i;
            break;
        }
    }
    let normal = 0;
    for (let i = 0; i < firstEvent; i++) if (labels[i] === 0) normal++;
    const wanted = Math.floor(share * normal);
    if (wanted === 0) return 0;
    let seen = 0;
    for (let i = 0; i < firstEvent; i++) {
        if (labels[i] === 0) seen++;
        if (seen === wanted) return i + 1;
    }
    return firstEvent;
}

/** Index of the first transient (100 + N) row, else of the first event row, else -1. */
export function firstEventRow(labels: ArrayLike<number>): number {
    let firstSteady = -1;
    for (let i = 0; i < labels.length; i++) {
        if (labels[i] >= 100) return i;
        if (firstSteady < 0 && labels[i] > 0) firstSteady = i;
    }
    return firstSteady;
}

export interface ScoredWindow {
    /** First row inside the window. */
    startRow: number;
    /** Row after the last one inside the window. */
    endRow: number;
    startMs: number;
    /** True when most labelled seconds of the window are event seconds (transient or steady state). */
    abnormal: boolean;
    /** Labelled rows in the window. */
    labelled: number;
}

/**
 * Returns the label of a window from its rows' labels: abnormal when event seconds are more than
 * half of the labelled seconds, normal otherwise (a tie counts as normal), undefined when no
 * second is labelled. Unlabelled seconds are ignored.
 */
export function windowLabel(labels: ArrayLike<number>, startRow: number, endRow: number): { abnormal: boolean; labelled: number } | undefined {
    let labelled = 0;
    let event = 0;
    for (let i = startRow; i < endRow; i++) {
        if (labels[i] === UNLABELLED) continue;
        labelled++;
        if (labels[i] !== 0) event++;
    }
    if (labelled === 0) return undefined;
    return { abnormal: event * 2 > labelled, labelled };
}

/**
 * Returns the scored windows: [start, start + windowMs) every stepMs from the time of row
 * `fromRow` while a whole window fits before the end of the data (one second after the last row).
 * Windows without labelled seconds are left out.
 */
export function scoredWindows(times: ArrayLike<number>, labels: ArrayLike<number>, fromRow: number, windowMs = WINDOW_MS, stepMs = STEP_MS): ScoredWindow[] {
    const windows: ScoredWindow[] = [];
    if (fromRow >= times.length) return windows;
    const endMs = times[times.length - 1] + 1000;
    let startRow = fromRow;
    let endRow = fromRow;
    for (let startMs = times[fromRow]; startMs + windowMs <= endMs; startMs += stepMs) {
        while (startRow < times.length && times[startRow] < startMs) startRow++;
        if (endRow < startRow) endRow = startRow;
        while (endRow < times.length && times[endRow] < startMs + windowMs) endRow++;
        const label = windowLabel(labels, startRow, endRow);
        if (label) windows.push({ startRow, endRow, startMs, ...label });
    }
    return windows;
}

/** Alert activity of one method over a file: which rows had an open alert, and where alerts opened. */
export interface Timeline {
    /** 1 for rows at which at least one alert of the method was open. */
    active: Uint8Array;
    /** Rows at which an alert opened, ascending; one entry per opened alert. */
    openings: number[];
}

/** Returns true for windows with at least one row under an open alert. */
export function predictWindows(timeline: Timeline, windows: readonly ScoredWindow[]): boolean[] {
    const prefix = new Int32Array(timeline.active.length + 1);
    for (let i = 0; i < timeline.active.length; i++) prefix[i + 1] = prefix[i] + timeline.active[i];
    return windows.map((window) => prefix[window.endRow] - prefix[window.startRow] > 0);
}

/**
 * Combines timelines by vote: a row is active when at least `quorum` of them are active, and
 * an alert opens where the vote rises to the quorum.
 */
export function voteTimelines(timelines: readonly Timeline[], quorum: number): Timeline {
    const length = timelines[0]?.active.length ?? 0;
    const active = new Uint8Array(length);
    const openings: number[] = [];
    for (let i = 0; i < length; i++) {
        let votes = 0;
        for (const timeline of timelines) votes += timeline.active[i];
        active[i] = votes >= quorum ? 1 : 0;
        if (active[i] === 1 && (i === 0 || active[i - 1] === 0)) openings.push(i);
    }
    return { active, openings };
}
