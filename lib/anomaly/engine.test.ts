import { describe, expect, it } from 'vitest';

import type { AlertEvent, Reading } from '../types';
import { AnomalyEngine } from './engine';
import { anomalySettings } from './settings';

function reading(second: number, value: number | null, extra: Partial<Reading> = {}): Reading {
    return {
        asset_id: 'well-1',
        metric: 'pressure_tpt',
        value,
        unit: 'psi',
        ts: new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString(),
        quality_flag: 'GOOD',
        ...extra,
    };
}

/** 100 seconds of a flat signal, 20 seconds at a level far above it, then 60 seconds back at normal. */
function stepReadings(): Reading[] {
    const readings: Reading[] = [];
    for (let second = 0; second < 180; second++) {
        const high = second >= 100 && second < 120;
        readings.push(reading(second, high ? 1500 : 1000 + (second % 3)));
    }
    return readings;
}

describe('AnomalyEngine', () => {
    const settings = anomalySettings('mad', { windowMs: 10 * 60_000, threshold: 10, hold: 3, clearHold: 5, learn: { readings: 60 } });

    it('should open and resolve an alert', () => {
        let id = 0;
        const engine = new AnomalyEngine(settings, { newId: () => `id-${++id}` });
        const events = engine.process(stepReadings());

        expect(events.map((event) => event.state)).toEqual(['open', 'resolved']);
        const [open, resolved] = events;
        expect(open.event_id).toBe('id-1');
        expect(open.rule_id).toBe('anomaly:mad:pressure_tpt');
        expect(open.asset_id).toBe('well-1');
        expect(open.severity).toBe('P2');
        expect(open.opened_at).toBe('2024-01-01T00:01:42.000Z');
        expect(open.evidence).toMatchObject({ detector: 'mad', threshold: 10, expected: 1001, observed: 1500, unit: 'psi', hold: 3 });
        expect(open.evidence.score as number).toBeGreaterThan(10);
        expect(open.evidence.window).toEqual({ from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T00:01:39.000Z' });
        expect(open.message).toContain('pressure_tpt is 1500 psi');
        expect(resolved.event_id).toBe('id-1');
        expect(resolved.resolved_at).toBe('2024-01-01T00:02:04.000Z');
        expect(resolved.resolved_by).toBe('detector');
        expect(engine.openCount).toBe(0);
    });

    it('should keep the alert open while the anomaly lasts', () => {
        const engine = new AnomalyEngine(settings);
        const readings = stepReadings().map((item, second) => (second >= 100 ? { ...item, value: 1500 } : item));
        const events = engine.process(readings);

        expect(events.map((event) => event.state)).toEqual(['open']);
        expect(engine.openAlerts()).toEqual([events[0]]);
    });

    it('should not alert while learning', () => {
        const engine = new AnomalyEngine({ ...settings, learn: { readings: 150 } });
        const events = engine.process(stepReadings().slice(0, 140));

        expect(events).toEqual([]);
        expect(engine.learning('well-1')).toBe(true);
        expect(engine.learning('well-2')).toBe(true);
    });

    it('should skip unusable, late and unwatched readings', () => {
        const engine = new AnomalyEngine({ ...settings, metrics: ['pressure_tpt'] });
        engine.process([reading(5, 1000), reading(4, 1000), reading(5, 1000), reading(6, null), reading(7, 99_999, { quality_flag: 'BAD' })]);
        engine.process([reading(8, 1000, { metric: 'temp_tpt' }), reading(9, 1000, { ts: 'yesterday' })]);

        expect(engine.stats).toEqual({ used: 1, unusable: 2, otherMetrics: 1, outOfOrder: 2, invalidTimestamps: 1 });
    });

    it('should keep assets apart', () => {
        const engine = new AnomalyEngine(settings);
        const other = stepReadings().map((item) => ({ ...item, asset_id: 'well-2', value: 1000 }));
        const events = engine.process([...stepReadings(), ...other]);

        expect(events.every((event: AlertEvent) => event.asset_id === 'well-1')).toBe(true);
        expect(engine.learning('well-2')).toBe(false);
    });

    it('should return forecast points from the forecast detector only', () => {
        const forecast = new AnomalyEngine(anomalySettings('forecast', { windowMs: 10_000, learn: { readings: 300 } }));
        const readings = Array.from({ length: 400 }, (_, second) => reading(second, 1000 + second * 0.1));
        forecast.process(readings);
        const points = forecast.forecast('well-1', 'pressure_tpt', 3, 6);

        expect(points).toHaveLength(3);
        expect((points?.[2].ts ?? 0) - (points?.[0].ts ?? 0)).toBe(120_000);
        expect(new AnomalyEngine(settings).forecast('well-1', 'pressure_tpt', 3)).toBeUndefined();
    });
});
