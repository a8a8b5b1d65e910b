import { describe, expect, it } from 'vitest';

import type { Summary } from './evaluate';
import { choose, type Candidate } from './tune';

function candidate(value: number, balancedAccuracy: number, falseAlertsPerDay: number): Candidate {
    const summary: Summary = { method: 'mad', balancedAccuracy, falseAlertsPerDay, missed: 0, eventFiles: 4, normalFiles: 2 };
    return { value, summary };
}

describe('choose', () => {
    it('should take the middle of the best plateau', () => {
        const chosen = choose([candidate(4, 0.8, 0), candidate(5, 0.9, 0), candidate(6, 0.902, 0), candidate(8, 0.899, 0), candidate(10, 0.85, 0)]);

        expect(chosen.value).toBe(6);
    });

    it('should prefer candidates within the false-alert limit', () => {
        const chosen = choose([candidate(4, 0.99, 5), candidate(5, 0.9, 0.5), candidate(6, 0.7, 0)]);

        expect(chosen.value).toBe(5);
    });

    it('should take the fewest false alerts when no candidate is within the limit', () => {
        const chosen = choose([candidate(4, 0.99, 9), candidate(5, 0.6, 3), candidate(6, 0.8, 3)]);

        expect(chosen.value).toBe(6);
    });
});
