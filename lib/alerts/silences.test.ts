import { describe, expect, it } from 'vitest';

import { ValidationError } from '../errors';
import type { Silence } from '../store/alert-lifecycle';
import { describeMatchers, findSilence, parseSilenceRequest, silenceMatches, type SiteFacts } from './silences';

const NOW = Date.parse('2026-05-04T08:00:00.000Z');
const VOLVE: SiteFacts = { field: 'VOLVE', operator: 'equinor' };
const alert = { rule_id: 'tpt-pressure-collapse', asset_id: 'volve-15-9-f-1' };

function silence(overrides: Partial<Silence>): Silence {
    return {
        silence_id: '00000000-0000-4000-8000-000000000001',
        asset_id: null,
        field: null,
        operator: null,
        rule_id: null,
        starts_at: '2026-05-04T07:00:00.000Z',
        ends_at: '2026-05-04T09:00:00.000Z',
        reason: 'Turnaround',
        created_by: 'admin',
        created_at: '2026-05-04T06:00:00.000Z',
        expired_at: null,
        expired_by: null,
        ...overrides,
    };
}

describe('silenceMatches', () => {
    it.each([
        [{ asset_id: 'volve-15-9-f-1' }, true],
        [{ asset_id: 'volve-15-9-f-4' }, false],
        [{ field: 'VOLVE' }, true],
        [{ field: '3W offshore (anonymised)' }, false],
        [{ operator: 'equinor' }, true],
        [{ operator: 'petrobras' }, false],
        [{ rule_id: 'tpt-pressure-collapse' }, true],
        [{ field: 'VOLVE', rule_id: 'choke-upstream-pressure-rise' }, false],
        [{ field: 'VOLVE', rule_id: 'tpt-pressure-collapse' }, true],
        [{}, false],
    ])('should match %j: %s', (matchers, expected) => {
        expect(silenceMatches(matchers, alert, VOLVE)).toBe(expected);
    });

    it('should not match a site of an asset outside the registry', () => {
        expect(silenceMatches({ field: 'VOLVE' }, alert, undefined)).toBe(false);
        expect(silenceMatches({ asset_id: 'volve-15-9-f-1' }, alert, undefined)).toBe(true);
    });
});

describe('findSilence', () => {
    it('should pick the matching silence in force that ends last', () => {
        const early = silence({ silence_id: 'a', field: 'VOLVE', ends_at: '2026-05-04T08:30:00.000Z' });
        const late = silence({ silence_id: 'b', operator: 'equinor', ends_at: '2026-05-04T10:00:00.000Z' });
        const other = silence({ silence_id: 'c', field: 'OTHER', ends_at: '2026-05-04T12:00:00.000Z' });

        expect(findSilence([early, late, other], alert, VOLVE, NOW)?.silence_id).toBe('b');
    });

    it('should ignore silences outside their window', () => {
        const future = silence({ field: 'VOLVE', starts_at: '2026-05-04T08:00:00.001Z' });
        const ended = silence({ field: 'VOLVE', ends_at: '2026-05-04T08:00:00.000Z' });

        expect(findSilence([future, ended], alert, VOLVE, NOW)).toBeUndefined();
    });

    it('should describe the matchers', () => {
        expect(describeMatchers({ field: 'VOLVE', rule_id: 'stuck-transmitter' })).toBe('field VOLVE, rule stuck-transmitter');
    });
});

describe('parseSilenceRequest', () => {
    it('should resolve a duration from now', () => {
        expect(parseSilenceRequest({ field: ' VOLVE ', duration: '4h', reason: 'Turnaround of the process train' }, NOW)).toEqual({
            field: 'VOLVE',
            starts_at: '2026-05-04T08:00:00.000Z',
            ends_at: '2026-05-04T12:00:00.000Z',
            reason: 'Turnaround of the process train',
        });
    });

    it('should take explicit start and end times', () => {
        const request = parseSilenceRequest({ asset_id: 'volve-15-9-f-1', rule_id: 'stuck', starts_at: '2026-05-05T06:00:00+02:00', ends_at: '2026-05-05T06:00:00Z', reason: 'Well test' }, NOW);

        expect(request).toMatchObject({ asset_id: 'volve-15-9-f-1', rule_id: 'stuck', starts_at: '2026-05-05T04:00:00.000Z', ends_at: '2026-05-05T06:00:00.000Z' });
    });

    it.each([
        [[], '', 'The body is not a JSON object'],
        [{ duration: '1h', reason: 'x' }, '', 'A silence needs at least one of asset_id, field, operator, rule_id'],
        [{ field: 'VOLVE', duration: '1h', reason: 'x', site: 'a' }, 'site', 'Unknown field "site"'],
        [{ field: '', duration: '1h', reason: 'x' }, 'field', 'field must be non-empty text'],
        [{ field: 'VOLVE', duration: '1h' }, 'reason', 'reason is missing'],
        [{ field: 'VOLVE', reason: 'x' }, 'ends_at', 'Give either ends_at (an ISO 8601 time) or duration'],
        [{ field: 'VOLVE', duration: '1h', ends_at: '2026-05-04T09:00:00Z', reason: 'x' }, 'ends_at', 'Give either ends_at'],
        [{ field: 'VOLVE', duration: 'an hour', reason: 'x' }, 'duration', 'duration "an hour" is not a duration longer than 0'],
        [{ field: 'VOLVE', ends_at: '2026-05-04 09:00', reason: 'x' }, 'ends_at', 'ends_at "2026-05-04 09:00" is not an ISO 8601 time with a time zone'],
        [{ field: 'VOLVE', ends_at: '2026-05-04T07:00:00Z', starts_at: '2026-05-04T06:00:00Z', reason: 'x' }, 'ends_at', 'ends_at 2026-05-04T07:00:00.000Z has already passed'],
        [{ field: 'VOLVE', ends_at: '2026-05-04T09:00:00Z', starts_at: '2026-05-04T10:00:00Z', reason: 'x' }, 'ends_at', 'is not after starts_at 2026-05-04T10:00:00.000Z'],
        [{ field: 'VOLVE', duration: '100000d', reason: 'x' }, 'duration', 'The silence would last 100000 days, more than the limit of 366'],
        [{ field: 'VOLVE', ends_at: '2300-01-01T00:00:00Z', reason: 'x' }, 'ends_at', 'more than the limit of 366; silence for at most a year'],
    ])('should reject %j', (body, field, message) => {
        let error: unknown;
        try {
            parseSilenceRequest(body, NOW);
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe(field);
        expect((error as ValidationError).message).toContain(message);
    });
});
