import { describe, expect, it } from 'vitest';

import { RateOfChangeState, StuckState, type Change, type Sample } from './kinds';
import type { RateOfChangeRule, StuckRule } from './types';

const T0 = Date.parse('2024-05-01T00:00:00.000Z');

const base = {
    description: 'test rule',
    severity: 'P2' as const,
    runbook: 'docs/runbooks/test.md',
    message: '{asset_id} {value}',
    scope: { metrics: ['pressure_tpt'] },
};

/** Readings of a random walk with flat stretches, jumps, gaps, nulls and BAD flags, from a fixed seed. */
function walk(count: number, seed: number): Sample[] {
    let state = seed;
    const random = () => {
        state = (state * 1103515245 + 12345) % 2147483648;
        return state / 2147483648;
    };
    const samples: Sample[] = [];
    let ts = T0;
    let value = 1000;
    let flatUntil = 0;
    for (let index = 0; index < count; index++) {
        const roll = random();
        // Whole seconds, so that readings fall exactly on window edges.
        ts += roll < 0.02 ? 200_000 : 1000 * (1 + Math.floor(random() * 3));
        if (flatUntil < index && random() < 0.01) flatUntil = index + 40 + Math.floor(random() * 80);
        if (index > flatUntil) value += roll < 0.03 ? (random() - 0.5) * 400 : (random() - 0.5) * 4;
        const missing = random() < 0.02;
        samples.push({ ts, iso: new Date(ts).toISOString(), value: missing ? null : value, bad: random() < 0.02 });
    }
    return samples;
}

/** Computes the stuck rule's changes from scratch over the window's readings, for comparison. */
function stuckByHand(rule: StuckRule, samples: Sample[]): Change[] {
    const changes: Change[] = [];
    const kept: { ts: number; value: number }[] = [];
    let open = false;
    for (const sample of samples) {
        if (sample.value === null) continue;
        kept.push({ ts: sample.ts, value: sample.value });
        const windowStart = sample.ts - rule.windowMs;
        while (kept.length > 1 && kept[1].ts <= windowStart) kept.shift();
        const values = kept.map((point) => point.value);
        const low = Math.min(...values);
        const high = Math.max(...values);
        const spread = high - low;
        if (open) {
            if (spread > rule.tolerance) {
                open = false;
                changes.push({ type: 'clear', evidence: { value: sample.value, min: low, max: high, spread, tolerance: rule.tolerance } });
            }
            continue;
        }
        if (kept[0].ts > windowStart || spread > rule.tolerance) continue;
        open = true;
        changes.push({
            type: 'open',
            evidence: { value: sample.value, min: low, max: high, spread, tolerance: rule.tolerance, window: '2m', window_start: new Date(kept[0].ts).toISOString(), readings: kept.length },
        });
    }
    return changes;
}

/** Computes the rate-of-change rule's changes without hold time from scratch, for comparison. */
function rateByHand(rule: RateOfChangeRule, samples: Sample[]): { type: string; reference: number; reference_ts: string }[] {
    const changes: { type: string; reference: number; reference_ts: string }[] = [];
    const kept: { ts: number; value: number }[] = [];
    let open = false;
    for (const sample of samples) {
        if (sample.value === null || sample.bad) continue;
        kept.push({ ts: sample.ts, value: sample.value });
        while (kept[0].ts < sample.ts - rule.windowMs) kept.shift();
        const reference = kept[0];
        const rise = sample.value - reference.value;
        const drop = reference.value - sample.value;
        const limit = rule.maxRise as number;
        const change = { reference: reference.value, reference_ts: new Date(reference.ts).toISOString() };
        if (open && rise <= limit - rule.clearHysteresis && drop <= limit - rule.clearHysteresis) {
            open = false;
            changes.push({ type: 'clear', ...change });
        } else if (!open && (rise > limit || drop > limit)) {
            open = true;
            changes.push({ type: 'open', ...change });
        }
    }
    return changes;
}

describe('rule windows', () => {
    it('should match a recount for stuck', () => {
        const rule: StuckRule = { ...base, id: 'frozen', kind: 'stuck', windowMs: 120_000, tolerance: 0.5 };
        const samples = walk(6000, 11);
        const state = new StuckState();
        const changes = samples.map((sample) => state.update(rule, sample)).filter((change) => change !== undefined);
        const expected = stuckByHand(rule, samples);
        expect(expected.filter((change) => change.type === 'open').length).toBeGreaterThan(5);
        expect(changes).toEqual(expected);
    });

    it('should match a recount for rate of change', () => {
        const rule: RateOfChangeRule = { ...base, id: 'jump', kind: 'rate_of_change', windowMs: 60_000, maxRise: 60, maxDrop: 60, percent: false, holdMs: 0, clearHysteresis: 10 };
        const samples = walk(6000, 23);
        const state = new RateOfChangeState();
        const changes = samples
            .map((sample) => state.update(rule, sample))
            .filter((change) => change !== undefined)
            .map((change) => ({ type: change.type, reference: change.evidence.reference, reference_ts: change.evidence.reference_ts }));
        const expected = rateByHand(rule, samples);
        expect(expected.filter((change) => change.type === 'open').length).toBeGreaterThan(5);
        expect(changes).toEqual(expected);
    });
});
