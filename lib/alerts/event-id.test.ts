import { describe, expect, it } from 'vitest';

import { alertEventId } from './event-id';

describe('alertEventId', () => {
    it('should be stable for one incident', () => {
        const first = alertEventId('choke-rise', '3w-well-00004', 'pressure_upstream_choke', '2017-10-31T19:40:46.000Z');
        const again = alertEventId('choke-rise', '3w-well-00004', 'pressure_upstream_choke', '2017-10-31T19:40:46Z');

        expect(again).toBe(first);
        expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('should differ for each identifying field', () => {
        const base = ['rule', 'asset', 'metric', '2020-01-01T00:00:00.000Z'] as const;
        const ids = new Set([
            alertEventId(...base),
            alertEventId('rule2', base[1], base[2], base[3]),
            alertEventId(base[0], 'asset2', base[2], base[3]),
            alertEventId(base[0], base[1], 'metric2', base[3]),
            alertEventId(base[0], base[1], base[2], '2020-01-01T00:00:01.000Z'),
        ]);

        expect(ids.size).toBe(5);
    });
});
