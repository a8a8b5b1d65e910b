import { describe, expect, it } from 'vitest';

import { emitTime, shiftedTimestamp, type ReplayClock } from './time-shift';

const W = Date.UTC(2024, 0, 1, 12, 0, 0);
const T0 = Date.UTC(2017, 9, 31, 19, 30, 25);
const TN = T0 + 3_600_000;

function clock(speed: number): ReplayClock {
    return { startWall: W, firstSource: T0, lastSource: TN, speed };
}

describe('shiftedTimestamp', () => {
    it('should keep source spacing at real time', () => {
        expect(shiftedTimestamp(T0, clock(1))).toBe(W);
        expect(shiftedTimestamp(T0 + 1500, clock(1))).toBe(W + 1500);
        expect(shiftedTimestamp(TN, clock(1))).toBe(W + 3_600_000);
    });

    it('should end the data at the last emit time', () => {
        const fast = clock(60);

        expect(shiftedTimestamp(TN, fast)).toBe(W + 60_000);
        expect(shiftedTimestamp(TN, fast)).toBe(emitTime(TN, fast));
        expect(shiftedTimestamp(T0, fast)).toBe(W + 60_000 - 3_600_000);
    });

    it('should follow the documented formula', () => {
        const f = 7;
        const t = T0 + 123_457;

        expect(shiftedTimestamp(t, clock(f))).toBe(Math.floor(t + (W + (TN - T0) / f - TN)));
    });

    it('should end at the start time when playing as fast as possible', () => {
        expect(shiftedTimestamp(TN, clock(Number.POSITIVE_INFINITY))).toBe(W);
        expect(shiftedTimestamp(T0, clock(Number.POSITIVE_INFINITY))).toBe(W - 3_600_000);
    });

    it('should never be later than the emit time', () => {
        for (const speed of [0.25, 0.5, 1, 1.5, 3, 60, 1e6, Number.POSITIVE_INFINITY]) {
            for (let t = T0; t <= TN; t += 61_001) {
                expect(shiftedTimestamp(t, clock(speed))).toBeLessThanOrEqual(emitTime(t, clock(speed)));
            }
        }
    });

    it('should treat slow motion like real time', () => {
        expect(shiftedTimestamp(T0 + 1000, clock(0.5))).toBe(W + 1000);
    });
});

describe('emitTime', () => {
    it('should scale the source offset by the speed', () => {
        expect(emitTime(T0, clock(60))).toBe(W);
        expect(emitTime(T0 + 60_000, clock(60))).toBe(W + 1000);
        expect(emitTime(T0 + 60_000, clock(1))).toBe(W + 60_000);
    });

    it('should emit rows older than the first row at the start', () => {
        expect(emitTime(T0 - 5000, clock(1))).toBe(W);
    });
});
