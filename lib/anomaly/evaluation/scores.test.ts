import { describe, expect, it } from 'vitest';

import { balancedAccuracy, confusion, detectionRate, f1Score, meanOf, silenceRate } from './scores';

describe('window scores', () => {
    // Three abnormal windows, two found; five normal windows, one alerted.
    const labels = [true, true, true, false, false, false, false, false];
    const predictions = [true, true, false, true, false, false, false, false];
    const matrix = confusion(labels, predictions);

    it('should count the confusion matrix', () => {
        expect(matrix).toEqual({ truePositive: 2, falseNegative: 1, trueNegative: 4, falsePositive: 1 });
    });

    it('should average detection and correct silence', () => {
        expect(detectionRate(matrix)).toBeCloseTo(2 / 3, 12);
        expect(silenceRate(matrix)).toBe(0.8);
        // (2/3 + 4/5) / 2 = 0.7333.
        expect(balancedAccuracy(matrix)).toBeCloseTo(0.7333, 4);
    });

    it('should compute F1 of the abnormal class', () => {
        // 2·2 / (2·2 + 1 + 1) = 0.6667.
        expect(f1Score(matrix)).toBeCloseTo(0.6667, 4);
    });

    it('should fall back to the one rate there is', () => {
        const normalOnly = confusion([false, false, false, false], [false, true, false, false]);

        expect(balancedAccuracy(normalOnly)).toBe(0.75);
        expect(detectionRate(normalOnly)).toBeUndefined();
        expect(f1Score(normalOnly)).toBe(0);
        expect(f1Score(confusion([false], [false]))).toBeUndefined();
    });

    it('should reject predictions of another length', () => {
        expect(() => confusion([true], [])).toThrow(RangeError);
    });

    it('should average only defined values', () => {
        expect(meanOf([1, undefined, 0])).toBe(0.5);
        expect(meanOf([undefined])).toBeUndefined();
    });
});
