import { describe, expect, it } from 'vitest';

import type { Reading } from '../types';
import { AnomalyEngine } from './engine';
import type { ForecastModel } from './forecast';
import {
    dueForecasts,
    forecastPayload,
    forecastPayloadProblem,
    ForecastSchedule,
    forecastStep,
    looksLikeForecast,
    parseForecastEvery,
    type ForecastPayload,
} from './forecast-payload';
import { holtRun, type HoltParameters } from './holt';
import { anomalySettings } from './settings';

const HOUR = 3_600_000;
const LAST_TS = Date.UTC(2017, 2, 20, 14, 0);
const TARGET = { asset_id: '3w-well-00004', metric: 'pressure_tpt', unit: 'psi' };

/** Builds a model whose state comes from Holt smoothing over the interval means 10, 12 and 13. */
function handModel(parameters: HoltParameters, intervalMs: number, sigma = 0.5): ForecastModel {
    const { state } = holtRun(parameters, [10, 12, 13]);
    return { parameters, state, sigma, intervalMs, horizon: 1, lastTs: LAST_TS };
}

function reading(second: number, value: number, metric = 'pressure_tpt'): Reading {
    return { asset_id: 'well-1', metric, value, unit: 'psi', ts: new Date(second * 1000).toISOString(), quality_flag: 'GOOD' };
}

describe('forecastStep', () => {
    it('should keep the model interval when it gives few points', () => {
        expect(forecastStep(HOUR)).toEqual({ stride: 1, count: 24 });
        expect(forecastStep(5 * 60_000)).toEqual({ stride: 1, count: 288 });
    });

    it('should widen the step to stay within 300 points', () => {
        // 24 h hold 5,760 intervals of 15 s; every 20th gives 288 points 5 minutes apart.
        expect(forecastStep(15_000)).toEqual({ stride: 20, count: 288 });
        // 8,640 intervals of 10 s; a stride of 29 (290 s) needs 298 points to reach 24 h.
        expect(forecastStep(10_000)).toEqual({ stride: 29, count: 298 });
    });

    it('should give one point for an interval longer than the span', () => {
        expect(forecastStep(2 * 24 * HOUR)).toEqual({ stride: 1, count: 1 });
    });

    it('should reject a zero interval', () => {
        expect(() => forecastStep(0)).toThrow(RangeError);
    });
});

