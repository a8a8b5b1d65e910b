import { describe, expect, it } from 'vitest';

import { formatDuration, parseDuration } from './duration';
import { renderMessage, unknownPlaceholders } from './message';

describe('durations', () => {
    it.each([
        ['500ms', 500],
        ['30s', 30_000],
        ['1.5m', 90_000],
        ['2h', 7_200_000],
        ['1d', 86_400_000],
        ['0s', 0],
    ])('should parse %s', (text, ms) => {
        expect(parseDuration(text)).toBe(ms);
    });

    it.each(['30 seconds', '5', 'm5', '-1s', '1w', ''])('should reject %j', (text) => {
        expect(parseDuration(text)).toBeUndefined();
    });

    it('should format with the largest whole unit', () => {
        expect([0, 1_500, 30_000, 300_000, 5_400_000, 7_200_000, 86_400_000].map(formatDuration)).toEqual(['0s', '1500ms', '30s', '5m', '90m', '2h', '1d']);
    });
});

describe('message templates', () => {
    it('should fill placeholders and round numbers to two decimals', () => {
        const text = renderMessage('{asset_id}: {metric} at {value} {unit} (limit {threshold}, since {since})', {
            asset_id: 'well-1',
            metric: 'pressure_tpt',
            value: 2850.23456,
            unit: 'psi',
            threshold: 3000,
        });

        expect(text).toBe('well-1: pressure_tpt at 2850.23 psi (limit 3000, since )');
    });

    it('should list placeholders that do not exist', () => {
        expect(unknownPlaceholders('{asset_id} {asset} {valu}')).toEqual(['asset', 'valu']);
    });
});
