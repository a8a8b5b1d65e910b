// Evaluates rules on readings in event time. State is kept per rule, asset and metric. A reading
// that is not newer than the last one seen for its key does not change that key's state.
import type { Reading } from '../types';
import { createKindState, type KindState, type Sample } from './kinds';
import type { AssetLookup, EvaluatorStats, Rule, Transition } from './types';

interface KeyState {
    rule: Rule;
    asset_id: string;
    metric: string;
    lastTs: number;
    kind: KindState;
}

/** A rule, asset and metric whose alert is open. */
export interface OpenKey {
    rule: Rule;
    asset_id: string;
    metric: string;
}

function stateKey(ruleId: string, assetId: string, metric: string): string {
    return `${ruleId}\u0001${assetId}\u0001${metric}`;
}

/** Returns the parameters that decide when a rule fires; equal fingerprints keep their state on reload. */
export function ruleFingerprint(rule: Rule): string {
    const { id: _id, description: _description, severity: _severity, runbook: _runbook, message: _message, line: _line, ...logic } = rule;
    return JSON.stringify(logic);
}

export class RuleEvaluator {
    private byMetric = new Map<string, Rule[]>();
    private readonly states = new Map<string, KeyState>();
    readonly stats: EvaluatorStats = { evaluated: 0, outOfOrder: 0, duplicates: 0, invalidTimestamps: 0 };

    /** `assets` returns registry facts for scopes by asset type or operator. */
    constructor(
        rules: Rule[],
        private readonly assets: AssetLookup = () => undefined,
    ) {
        this.index(rules);
    }

    private index(rules: Rule[]): void {
        this.byMetric = new Map();
        for (const rule of rules) {
            for (const metric of rule.scope.metrics) {
                const list = this.byMetric.get(metric) ?? [];
                list.push(rule);
                this.byMetric.set(metric, list);
            }
        }
    }

    private inScope(rule: Rule, assetId: string): boolean {
        const { asset_ids: ids, asset_types: types, operators } = rule.scope;
        if (ids && !ids.includes(assetId)) return false;
        if (!types && !operators) return true;
        const facts = this.assets(assetId);
        if (!facts) return false;
        if (types && !(facts.type !== undefined && (types as string[]).includes(facts.type))) return false;
        if (operators && !(facts.operator !== undefined && operators.includes(facts.operator))) return false;
        return true;
    }

    /** Feeds readings in the order given; returns the opens and clears they cause, in that order. */
    evaluate(readings: Iterable<Reading>): Transition[] {
        const transitions: Transition[] = [];
        for (const reading of readings) {
            const rules = this.byMetric.get(reading.metric);
            if (!rules) continue;
            const ts = Date.parse(reading.ts);
            if (Number.isNaN(ts)) {
                this.stats.invalidTimestamps++;
                continue;
            }
            const sample: Sample = { ts, iso: reading.ts, value: reading.value, bad: reading.quality_flag === 'BAD' };
            let matched = false;
            let late = false;
            let repeated = false;

            for (const rule of rules) {
                if (!this.inScope(rule, reading.asset_id)) continue;
                matched = true;
                const key = stateKey(rule.id, reading.asset_id, reading.metric);
                let state = this.states.get(key);
                if (!state) {
                    state = { rule, asset_id: reading.asset_id, metric: reading.metric, lastTs: -Infinity, kind: createKindState(rule) };
                    this.states.set(key, state);
                }
                if (ts < state.lastTs) {
                    late = true;
                    continue;
                }
                if (ts === state.lastTs) {
                    repeated = true;
                    continue;
                }
                state.lastTs = ts;
                const change = state.kind.update(rule, sample);
                if (change) {
                    transitions.push({
                        type: change.type,
                        rule,
                        asset_id: reading.asset_id,
                        metric: reading.metric,
                        ts: reading.ts,
                        value: reading.value,
                        unit: reading.unit,
                        evidence: change.evidence,
                    });
                }
            }
            if (matched) this.stats.evaluated++;
            if (late) this.stats.outOfOrder++;
            if (repeated) this.stats.duplicates++;
        }
        return transitions;
    }

    /** Keys whose alert is open. */
    openKeys(): OpenKey[] {
        return [...this.states.values()].filter((state) => state.kind.open).map(({ rule, asset_id, metric }) => ({ rule, asset_id, metric }));
    }

    /**
     * Switches to a new rule list. State of a rule whose id and fingerprint are unchanged carries
     * over; state of removed or changed rules is dropped. Returns the open keys that were dropped.
     */
    replaceRules(rules: Rule[]): { removed: OpenKey[]; changed: OpenKey[] } {
        const next = new Map(rules.map((rule) => [rule.id, rule]));
        const removed: OpenKey[] = [];
        const changed: OpenKey[] = [];
        for (const [key, state] of this.states) {
            const successor = next.get(state.rule.id);
            if (successor && ruleFingerprint(successor) === ruleFingerprint(state.rule)) {
                state.rule = successor;
                continue;
            }
            this.states.delete(key);
            if (state.kind.open) (successor ? changed : removed).push({ rule: state.rule, asset_id: state.asset_id, metric: state.metric });
        }
        this.index(rules);
        return { removed, changed };
    }
}
