import { describe, expect, it } from 'vitest';

import { seededRandom } from './prng';
import { RollingWindow, kthOfTwoSorted } from './rolling';

function bruteMedian(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function bruteMad(values: number[]): number {
    const center = bruteMedian(values);
    return bruteMedian(values.map((value) => Math.abs(value - center)));
}

describe('kthOfTwoSorted', () => {
    it('should find every rank of a merge', () => {
        const a = [1, 4, 4, 9];
        const b = [2, 3, 10];
        const merged = [...a, ...b].sort((x, y) => x - y);
        merged.forEach((value, k) => {
            expect(kthOfTwoSorted((i) => a[i], a.length, (i) => b[i], b.length, k)).toBe(value);
        });
    });

    it('should handle an empty side', () => {
        const a = [5, 6, 7];
        expect(kthOfTwoSorted((i) => a[i], 3, () => 0, 0, 1)).toBe(6);
        expect(kthOfTwoSorted(() => 0, 0, (i) => a[i], 3, 2)).toBe(7);
    });

    it('should reject a rank outside the merge', () => {
        expect(() => kthOfTwoSorted(() => 1, 1, () => 2, 1, 2)).toThrow(RangeError);
    });
});

describe('RollingWindow', () => {
    it('should give the median and MAD of a small window', () => {
        const window = new RollingWindow(10);
        for (const value of [10, 12, 11, 13, 9]) window.push(value);

        expect(window.median()).toBe(11);
        expect(window.mad()).toBe(1);
    });

    it('should average the middle pair for an even count', () => {
        const window = new RollingWindow(10);
        for (const value of [1, 2, 3, 4]) window.push(value);

        expect(window.median()).toBe(2.5);
        expect(window.mad()).toBe(1);
    });

    it('should evict the oldest value when full', () => {
        const window = new RollingWindow(3);
        for (const value of [100, 1, 2, 3]) window.push(value);

        expect(window.size).toBe(3);
        expect(window.median()).toBe(2);
    });

    it('should evict values older than a time', () => {
        const window = new RollingWindow(10);
        [5, 6, 7, 8].forEach((value, index) => window.push(value, index * 1000));
        window.evictBefore(2000);

        expect(window.size).toBe(2);
        expect(window.oldestTime).toBe(2000);
        expect(window.newestTime).toBe(3000);
        expect(window.median()).toBe(7.5);
    });

    it('should match a brute-force median and MAD on random data', () => {
        const random = seededRandom(7);
        const window = new RollingWindow(25);
        const recent: number[] = [];
        for (let i = 0; i < 400; i++) {
            // Rounded values give ties, which the sorted copy must handle.
            const value = Math.round(random() * 20) - 10;
            window.push(value);
            recent.push(value);
            if (recent.length > 25) recent.shift();
            expect(window.median()).toBe(bruteMedian(recent));
            expect(window.mad()).toBeCloseTo(bruteMad(recent), 12);
        }
    });

    it('should reject a value that is not finite', () => {
        expect(() => new RollingWindow(3).push(Number.NaN)).toThrow(RangeError);
    });
});
