// Lines up the live points of a trend with its forecast for uPlot, which draws every series over
// one shared list of x values. A series without a point at some x gets undefined there, which
// uPlot steps over, while null stays a gap in the line (a bad or empty reading).
import type { TrendPoint } from '../../lib/protocol';
import type { TrendForecast } from '../../lib/trend-store';

export type ChartColumn = (number | null | undefined)[];

/** Columns in chart series order: x (epoch ms), live value, forecast expected, band upper, band lower. */
export type ChartColumns = [number[], ChartColumn, ChartColumn, ChartColumn, ChartColumn];

/** Series indexes of the chart, matching ChartColumns. */
export const SERIES = { value: 1, expected: 2, upper: 3, lower: 4 } as const;

/**
 * Merges time-ordered live points and forecast points into chart columns. A live point and a
 * forecast point at the same time share one x value.
 */
export function chartColumns(points: readonly TrendPoint[], forecast?: TrendForecast): ChartColumns {
    const forecastPoints = forecast?.points ?? [];
    const columns: ChartColumns = [[], [], [], [], []];
    const [xs, values, expected, upper, lower] = columns;
    let live = 0;
    let ahead = 0;
    while (live < points.length || ahead < forecastPoints.length) {
        const liveTs = live < points.length ? points[live][0] : Infinity;
        const aheadTs = ahead < forecastPoints.length ? forecastPoints[ahead][0] : Infinity;
        const ts = Math.min(liveTs, aheadTs);
        xs.push(ts);
        if (liveTs === ts) {
            values.push(points[live][1]);
            live++;
        } else {
            values.push(undefined);
        }
        if (aheadTs === ts) {
            const [, mean, low, high] = forecastPoints[ahead];
            expected.push(mean);
            upper.push(high);
            lower.push(low);
            ahead++;
        } else {
            expected.push(undefined);
            upper.push(undefined);
            lower.push(undefined);
        }
    }
    return columns;
}
