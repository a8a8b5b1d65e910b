import { describe, expect, it } from 'vitest';

import { fitHolt, holtForecast, holtInitial, holtRun, holtUpdate } from './holt';

describe('Holt smoothing', () => {
    it('should update level and trend by the smoothing equations', () => {
        // level = 0.5·13 + 0.5·(10 + 1) = 12; trend = 0.5·(12 − 10) + 0.5·1 = 1.5.
        const state = holtUpdate({ alpha: 0.5, beta: 0.5, phi: 1 }, { level: 10, trend: 1 }, 13);

        expect(state).toEqual({ level: 12, trend: 1.5 });
    });

    it('should forecast along the trend', () => {
        expect(holtForecast({ alpha: 0.5, beta: 0.5, phi: 1 }, { level: 12, trend: 1.5 }, 2)).toBe(15);
    });

    it('should damp the trend with phi below 1', () => {
        // 12 + (0.5 + 0.25)·1.5 = 13.125.
        expect(holtForecast({ alpha: 0.5, beta: 0.5, phi: 0.5 }, { level: 12, trend: 1.5 }, 2)).toBe(13.125);
    });

    it('should forecast a linear series exactly', () => {
        const series = Array.from({ length: 20 }, (_, t) => 3 + 2 * t);
        const run = holtRun({ alpha: 0.3, beta: 0.1, phi: 1 }, series);

        expect(holtInitial(series)).toEqual({ level: 3, trend: 2 });
        expect(run.residuals).toHaveLength(19);
        expect(Math.max(...run.residuals.map(Math.abs))).toBeLessThan(1e-9);
        expect(holtForecast({ alpha: 0.3, beta: 0.1, phi: 1 }, run.state, 5)).toBeCloseTo(3 + 2 * 24, 9);
    });

    it('should collect errors of forecasts made steps ahead', () => {
        const series = [0, 0, 0, 10, 10, 10];
        const run = holtRun({ alpha: 1, beta: 0, phi: 1 }, series, 2);

        // With α = 1 and no trend each forecast is the last value, so errors appear two steps on.
        expect(run.residuals).toEqual([0, 10, 10, 0]);
    });

    it('should fit a linear series with zero error', () => {
        const series = Array.from({ length: 30 }, (_, t) => 100 - 0.5 * t);
        const fit = fitHolt(series, { horizon: 3 });

        expect(fit.mse).toBeLessThan(1e-18);
        expect(fit.parameters.phi).toBe(1);
        expect(holtForecast(fit.parameters, fit.state, 4)).toBeCloseTo(100 - 0.5 * 33, 10);
    });

    it('should need enough values for the horizon', () => {
        expect(() => fitHolt([1, 2, 3], { horizon: 2 })).toThrow(RangeError);
    });
});
