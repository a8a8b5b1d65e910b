import { describe, expect, it } from 'vitest';

import { UNLABELLED as U } from './dataset';
import { firstEventRow, learningRows, predictWindows, scoredWindows, voteTimelines, windowLabel, type Timeline } from './protocol';

describe('windowLabel', () => {
    it('should call a window abnormal when most labelled seconds are event seconds', () => {
        expect(windowLabel([0, 101, 101, U, U], 0, 5)).toEqual({ abnormal: true, labelled: 3 });
        expect(windowLabel([0, 0, 1, U, U], 0, 5)).toEqual({ abnormal: false, labelled: 3 });
    });

    it('should ignore unlabelled seconds', () => {
        // Two event seconds against three normal ones; the five unlabelled seconds do not count.
        expect(windowLabel([0, 0, 0, 101, 101, U, U, U, U, U], 0, 10)).toEqual({ abnormal: false, labelled: 5 });
    });

    it('should count a tie as normal', () => {
        expect(windowLabel([0, 0, 106, 6], 0, 4)?.abnormal).toBe(false);
    });

    it('should give no label without labelled seconds', () => {
        expect(windowLabel([U, U, 0], 0, 2)).toBeUndefined();
    });
});

describe('learningRows', () => {
    it('should take 60 % of the normal rows before the event', () => {
        const labels = [...Array(10).fill(0), U, U, ...Array(5).fill(102)];
        expect(learningRows(labels)).toBe(6);
    });

    it('should skip unlabelled rows inside the normal part', () => {
        expect(learningRows([0, U, 0, 0, 0, 0, 2])).toBe(4);
    });

    it('should use every row of a normal file', () => {
        expect(learningRows(Array(100).fill(0))).toBe(60);
    });
});

describe('firstEventRow', () => {
    it('should prefer the first transient row', () => {
        expect(firstEventRow([0, 0, U, 105, 5])).toBe(3);
        expect(firstEventRow([0, 7, 7])).toBe(1);
        expect(firstEventRow([0, 0])).toBe(-1);
    });
});

describe('scoredWindows', () => {
    it('should step windows from the learning end while they fit', () => {
        const times = Array.from({ length: 20 }, (_, i) => i * 1000);
        const labels = [...Array(10).fill(0), ...Array(10).fill(108)];
        const windows = scoredWindows(times, labels, 4, 6000, 3000);

        expect(windows.map((window) => [window.startRow, window.endRow, window.abnormal])).toEqual([
            [4, 10, false],
            [7, 13, false],
            [10, 16, true],
            [13, 19, true],
        ]);
    });

    it('should leave out windows without labelled seconds', () => {
        const times = Array.from({ length: 6 }, (_, i) => i * 1000);
        const windows = scoredWindows(times, [0, 0, U, U, 0, 0], 0, 2000, 2000);

        expect(windows.map((window) => window.startRow)).toEqual([0, 4]);
    });
});

describe('predictWindows', () => {
    it('should alert a window with any active row', () => {
        const timeline: Timeline = { active: Uint8Array.from([0, 0, 0, 1, 0, 0]), openings: [3] };
        const windows = [
            { startRow: 0, endRow: 3, startMs: 0, abnormal: false, labelled: 3 },
            { startRow: 2, endRow: 5, startMs: 2000, abnormal: true, labelled: 3 },
        ];

        expect(predictWindows(timeline, windows)).toEqual([false, true]);
    });
});

describe('voteTimelines', () => {
    it('should vote by quorum', () => {
        const a: Timeline = { active: Uint8Array.from([1, 1, 0, 0, 1]), openings: [0, 4] };
        const b: Timeline = { active: Uint8Array.from([0, 1, 1, 0, 1]), openings: [1, 4] };

        expect(voteTimelines([a, b], 2)).toEqual({ active: Uint8Array.from([0, 1, 0, 0, 1]), openings: [1, 4] });
        expect(voteTimelines([a, b], 1)).toEqual({ active: Uint8Array.from([1, 1, 1, 0, 1]), openings: [0, 4] });
    });
});
