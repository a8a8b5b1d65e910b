import { describe, expect, it } from 'vitest';

import type { TrendForecast } from '../../lib/trend-store';
import { chartColumns } from './trend-forecast';

function forecast(points: [number, number, number, number][]): TrendForecast {
    return { asset_id: 'a1', metric: 'pressure_tpt', unit: 'psi', generated_at: 0, interval_ms: 10, points };
}

describe('chartColumns', () => {
    it('should return the live series alone without a forecast', () => {
        expect(chartColumns([[10, 1], [20, null]])).toEqual([[10, 20], [1, null], [undefined, undefined], [undefined, undefined], [undefined, undefined]]);
    });

    it('should put the forecast after the live points', () => {
        const columns = chartColumns([[10, 1], [20, 2]], forecast([[30, 3, 2, 4], [40, 4, 3, 5]]));

        expect(columns[0]).toEqual([10, 20, 30, 40]);
        expect(columns[1]).toEqual([1, 2, undefined, undefined]);
        expect(columns[2]).toEqual([undefined, undefined, 3, 4]);
        expect(columns[3]).toEqual([undefined, undefined, 4, 5]);
        expect(columns[4]).toEqual([undefined, undefined, 2, 3]);
    });

    it('should interleave overlapping times and share equal ones', () => {
        const columns = chartColumns([[10, 1], [25, 2], [30, null]], forecast([[20, 5, 4, 6], [30, 6, 5, 7]]));

        expect(columns[0]).toEqual([10, 20, 25, 30]);
        expect(columns[1]).toEqual([1, undefined, 2, null]);
        expect(columns[2]).toEqual([undefined, 5, undefined, 6]);
    });
});
