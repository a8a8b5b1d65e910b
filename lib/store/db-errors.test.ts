import { describe, expect, it } from 'vitest';

import { ServiceError } from '../errors';
import { databaseError } from './db-errors';
import { backoffDelay } from './retry';

function pgError(message: string, fields: Record<string, string>): Error {
    return Object.assign(new Error(message), fields);
}

describe('databaseError', () => {
    it.each([
        ['refused connection', pgError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
        ['server shutdown', pgError('terminating connection due to administrator command', { code: '57P01' })],
        ['server starting', pgError('the database system is starting up', { code: '57P03' })],
        ['lost connection', new Error('Connection terminated unexpectedly')],
    ])('should mark a %s as retriable', (_case, error) => {
        const wrapped = databaseError(error, 'Database query');

        expect(wrapped).toBeInstanceOf(ServiceError);
        expect(wrapped.retriable).toBe(true);
    });

    it('should name the constraint a row violates', () => {
        const wrapped = databaseError(
            pgError('new row violates check constraint "readings_quality_flag_check"', { code: '23514', constraint: 'readings_quality_flag_check' }),
            'Database query',
        );

        expect(wrapped.retriable).toBe(false);
        expect(wrapped.message).toMatch(/^Database query failed: new row violates .*\[23514\].*constraint readings_quality_flag_check\); correct the input/);
        expect(wrapped.context.code).toBe('23514');
    });
});

describe('backoffDelay', () => {
    it('should double the delay up to the maximum', () => {
        const ceilings = [1, 2, 3, 4, 10].map((attempt) => backoffDelay(attempt, { initialDelayMs: 200, maxDelayMs: 1_000 }, () => 1));

        expect(ceilings).toEqual([200, 400, 800, 1_000, 1_000]);
    });

    it('should wait at least half of the ceiling', () => {
        expect(backoffDelay(3, { initialDelayMs: 200, maxDelayMs: 10_000 }, () => 0)).toBe(400);
    });
});
