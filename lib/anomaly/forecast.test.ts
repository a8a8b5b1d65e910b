import { describe, expect, it } from 'vitest';

import { ForecastDetector, MAX_STEPPED_INTERVALS, forecastPoints } from './forecast';
import type { Verdict } from './types';

const SECOND = 1000;

/** Feeds one reading a second from `from` to `to` (exclusive) and returns the verdicts. */
function feed(detector: ForecastDetector, from: number, to: number, value: (second: number) => number): Verdict[] {
    const verdicts: Verdict[] = [];
    for (let second = from; second < to; second++) verdicts.push(...detector.observe(second * SECOND, 'pressure_tpt', value(second)));
    return verdicts;
}

describe('ForecastDetector', () => {
    const options = { intervalMs: 10 * SECOND, threshold: 6, learn: { durationMs: 600 * SECOND }, horizon: 3 };
    const ramp = (second: number): number => 1000 + 0.5 * second;

    it('should stay silent while learning and on the learned course', () => {
        const detector = new ForecastDetector(options, 0);
        const learning = feed(detector, 0, 600, ramp);
        const after = feed(detector, 600, 900, ramp);

        expect(learning).toEqual([]);
        expect(after.length).toBeGreaterThan(20);
        expect(Math.max(...after.map((verdict) => verdict.score))).toBeLessThan(1);
        expect(detector.model('pressure_tpt')?.horizon).toBe(3);
    });

    it('should score the interval spanning the learning end', () => {
        const detector = new ForecastDetector({ ...options, learn: { durationMs: 605 * SECOND } }, 0);
        const verdicts = feed(detector, 0, 611, ramp);

        // Intervals up to 600 s are learned; the one from 600 s to 610 s is scored.
        expect(verdicts).toHaveLength(1);
        expect(verdicts[0].ts).toBe(610 * SECOND);
        expect(verdicts[0].observed).toBeCloseTo(ramp(604.5), 10);
        expect(detector.model('pressure_tpt')?.lastTs).toBe(600 * SECOND);
    });

    it('should score a step far beyond the residual scale', () => {
        const detector = new ForecastDetector(options, 0);
        feed(detector, 0, 900, ramp);
        const verdicts = feed(detector, 900, 960, (second) => ramp(second) + 100);

        // The first verdict closes the interval 890 s to 900 s, still on the ramp.
        expect(verdicts[0].score).toBeLessThan(1);
        const first = verdicts[1];
        // The ramp has no noise, so the residual scale is the floor: 0.1 % of the level at the end
        // of learning, the mean of the last learned interval (590 s to 600 s), 1297.25 psi.
        expect(first.details?.sigma).toBeCloseTo(1.29725, 6);
        expect(first.score).toBeGreaterThan(60);
        expect(first.expected).toBeCloseTo(ramp(904.5), 6);
        expect(first.observed).toBeCloseTo(ramp(904.5) + 100, 6);
    });

    it('should restart after a long gap', () => {
        const detector = new ForecastDetector(options, 0);
        feed(detector, 0, 900, ramp);
        // A gap of more than MAX_STEPPED_INTERVALS intervals of 10 s, then a level 500 psi higher.
        const resume = 900 + (MAX_STEPPED_INTERVALS + 10) * 10;
        const verdicts = feed(detector, resume, resume + 60, () => 2000);

        // The interval that closes the last one before the gap is scored; the first interval after
        // it only restarts the model, and the next ones are scored against the new level.
        const afterGap = verdicts.filter((verdict) => verdict.ts > resume * SECOND);
        expect(afterGap.length).toBeGreaterThan(0);
        expect(Math.max(...afterGap.map((verdict) => verdict.score))).toBeLessThan(1);
        expect(detector.model('pressure_tpt')?.lastTs).toBe((resume + 40) * SECOND);
    });

    it('should keep forecasting the normal course during an anomaly', () => {
        const detector = new ForecastDetector(options, 0);
        feed(detector, 0, 900, ramp);
        const verdicts = feed(detector, 900, 1500, (second) => ramp(second) + 100);

        const last = verdicts[verdicts.length - 1];
        expect(last.score).toBeGreaterThan(60);
        expect(last.expected as number).toBeLessThan(ramp(1500));
    });

    it('should return forecast points along the fitted trend', () => {
        const detector = new ForecastDetector(options, 0);
        feed(detector, 0, 900, ramp);
        const model = detector.model('pressure_tpt');
        if (!model) throw new Error('the model is not fitted');
        const points = forecastPoints(model, 4, 6);

        expect(points).toHaveLength(4);
        expect(points[0].ts).toBe(model.lastTs + 60 * SECOND);
        // Every interval mean lies 5 psi above the previous one, so 6 intervals add 30 psi.
        expect(points[1].value - points[0].value).toBeCloseTo(30, 6);
        expect(points[0].upper - points[0].value).toBeCloseTo(3 * model.sigma, 10);
    });
});