describe('forecastPayload', () => {
    it('should forecast along the hand-computed Holt trend', () => {
        // α = β = 0.5, φ = 1. Start: level 10, trend 12 − 10 = 2.
        // After 12: level 0.5·12 + 0.5·(10 + 2) = 12, trend 0.5·(12 − 10) + 0.5·2 = 2.
        // After 13: level 0.5·13 + 0.5·(12 + 2) = 13.5, trend 0.5·(13.5 − 12) + 0.5·2 = 1.75.
        // So h hours ahead the forecast is 13.5 + 1.75·h, with a band of ±3·0.5.
        const payload = forecastPayload(handModel({ alpha: 0.5, beta: 0.5, phi: 1 }, HOUR), TARGET);

        expect(payload.asset_id).toBe('3w-well-00004');
        expect(payload.metric).toBe('pressure_tpt');
        expect(payload.unit).toBe('psi');
        expect(payload.generated_at).toBe('2017-03-20T14:00:00.000Z');
        expect(payload.interval_ms).toBe(HOUR);
        expect(payload.points).toHaveLength(24);
        expect(payload.points[0]).toEqual({ ts: '2017-03-20T15:00:00.000Z', expected: 15.25, lower: 13.75, upper: 16.75 });
        expect(payload.points[23].ts).toBe('2017-03-21T14:00:00.000Z');
        expect(payload.points[23].expected).toBe(55.5);
    });

    it('should damp the hand-computed trend', () => {
        // α = β = 0.5, φ = 0.8. Start: level 10, trend 2.
        // After 12: level 0.5·12 + 0.5·(10 + 0.8·2) = 11.8, trend 0.5·1.8 + 0.5·0.8·2 = 1.7.
        // After 13: level 0.5·13 + 0.5·(11.8 + 0.8·1.7) = 13.08, trend 0.5·1.28 + 0.5·0.8·1.7 = 1.32.
        // One hour ahead 13.08 + 0.8·1.32 = 14.136; two hours 13.08 + (0.8 + 0.64)·1.32 = 14.9808.
        const payload = forecastPayload(handModel({ alpha: 0.5, beta: 0.5, phi: 0.8 }, HOUR), TARGET);

        expect(payload.points[0].expected).toBeCloseTo(14.136, 10);
        expect(payload.points[1].expected).toBeCloseTo(14.9808, 10);
        // The damped trend adds at most 0.8·1.32/(1 − 0.8) = 5.28 to the level.
        expect(payload.points[23].expected).toBeLessThan(13.08 + 5.28);
    });

    it('should space 15-second intervals 5 minutes apart', () => {
        const payload = forecastPayload(handModel({ alpha: 0.5, beta: 0.5, phi: 1 }, 15_000), TARGET);

        expect(payload.interval_ms).toBe(15_000);
        expect(payload.points).toHaveLength(288);
        // The first point is 20 intervals ahead: 13.5 + 1.75·20.
        expect(payload.points[0]).toMatchObject({ ts: '2017-03-20T14:05:00.000Z', expected: 48.5 });
        expect(payload.points[287].ts).toBe('2017-03-21T14:00:00.000Z');
        expect(payload.points[287].expected).toBe(13.5 + 1.75 * 5_760);
    });

    it('should pass its own check', () => {
        const payload = forecastPayload(handModel({ alpha: 0.5, beta: 0.5, phi: 1 }, HOUR), TARGET);

        expect(looksLikeForecast(payload)).toBe(true);
        expect(forecastPayloadProblem(payload)).toBeUndefined();
    });
});

describe('ForecastSchedule', () => {
    it('should allow one forecast per interval of reading time', () => {
        const schedule = new ForecastSchedule(15 * 60_000);

        expect(schedule.take('well-a', 'oil_rate', 0)).toBe(true);
        expect(schedule.take('well-a', 'oil_rate', 14 * 60_000)).toBe(false);
        expect(schedule.take('well-b', 'oil_rate', 14 * 60_000)).toBe(true);
        expect(schedule.take('well-a', 'gas_rate', 14 * 60_000)).toBe(true);
        expect(schedule.take('well-a', 'oil_rate', 15 * 60_000)).toBe(true);
        expect(schedule.take('well-a', 'oil_rate', 29 * 60_000)).toBe(false);
    });
});

