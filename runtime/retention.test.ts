import { afterEach, describe, expect, it, vi } from 'vitest';

import { ConfigError } from '../lib/errors';
import { metricValue } from '../lib/observability/counters';
import type { RetentionPolicy, RetentionResult } from '../lib/store/types';
import { createLogger } from './logging';
import { formatRetentionPolicy, parseRetentionPolicy, scheduleRetention } from './retention';

const logger = createLogger({}, { level: 'fatal' });

function result(names: string[]): RetentionResult {
    return {
        droppedPartitions: names.map((name) => ({ resolution: 'raw' as const, name, from: '2020-01-01T00:00:00.000Z', to: '2020-02-01T00:00:00.000Z' })),
        horizons: { raw: names.length > 0 ? '2020-02-01T00:00:00.000Z' : null, '1m': null, '15m': null, '1h': null },
        rawHorizon: names.length > 0 ? '2020-02-01T00:00:00.000Z' : null,
    };
}

describe('parseRetentionPolicy', () => {
    it('should fill left-out resolutions with the defaults', () => {
        expect(parseRetentionPolicy('raw=30d')).toEqual({ raw: 30, '1m': 730, '15m': null, '1h': null });
        expect(parseRetentionPolicy('')).toEqual({ raw: 90, '1m': 730, '15m': null, '1h': null });
    });

    it('should round-trip through its text form', () => {
        const policy: RetentionPolicy = { raw: 7, '1m': 365, '15m': 1_000, '1h': null };

        expect(parseRetentionPolicy(formatRetentionPolicy(policy))).toEqual(policy);
    });

    it('should name the bad part and the fix', () => {
        expect(() => parseRetentionPolicy('raw')).toThrow(/Invalid retention "raw": write RESOLUTION=DAYS, for example raw=90d/);
        expect(() => parseRetentionPolicy('5m=10d')).toThrow(/Invalid retention resolution "5m": use raw, 1m, 15m or 1h/);
        expect(() => parseRetentionPolicy('raw=-3d')).toThrow(/Invalid retention "-3d" for raw/);
        expect(() => parseRetentionPolicy('raw=1000d')).toThrow(ConfigError);
    });
});

describe('scheduleRetention', () => {
    afterEach(() => {
        vi.useRealTimers();
    });

    it('should run the first pass after the delay and then on every interval', async () => {
        vi.useFakeTimers();
        const applyRetention = vi.fn(async () => result(['readings_2020_01']));
        const before = metricValue('ul_retention_dropped_partitions_total', { resolution: 'raw' }) ?? 0;
        const schedule = scheduleRetention({ store: { applyRetention }, policy: parseRetentionPolicy(''), intervalMs: 1_000, firstDelayMs: 100, logger });

        await vi.advanceTimersByTimeAsync(99);
        expect(applyRetention).not.toHaveBeenCalled();
        await vi.advanceTimersByTimeAsync(1);
        expect(applyRetention).toHaveBeenCalledTimes(1);
        await vi.advanceTimersByTimeAsync(2_000);
        expect(applyRetention).toHaveBeenCalledTimes(3);
        expect(metricValue('ul_retention_dropped_partitions_total', { resolution: 'raw' })).toBe(before + 3);

        await schedule.stop();
        await vi.advanceTimersByTimeAsync(5_000);
        expect(applyRetention).toHaveBeenCalledTimes(3);
    });

    it('should not start a pass while one is running', async () => {
        let finish: (value: RetentionResult) => void = () => undefined;
        const applyRetention = vi.fn(() => new Promise<RetentionResult>((resolve) => {
            finish = resolve;
        }));
        const schedule = scheduleRetention({ store: { applyRetention }, policy: parseRetentionPolicy(''), intervalMs: 3_600_000, firstDelayMs: 3_600_000, logger });

        const first = schedule.runOnce();
        const second = await schedule.runOnce();
        finish(result([]));

        expect(second).toBeUndefined();
        expect((await first)?.droppedPartitions).toEqual([]);
        expect(applyRetention).toHaveBeenCalledTimes(1);
        await schedule.stop();
    });

    it('should count a failed pass and try again on the next interval', async () => {
        vi.useFakeTimers();
        const applyRetention = vi.fn()
            .mockRejectedValueOnce(new Error('connection refused'))
            .mockResolvedValue(result([]));
        const failures = metricValue('ul_retention_failures_total') ?? 0;
        const schedule = scheduleRetention({ store: { applyRetention }, policy: parseRetentionPolicy(''), intervalMs: 1_000, firstDelayMs: 10, logger });

        await vi.advanceTimersByTimeAsync(10);
        expect(metricValue('ul_retention_failures_total')).toBe(failures + 1);
        await vi.advanceTimersByTimeAsync(1_000);
        expect(applyRetention).toHaveBeenCalledTimes(2);
        expect(metricValue('ul_retention_last_success_seconds')).toBeGreaterThan(0);
        await schedule.stop();
    });
});
