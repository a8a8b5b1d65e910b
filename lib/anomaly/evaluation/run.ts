// Replays one well file through a detector or the rule set and records when alerts were open.
import { RulesEngine } from '../../rules/engine';
import type { AssetLookup, RuleSet } from '../../rules/types';
import type { AlertEvent, Reading } from '../../types';
import { AnomalyEngine } from '../engine';
import type { AnomalySettings } from '../settings';
import type { WellFile } from './dataset';
import type { Timeline } from './protocol';

/** Index of the first row at or after `ms`. */
function rowAt(times: Float64Array, ms: number): number {
    let low = 0;
    let high = times.length;
    while (low < high) {
        const mid = (low + high) >> 1;
        if (times[mid] < ms) low = mid + 1;
        else high = mid;
    }
    return low;
}

/** Builds a timeline from alert events in time order: each open event is active until its resolved event. */
export function timelineOf(file: WellFile, events: readonly AlertEvent[]): Timeline {
    const active = new Uint8Array(file.times.length);
    const openings: number[] = [];
    const openedAt = new Map<string, number>();
    const mark = (from: number, to: number): void => {
        active.fill(1, from, to);
    };
    for (const event of events) {
        if (event.state === 'open') {
            const row = rowAt(file.times, Date.parse(event.opened_at));
            openedAt.set(event.event_id, row);
            openings.push(row);
        } else if (event.state === 'resolved' && event.resolved_at) {
            const from = openedAt.get(event.event_id);
            if (from === undefined) continue;
            openedAt.delete(event.event_id);
            mark(from, rowAt(file.times, Date.parse(event.resolved_at)));
        }
    }
    for (const from of openedAt.values()) mark(from, active.length);
    openings.sort((a, b) => a - b);
    return { active, openings };
}

/** Replays the file through an anomaly detector that learns from the first `learnRows` rows. */
export function runDetector(file: WellFile, settings: AnomalySettings, learnRows: number): { timeline: Timeline; events: AlertEvent[] } {
    const learnMs = learnRows < file.times.length ? file.times[learnRows] - file.times[0] : Infinity;
    let next = 0;
    const engine = new AnomalyEngine({ ...settings, learn: { durationMs: learnMs } }, { newId: () => `e${++next}` });
    const events: AlertEvent[] = [];
    const { assetId, times, metrics } = file;
    for (let row = 0; row < times.length; row++) {
        for (const series of metrics) {
            const value = series.values[row];
            if (Number.isNaN(value) || series.bad[row] === 1) continue;
            const produced = engine.observe(assetId, series.metric, times[row], value, series.unit);
            if (produced.length > 0) events.push(...produced);
        }
    }
    return { timeline: timelineOf(file, events), events };
}

/** Replays the file through the rule set, readings flagged as the normalizer would flag them. */
export function runRules(file: WellFile, ruleSet: RuleSet, assets: AssetLookup): { timeline: Timeline; events: AlertEvent[] } {
    let next = 0;
    const engine = new RulesEngine(ruleSet, { assets, newId: () => `r${++next}` });
    const events: AlertEvent[] = [];
    const { assetId, times, metrics } = file;
    for (let row = 0; row < times.length; row++) {
        const ts = new Date(times[row]).toISOString();
        const readings: Reading[] = metrics.map((series) => {
            const value = series.values[row];
            const empty = Number.isNaN(value);
            return {
                asset_id: assetId,
                metric: series.metric,
                value: empty ? null : value,
                unit: series.unit,
                ts,
                quality_flag: empty || series.bad[row] === 1 ? 'BAD' : 'GOOD',
            };
        });
        const produced = engine.process(readings);
        if (produced.length > 0) events.push(...produced);
    }
    return { timeline: timelineOf(file, events), events };
}
