import { describe, expect, it } from 'vitest';

import { MAD_TO_SIGMA, MadDetector, robustZ } from './mad';

const MINUTE = 60_000;

describe('robustZ', () => {
    it('should scale the distance from the median by the MAD', () => {
        // Window 10, 12, 11, 13, 9: median 11, MAD 1, so 15 is 0.6745 · 4 / 1 = 2.698.
        expect(robustZ(15, 11, 1, 0.01)).toBeCloseTo(2.698, 3);
        expect(robustZ(7, 11, 1, 0.01)).toBeCloseTo(-2.698, 3);
    });

    it('should use the floor when the MAD is smaller', () => {
        expect(robustZ(6, 5, 0, 0.5)).toBe(MAD_TO_SIGMA * 2);
    });
});

describe('MadDetector', () => {
    it('should score a reading against the window of the learning part', () => {
        const detector = new MadDetector({ windowMs: 10 * MINUTE, threshold: 5, learn: { readings: 31 }, minReadings: 5 }, 0);
        const values = [10, 12, 11, 13, 9];
        for (let i = 0; i < 31; i++) expect(detector.observe(i * 1000, 'temp_tpt', values[i % 5])).toEqual([]);

        const [verdict] = detector.observe(31_000, 'temp_tpt', 15);
        // 31 values of 9..13: median 11, MAD 1.
        expect(verdict.expected).toBe(11);
        expect(verdict.details?.mad).toBe(1);
        expect(verdict.score).toBeCloseTo(2.698, 3);
        expect(verdict.channel).toBe('temp_tpt');
        expect(verdict.window).toEqual({ from: 0, to: 30_000 });
    });

    it('should keep flat signals finite through the floor', () => {
        const detector = new MadDetector({ windowMs: 10 * MINUTE, threshold: 5, learn: { readings: 40 } }, 0);
        for (let i = 0; i < 40; i++) detector.observe(i * 1000, 'pressure_tpt', 5);

        const [verdict] = detector.observe(40_000, 'pressure_tpt', 6);
        // Floor of pressure at 5 psi: max(0.5 psi, 0.1 % of 5) = 0.5, as a MAD 0.6745 · 0.5.
        expect(verdict.details?.mad).toBe(0);
        expect(verdict.score).toBeCloseTo(2, 10);
    });

    it('should keep anomalous readings out of the window', () => {
        const detector = new MadDetector({ windowMs: 10 * MINUTE, threshold: 5, learn: { readings: 40 } }, 0);
        for (let i = 0; i < 40; i++) detector.observe(i * 1000, 'pressure_tpt', 100 + (i % 2));
        for (let i = 40; i < 200; i++) detector.observe(i * 1000, 'pressure_tpt', 200);

        const [verdict] = detector.observe(200_000, 'pressure_tpt', 200);
        expect(verdict.expected).toBe(100.5);
        expect(verdict.score).toBeGreaterThan(5);
    });

    it('should follow the signal when anomalies are allowed in', () => {
        const detector = new MadDetector({ windowMs: 10 * MINUTE, threshold: 5, learn: { readings: 40 }, excludeAnomalies: false }, 0);
        for (let i = 0; i < 40; i++) detector.observe(i * 1000, 'pressure_tpt', 100 + (i % 2));
        for (let i = 40; i < 200; i++) detector.observe(i * 1000, 'pressure_tpt', 200);

        const [verdict] = detector.observe(200_000, 'pressure_tpt', 200);
        expect(verdict.expected).toBe(200);
        expect(verdict.score).toBe(0);
    });

    it('should drop readings older than the window', () => {
        const options = { windowMs: MINUTE, threshold: 5, learn: { readings: 10 }, minReadings: 5, excludeAnomalies: false };
        const detector = new MadDetector(options, 0);
        for (let i = 0; i < 120; i++) detector.observe(i * 1000, 'pressure_tpt', i < 60 ? 0 : 50);

        const [verdict] = detector.observe(120_000, 'pressure_tpt', 50);
        expect(verdict.window.from).toBe(60_000);
        expect(verdict.expected).toBe(50);
    });
});