describe('dueForecasts', () => {
    const settings = anomalySettings('forecast', { windowMs: 10_000, learn: { readings: 300 } });
    const ramp = (second: number): number => 1000 + 0.1 * second;
    const feed = (engine: AnomalyEngine, from: number, to: number): Reading[] => {
        const readings = Array.from({ length: to - from }, (_, index) => reading(from + index, ramp(from + index)));
        engine.process(readings);
        return readings;
    };

    it('should send a forecast when the model is fitted', () => {
        const engine = new AnomalyEngine(settings);
        const schedule = new ForecastSchedule();

        const learning = feed(engine, 0, 200);
        expect(dueForecasts(engine, learning, schedule)).toEqual([]);

        const [payload] = dueForecasts(engine, feed(engine, 200, 400), schedule);
        // The interval from 390 s is still open, so the model's last interval starts at 380 s.
        expect(payload.generated_at).toBe('1970-01-01T00:06:20.000Z');
        expect(payload.points).toHaveLength(298);
        // The ramp gains 1 psi per 10-second interval, so 29 intervals after 380 s the mean is
        // that of 670 s to 680 s.
        expect(payload.points[0].ts).toBe('1970-01-01T00:11:10.000Z');
        expect(payload.points[0].expected).toBeCloseTo(ramp(674.5), 6);
    });

    it('should wait 15 minutes of reading time between forecasts', () => {
        const engine = new AnomalyEngine(settings);
        const schedule = new ForecastSchedule();
        dueForecasts(engine, feed(engine, 0, 400), schedule);

        // The last interval moves from 380 s to 980 s: 10 minutes.
        expect(dueForecasts(engine, feed(engine, 400, 1000), schedule)).toEqual([]);
        // Then to 1,380 s: 16 minutes 40 seconds after the first forecast.
        const next = dueForecasts(engine, feed(engine, 1000, 1400), schedule);
        expect(next.map((payload) => payload.generated_at)).toEqual(['1970-01-01T00:23:00.000Z']);
    });

    it('should send nothing for other detectors', () => {
        const engine = new AnomalyEngine(anomalySettings('mad', { learn: { readings: 10 } }));

        expect(dueForecasts(engine, feed(engine, 0, 400), new ForecastSchedule())).toEqual([]);
    });

    it('should send one forecast per asset and metric', () => {
        const engine = new AnomalyEngine(settings);
        const readings = Array.from({ length: 400 }, (_, second) => [reading(second, ramp(second)), reading(second, 50, 'temp_tpt')]).flat();
        const renamed = readings.map((item) => ({ ...item, asset_id: 'well-2' }));
        engine.process([...readings, ...renamed]);

        const payloads = dueForecasts(engine, [...readings, ...renamed], new ForecastSchedule());

        expect(payloads.map((payload) => `${payload.asset_id} ${payload.metric}`)).toEqual([
            'well-1 pressure_tpt',
            'well-1 temp_tpt',
            'well-2 pressure_tpt',
            'well-2 temp_tpt',
        ]);
    });
});

describe('parseForecastEvery', () => {
    it('should default to 15 minutes', () => {
        expect(parseForecastEvery('')).toBe(15 * 60_000);
        expect(parseForecastEvery(undefined)).toBe(15 * 60_000);
    });

    it('should parse a duration', () => {
        expect(parseForecastEvery(' 1h ')).toBe(3_600_000);
    });

    it('should reject text that is not a duration', () => {
        expect(() => parseForecastEvery('15')).toThrow('Forecast every "15" is invalid; enter a duration of reading time above 0, such as 15m.');
        expect(() => parseForecastEvery('0m')).toThrow('is invalid');
    });
});

describe('forecastPayloadProblem', () => {
    const valid: ForecastPayload = {
        ...TARGET,
        generated_at: '2017-03-20T14:00:00.000Z',
        interval_ms: 15_000,
        points: [{ ts: '2017-03-20T14:05:00.000Z', expected: 10, lower: 9, upper: 11 }],
    };

    it('should name the faulty field', () => {
        const cases: [unknown, string][] = [
            ['text', '"text" is not an object'],
            [{ ...valid, asset_id: '' }, 'asset_id is missing'],
            [{ ...valid, unit: undefined }, 'unit is missing'],
            [{ ...valid, generated_at: 'today' }, 'generated_at "today" is not an ISO 8601 time'],
            [{ ...valid, interval_ms: 0 }, 'interval_ms 0 is not a number above 0'],
            [{ ...valid, points: {} }, 'points is not an array'],
            [{ ...valid, points: [{ ...valid.points[0], upper: null }] }, 'points[0].upper null is not a finite number'],
            [{ ...valid, points: [valid.points[0], { ...valid.points[0], ts: 5 }] }, 'points[1].ts 5 is not an ISO 8601 time'],
        ];
        for (const [item, problem] of cases) expect(forecastPayloadProblem(item)).toBe(problem);
    });

    it('should tell forecasts from readings', () => {
        expect(looksLikeForecast(valid)).toBe(true);
        expect(looksLikeForecast(reading(0, 1))).toBe(false);
        expect(looksLikeForecast([valid])).toBe(false);
    });
});
