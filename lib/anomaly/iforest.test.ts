import { describe, expect, it } from 'vitest';

import { IsolationForest, averagePathLength } from './iforest';
import { seededRandom } from './prng';

/** Points of a 2-D normal cluster around (0, 0), by the Box-Muller transform. */
function cluster(count: number, seed: number): number[][] {
    const random = seededRandom(seed);
    return Array.from({ length: count }, () => {
        const radius = Math.sqrt(-2 * Math.log(1 - random()));
        const angle = 2 * Math.PI * random();
        return [radius * Math.cos(angle), radius * Math.sin(angle)];
    });
}

describe('averagePathLength', () => {
    it('should follow c(n) = 2·H(n−1) − 2·(n−1)/n', () => {
        expect(averagePathLength(0)).toBe(0);
        expect(averagePathLength(1)).toBe(0);
        expect(averagePathLength(2)).toBe(1);
        // H(255) ≈ ln 255 + 0.5772 = 6.1185, so c(256) ≈ 12.2370 − 1.9922.
        expect(averagePathLength(256)).toBeCloseTo(10.2448, 3);
    });
});

describe('IsolationForest', () => {
    const training = cluster(300, 11);

    it('should score anomalies above the cluster', () => {
        const forest = IsolationForest.fit(training, { seed: 3 });
        const trainingScores = training.map((point) => forest.score(point)).sort((a, b) => a - b);
        const p95 = trainingScores[Math.floor(0.95 * trainingScores.length)];

        const far = forest.score([6, 6]);
        const side = forest.score([-5, 4]);
        const center = forest.score([0, 0]);

        expect(far).toBeGreaterThan(0.6);
        expect(side).toBeGreaterThan(0.6);
        expect(far).toBeGreaterThan(p95);
        expect(side).toBeGreaterThan(p95);
        expect(center).toBeLessThan(0.5);
    });

    it('should give the same scores for the same seed', () => {
        const first = IsolationForest.fit(training, { seed: 5 });
        const second = IsolationForest.fit(training, { seed: 5 });
        const other = IsolationForest.fit(training, { seed: 6 });

        expect(second.score([2, 1])).toBe(first.score([2, 1]));
        expect(other.score([2, 1])).not.toBe(first.score([2, 1]));
    });

    it('should isolate points beyond the margins at the first split', () => {
        const flat = training.map(([x]) => [x, 7]);
        const plain = IsolationForest.fit(flat, { seed: 3 });
        const checked = IsolationForest.fit(flat, { seed: 3, margins: [1, 0.5] });

        // The second feature was constant, so the plain forest cannot use it.
        expect(plain.score([0, 100])).toBe(plain.score([0, 7]));
        expect(checked.score([0, 100])).toBeCloseTo(2 ** (-1 / averagePathLength(256)), 12);
        expect(checked.score([0, 7.4])).toBe(plain.score([0, 7.4]));
    });

    it('should reject ragged or empty training data', () => {
        expect(() => IsolationForest.fit([])).toThrow(RangeError);
        expect(() => IsolationForest.fit([[1, 2], [3]])).toThrow(RangeError);
        expect(() => IsolationForest.fit([[1, Number.NaN]])).toThrow(RangeError);
    });

    it('should reject a point of another width', () => {
        const forest = IsolationForest.fit(training, { trees: 5 });
        expect(() => forest.score([1])).toThrow(RangeError);
    });
});
