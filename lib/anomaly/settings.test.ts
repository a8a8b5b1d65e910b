import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { DETECTOR_DEFAULTS, parseAnomalyConfig, parseLearn } from './settings';

describe('parseAnomalyConfig', () => {
    it('should fill the detector defaults', () => {
        const settings = parseAnomalyConfig({ detector: 'forecast' });

        expect(settings.windowMs).toBe(DETECTOR_DEFAULTS.forecast.windowMs);
        expect(settings.threshold).toBe(DETECTOR_DEFAULTS.forecast.threshold);
        expect(settings.learn).toEqual({ durationMs: 3_600_000 });
        expect(settings.metrics).toEqual([]);
        expect(settings.severity).toBe('P2');
    });

    it('should read text values from the editor', () => {
        const settings = parseAnomalyConfig({ detector: 'iforest', metrics: 'pressure_tpt, temp_tpt', window: '5m', threshold: '0.7', learn: '3600', hold: '3', severity: 'P1' });

        expect(settings).toMatchObject({ detector: 'iforest', metrics: ['pressure_tpt', 'temp_tpt'], windowMs: 300_000, threshold: 0.7, learn: { readings: 3600 }, hold: 3, severity: 'P1' });
    });

    it.each([
        [{ detector: 'band' }, 'Detector "band" is unknown'],
        [{ metrics: 'presure_tpt' }, 'Metric "presure_tpt" is not in the metric catalogue'],
        [{ window: '5 minutes' }, 'Window "5 minutes" is invalid'],
        [{ detector: 'iforest', threshold: '1.5' }, 'between 0 and 1'],
        [{ threshold: '-2' }, 'Threshold "-2" is invalid'],
        [{ learn: 'soon' }, 'Learn "soon" is invalid'],
        [{ hold: '1.5' }, 'Hold "1.5" is invalid'],
        [{ severity: 'P4' }, 'Severity "P4" is invalid'],
    ])('should reject %j', (config, message) => {
        expect(() => parseAnomalyConfig(config)).toThrow(ConfigError);
        expect(() => parseAnomalyConfig(config)).toThrow(message);
    });
});

describe('parseLearn', () => {
    it('should take readings or a duration', () => {
        expect(parseLearn('500')).toEqual({ readings: 500 });
        expect(parseLearn('30m')).toEqual({ durationMs: 1_800_000 });
    });
});
