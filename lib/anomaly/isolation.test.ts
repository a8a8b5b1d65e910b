import { describe, expect, it } from 'vitest';

import { IsolationDetector } from './isolation';
import { seededRandom } from './prng';
import type { Verdict } from './types';

const SECOND = 1000;

function run(detector: IsolationDetector, from: number, to: number, shift: (second: number) => number): Verdict[] {
    const random = seededRandom(from + 1);
    const verdicts: Verdict[] = [];
    for (let second = from; second < to; second++) {
        const ts = second * SECOND;
        verdicts.push(...detector.observe(ts, 'pressure_tpt', 2000 + 3 * random() + shift(second)));
        verdicts.push(...detector.observe(ts, 'temp_tpt', 100 + 0.2 * random()));
    }
    return verdicts;
}

describe('IsolationDetector', () => {
    const options = { windowMs: 60 * SECOND, threshold: 0.8, learn: { durationMs: 1200 * SECOND }, stepMs: 15 * SECOND, seed: 2 };

    it('should score windows after learning, every step', () => {
        const detector = new IsolationDetector(options, 0);
        const verdicts = run(detector, 0, 1800, () => 0);

        expect(detector.learning).toBe(false);
        expect(verdicts[0].ts).toBeGreaterThanOrEqual(1200 * SECOND);
        // Training windows end inside the learning part.
        expect(verdicts[0].window.to).toBeLessThan(1200 * SECOND);
        expect(verdicts[1].ts - verdicts[0].ts).toBe(15 * SECOND);
        expect(Math.max(...verdicts.map((verdict) => verdict.score))).toBeLessThan(0.8);
    });

    it('should name the shifted metric of an unusual window', () => {
        const detector = new IsolationDetector(options, 0);
        run(detector, 0, 1800, () => 0);
        const verdicts = run(detector, 1800, 2000, (second) => (second >= 1850 ? 200 : 0));

        const high = verdicts.filter((verdict) => verdict.score > 0.8);
        expect(high.length).toBeGreaterThan(5);
        expect(high[0].metric).toBe('pressure_tpt');
        expect(high[0].channel).toBe('window');
        expect(high[high.length - 1].observed as number).toBeGreaterThan(2150);
        expect(high[high.length - 1].expected as number).toBeCloseTo(2001.5, 0);
    });
});
