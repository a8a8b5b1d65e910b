import { describe, expect, it } from 'vitest';

import { DeadbandFilter } from './deadband';
import { SwingingDoor, type SeriesPoint } from './swinging-door';

/** Largest difference between the points and linear interpolation between the archived points. */
function maxInterpolationError(points: SeriesPoint[], archived: SeriesPoint[]): number {
    let worst = 0;
    let j = 0;
    for (const point of points) {
        while (j + 1 < archived.length && archived[j + 1].t <= point.t) j++;
        const before = archived[j];
        const after = archived[j + 1];
        const estimate = before.t === point.t || !after ? before.v : before.v + ((after.v - before.v) * (point.t - before.t)) / (after.t - before.t);
        worst = Math.max(worst, Math.abs(estimate - point.v));
    }
    return worst;
}

function compress(points: SeriesPoint[], deviation: number): SeriesPoint[] {
    const door = new SwingingDoor(deviation);
    const archived = points.flatMap((point) => door.add(point));
    return [...archived, ...door.flush()];
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
    let state = seed;
    return () => {
        state = (state + 0x6d2b79f5) | 0;
        let x = Math.imul(state ^ (state >>> 15), 1 | state);
        x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
        return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
}

describe('SwingingDoor', () => {
    it('should archive only the ends of a straight line', () => {
        const points = Array.from({ length: 100 }, (_, i) => ({ t: i * 1000, v: 5 + 0.25 * i }));

        expect(compress(points, 0.01)).toEqual([points[0], points[99]]);
    });

    it('should archive the first point at once', () => {
        const door = new SwingingDoor(1);

        expect(door.add({ t: 0, v: 3 })).toEqual([{ t: 0, v: 3 }]);
        expect(door.add({ t: 1, v: 4 })).toEqual([]);
        expect(door.pending).toEqual({ t: 1, v: 4 });
    });

    it('should keep points the textbook door misses', () => {
        // The door from (0, 0) over (1, 10) with deviation 1 is still open at (2, 17.9), but the
        // line to (2, 17.9) passes 8.95 at t = 1, an error of 1.05.
        const points = [
            { t: 0, v: 0 },
            { t: 1, v: 10 },
            { t: 2, v: 17.9 },
        ];
        const archived = compress(points, 1);

        expect(archived).toEqual(points);
        expect(maxInterpolationError(points, archived)).toBe(0);
    });

    it('should stay within the deviation on random walks', () => {
        const next = random(42);
        for (const deviation of [0.05, 0.5, 2]) {
            let value = 100;
            const points = Array.from({ length: 20_000 }, (_, i) => {
                value += (next() - 0.5) * (i % 500 < 250 ? 0.2 : 3);
                return { t: i * 1000 + Math.floor(next() * 900), v: value };
            });
            const archived = compress(points, deviation);

            expect(maxInterpolationError(points, archived)).toBeLessThanOrEqual(deviation);
            expect(archived.length).toBeLessThan(points.length);
        }
    });

    it('should keep all noise at deviation 0', () => {
        const points = [0, 1, 0, 1, 0].map((v, t) => ({ t, v }));

        expect(compress(points, 0)).toEqual(points);
    });

    it('should reject a negative deviation', () => {
        expect(() => new SwingingDoor(-1)).toThrow(RangeError);
    });
});

describe('DeadbandFilter', () => {
    const points = [10, 10.2, 9.9, 10.4, 11, 11.1, 12.5].map((v, i) => ({ t: i, v }));

    it('should pass exceptions with the value before them', () => {
        const filter = new DeadbandFilter({ deadband: 0.5 });
        const passed = points.flatMap((point) => filter.add(point));

        expect(passed.map((p) => p.v)).toEqual([10, 10.4, 11, 11.1, 12.5]);
    });

    it('should pass only exceptions without the previous value', () => {
        const filter = new DeadbandFilter({ deadband: 0.5, passPrevious: false });
        const passed = points.flatMap((point) => filter.add(point));

        expect(passed.map((p) => p.v)).toEqual([10, 11, 12.5]);
    });

    it('should pass the held point on flush', () => {
        const filter = new DeadbandFilter({ deadband: 1 });
        filter.add({ t: 0, v: 1 });
        filter.add({ t: 1, v: 1.5 });

        expect(filter.flush()).toEqual([{ t: 1, v: 1.5 }]);
        expect(filter.flush()).toEqual([]);
    });
});
