// State machines of the rule kinds, one instance per rule, asset and metric. Each receives the
// readings of its key in timestamp order and reports when its alert opens or clears.
import { formatDuration } from './duration';
import { NumberDeque } from '../number-deque';
import { isoFromMs } from '../time';
import type { MissingDataRule, RateOfChangeRule, Rule, StuckRule, ThresholdRule } from './types';

/** One reading as the state machines see it: epoch milliseconds plus the original timestamp. */
export interface Sample {
    ts: number;
    iso: string;
    value: number | null;
    /** True for readings flagged BAD by the normalizer. */
    bad: boolean;
}

export interface Change {
    type: 'open' | 'clear';
    evidence: Record<string, unknown>;
}

export interface KindState {
    readonly open: boolean;
    /** Feeds the next reading of the key; returns the change it causes, if any. */
    update(rule: Rule, sample: Sample): Change | undefined;
}

/** Start of a run of readings that meet a condition, for hold times. */
class HoldTimer {
    since?: number;
    sinceIso?: string;
    private lastUsable?: number;

    /** Records a usable reading; returns true once the condition has held for `holdMs`. */
    meets(sample: Sample, holdMs: number, maxGapMs: number | undefined): boolean {
        const gapTooLong = maxGapMs !== undefined && this.lastUsable !== undefined && sample.ts - this.lastUsable > maxGapMs;
        this.lastUsable = sample.ts;
        if (this.since === undefined || gapTooLong) {
            this.since = sample.ts;
            this.sinceIso = sample.iso;
        }
        return sample.ts - this.since >= holdMs;
    }

    /** Records a usable reading that does not meet the condition. */
    miss(sample: Sample): void {
        this.lastUsable = sample.ts;
        this.since = undefined;
        this.sinceIso = undefined;
    }
}

function usable(sample: Sample): sample is Sample & { value: number } {
    return sample.value !== null && !sample.bad;
}

/** Value beyond a limit for a hold time; clears back past the limit by the hysteresis. */
export class ThresholdState implements KindState {
    open = false;
    private readonly hold = new HoldTimer();

    update(rule: Rule, sample: Sample): Change | undefined {
        const threshold = rule as ThresholdRule;
        if (!usable(sample)) return undefined;
        const value = sample.value;
        const above = threshold.direction === 'above';
        const clearLevel = above ? threshold.limit - threshold.clearHysteresis : threshold.limit + threshold.clearHysteresis;

        if (this.open) {
            this.hold.miss(sample);
            const cleared = above ? value <= clearLevel : value >= clearLevel;
            if (!cleared) return undefined;
            this.open = false;
            return {
                type: 'clear',
                evidence: { value, threshold: threshold.limit, direction: threshold.direction, clear_level: clearLevel },
            };
        }

        const beyond = above ? value > threshold.limit : value < threshold.limit;
        if (!beyond) {
            this.hold.miss(sample);
            return undefined;
        }
        if (!this.hold.meets(sample, threshold.holdMs, threshold.maxGapMs)) return undefined;
        this.open = true;
        return {
            type: 'open',
            evidence: {
                value,
                threshold: threshold.limit,
                direction: threshold.direction,
                hold: formatDuration(threshold.holdMs),
                condition_since: this.hold.sinceIso,
                clear_level: clearLevel,
            },
        };
    }
}

/**
 * Change against the oldest usable reading inside the window (ts >= now - window). A rise or drop
 * beyond its limit that lasts the hold time opens the alert. The alert clears when the change is
 * back at or under the limit minus the hysteresis.
 *
 * The window keeps times and values in number deques, not one object per reading: with 5,000
 * wells at 1 Hz the cloud's three 5-minute rules hold 4.5 million readings. The evidence gives the
 * reference time in UTC (toISOString), which is the form the normalizer writes.
 */
export class RateOfChangeState implements KindState {
    open = false;
    private readonly times = new NumberDeque();
    private readonly values = new NumberDeque();
    private readonly hold = new HoldTimer();

    update(rule: Rule, sample: Sample): Change | undefined {
        const rate = rule as RateOfChangeRule;
        if (!usable(sample)) return undefined;
        this.times.push(sample.ts);
        this.values.push(sample.value);
        while (this.times.front() < sample.ts - rate.windowMs) {
            this.times.popFront();
            this.values.popFront();
        }
        const referenceValue = this.values.front();

        let rise = sample.value - referenceValue;
        let drop = referenceValue - sample.value;
        if (rate.percent) {
            // A zero reference has no percentage change; the reading leaves the state as it is.
            if (referenceValue === 0) return undefined;
            rise = (rise / Math.abs(referenceValue)) * 100;
            drop = (drop / Math.abs(referenceValue)) * 100;
        }

        if (this.open) {
            this.hold.miss(sample);
            const riseBack = rate.maxRise === undefined || rise <= rate.maxRise - rate.clearHysteresis;
            const dropBack = rate.maxDrop === undefined || drop <= rate.maxDrop - rate.clearHysteresis;
            if (!riseBack || !dropBack) return undefined;
            this.open = false;
            return { type: 'clear', evidence: { value: sample.value, reference: referenceValue, reference_ts: isoFromMs(this.times.front()), rise, drop } };
        }

        const risen = rate.maxRise !== undefined && rise > rate.maxRise;
        const dropped = rate.maxDrop !== undefined && drop > rate.maxDrop;
        if (!risen && !dropped) {
            this.hold.miss(sample);
            return undefined;
        }
        if (!this.hold.meets(sample, rate.holdMs, rate.maxGapMs)) return undefined;
        this.open = true;
        return {
            type: 'open',
            evidence: {
                value: sample.value,
                reference: referenceValue,
                reference_ts: isoFromMs(this.times.front()),
                direction: risen ? 'rise' : 'drop',
                change: risen ? rise : drop,
                threshold: risen ? rate.maxRise : rate.maxDrop,
                percent: rate.percent,
                window: formatDuration(rate.windowMs),
                hold: formatDuration(rate.holdMs),
                condition_since: this.hold.sinceIso,
            },
        };
    }
}

/**
 * Spread (maximum minus minimum) of the readings over the last window, counting the last reading at
 * or before the window start as the value the window starts with. The alert opens when the window
 * is covered and the spread is within the tolerance; it clears when the spread exceeds it.
 *
 * Readings are numbered in arrival order. `times` and `values` hold the window's readings, the
 * first of them numbered `dropped`. The monotonic queues hold reading numbers: the front of
 * `minimum` is the reading with the smallest value, the front of `maximum` the largest. A 90-minute
 * window at 1 Hz keeps 5,400 readings per well, 16 bytes each, outside the garbage-collected heap.
 */
export class StuckState implements KindState {
    open = false;
    private readonly times = new NumberDeque();
    private readonly values = new NumberDeque();
    /** Readings removed from the front of the window so far: the number of the first one kept. */
    private dropped = 0;
    private readonly minimum = new NumberDeque();
    private readonly maximum = new NumberDeque();

    update(rule: Rule, sample: Sample): Change | undefined {
        const stuck = rule as StuckRule;
        if (sample.value === null) return undefined;
        const value = sample.value;
        const number = this.dropped + this.times.length;
        this.times.push(sample.ts);
        this.values.push(value);
        while (this.minimum.length > 0 && this.valueOf(this.minimum.back()) >= value) this.minimum.popBack();
        this.minimum.push(number);
        while (this.maximum.length > 0 && this.valueOf(this.maximum.back()) <= value) this.maximum.popBack();
        this.maximum.push(number);

        const windowStart = sample.ts - stuck.windowMs;
        while (this.times.length > 1 && this.times.at(1) <= windowStart) {
            this.times.popFront();
            this.values.popFront();
            this.dropped++;
        }
        while (this.minimum.front() < this.dropped) this.minimum.popFront();
        while (this.maximum.front() < this.dropped) this.maximum.popFront();

        const firstTs = this.times.front();
        const low = this.valueOf(this.minimum.front());
        const high = this.valueOf(this.maximum.front());
        const spread = high - low;

        if (this.open) {
            if (spread <= stuck.tolerance) return undefined;
            this.open = false;
            return { type: 'clear', evidence: { value, min: low, max: high, spread, tolerance: stuck.tolerance } };
        }
        if (firstTs > windowStart || spread > stuck.tolerance) return undefined;
        this.open = true;
        return {
            type: 'open',
            evidence: {
                value,
                min: low,
                max: high,
                spread,
                tolerance: stuck.tolerance,
                window: formatDuration(stuck.windowMs),
                window_start: isoFromMs(firstTs),
                readings: this.times.length,
            },
        };
    }

    private valueOf(number: number): number {
        return this.values.at(number - this.dropped);
    }
}

/**
 * Silence of one metric of an asset, measured on the asset's clock: the latest timestamp of any of
 * its readings. `update` takes readings of the watched metric, `advance` the timestamps of the
 * asset's other readings. The alert opens when the clock is `after` or more past the last reading of
 * the metric. It clears at the first reading of the metric that is less than `after` behind the
 * clock, and `duration_ms` is the gap that this reading closes. Nothing opens until the metric has
 * reported once, so assets without that sensor raise no alert.
 */
export class MissingDataState implements KindState {
    open = false;
    private lastSeen?: number;
    private lastSeenIso?: string;
    private clock = -Infinity;
    private clockIso = '';

    update(rule: Rule, sample: Sample): Change | undefined {
        const missing = rule as MissingDataRule;
        const previous = this.lastSeen;
        const previousIso = this.lastSeenIso;
        this.lastSeen = sample.ts;
        this.lastSeenIso = sample.iso;
        if (sample.ts > this.clock) {
            this.clock = sample.ts;
            this.clockIso = sample.iso;
        }
        if (this.open) {
            if (this.clock - sample.ts >= missing.afterMs) return undefined;
            this.open = false;
            return {
                type: 'clear',
                evidence: {
                    duration_ms: sample.ts - (previous as number),
                    last_reading_ts: previousIso,
                    returned_ts: sample.iso,
                },
            };
        }
        return this.check(missing);
    }

    /** Moves the asset's clock to `ts` when it is later; returns the opening it causes, if any. */
    advance(rule: Rule, ts: number, iso: string): Change | undefined {
        if (ts <= this.clock) return undefined;
        this.clock = ts;
        this.clockIso = iso;
        return this.check(rule as MissingDataRule);
    }

    private check(rule: MissingDataRule): Change | undefined {
        if (this.open || this.lastSeen === undefined || this.clock - this.lastSeen < rule.afterMs) return undefined;
        this.open = true;
        return {
            type: 'open',
            evidence: {
                last_reading_ts: this.lastSeenIso,
                clock_ts: this.clockIso,
                silent_ms: this.clock - this.lastSeen,
                after: formatDuration(rule.afterMs),
            },
        };
    }
}

/** Open state of a composite rule; the evaluator sets it from the rules it combines. */
export class CompositeState implements KindState {
    open = false;

    update(): Change | undefined {
        return undefined;
    }
}

export function createKindState(rule: Rule): KindState {
    switch (rule.kind) {
        case 'threshold':
            return new ThresholdState();
        case 'rate_of_change':
            return new RateOfChangeState();
        case 'stuck':
            return new StuckState();
        case 'missing_data':
            return new MissingDataState();
        case 'composite':
            return new CompositeState();
    }
}
