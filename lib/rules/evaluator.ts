// Evaluates rules on readings in event time. State is kept per rule, asset and metric. A reading
// that is not newer than the last one seen for its key does not change that key's state.
import { parseTime } from '../time';
import type { Reading } from '../types';
import { createKindState, MissingDataState, type KindState, type Sample } from './kinds';
import type { AssetLookup, CompositeRule, EvaluatorStats, Rule, Transition } from './types';

interface KeyState {
    rule: Rule;
    asset_id: string;
    metric: string;
    lastTs: number;
    /** Unit of the last reading of the key. */
    unit: string;
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

/**
 * Key states by asset, then rule id, then metric. Every reading looks up the state of each rule
 * on its metric, and nested maps find it without building a key string per lookup.
 */
class StateTable {
    private readonly byAsset = new Map<string, Map<string, Map<string, KeyState>>>();

    get(assetId: string, ruleId: string, metric: string): KeyState | undefined {
        return this.byAsset.get(assetId)?.get(ruleId)?.get(metric);
    }

    set(state: KeyState): void {
        let ofAsset = this.byAsset.get(state.asset_id);
        if (!ofAsset) {
            ofAsset = new Map();
            this.byAsset.set(state.asset_id, ofAsset);
        }
        let ofRule = ofAsset.get(state.rule.id);
        if (!ofRule) {
            ofRule = new Map();
            ofAsset.set(state.rule.id, ofRule);
        }
        ofRule.set(state.metric, state);
    }

    delete(state: KeyState): void {
        const ofAsset = this.byAsset.get(state.asset_id);
        const ofRule = ofAsset?.get(state.rule.id);
        if (!ofAsset || !ofRule || ofRule.get(state.metric) !== state) return;
        ofRule.delete(state.metric);
        if (ofRule.size > 0) return;
        ofAsset.delete(state.rule.id);
        if (ofAsset.size === 0) this.byAsset.delete(state.asset_id);
    }

    deleteAsset(assetId: string): void {
        this.byAsset.delete(assetId);
    }

    /** Returns every state in a new list, so that the caller may delete states while it walks the list. */
    list(): KeyState[] {
        const states: KeyState[] = [];
        for (const ofAsset of this.byAsset.values()) {
            for (const ofRule of ofAsset.values()) states.push(...ofRule.values());
        }
        return states;
    }
}

/** Returns the parameters that decide when a rule fires; equal fingerprints keep their state on reload. */
export function ruleFingerprint(rule: Rule): string {
    const { id: _id, description: _description, severity: _severity, runbook: _runbook, message: _message, line: _line, escalation: _escalation, ...logic } = rule;
    return JSON.stringify(logic);
}

export class RuleEvaluator {
    private byMetric = new Map<string, Rule[]>();
    private missingRules: Rule[] = [];
    /** Composite rules by the id of each rule they combine. */
    private compositesOf = new Map<string, CompositeRule[]>();
    /** Metric label of each composite rule: the metrics of the rules it combines. */
    private compositeMetric = new Map<string, string>();
    /** Open keys per rule and asset, for composite rules. */
    private readonly openCounts = new Map<string, number>();
    private readonly states = new StateTable();
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
        this.missingRules = rules.filter((rule) => rule.kind === 'missing_data');
        this.compositesOf = new Map();
        this.compositeMetric = new Map();
        const byId = new Map(rules.map((rule) => [rule.id, rule]));
        for (const rule of rules) {
            if (rule.kind !== 'composite') continue;
            const metrics = new Set<string>();
            for (const id of rule.ruleIds) {
                const list = this.compositesOf.get(id) ?? [];
                list.push(rule);
                this.compositesOf.set(id, list);
                for (const metric of byId.get(id)?.scope.metrics ?? []) metrics.add(metric);
            }
            this.compositeMetric.set(rule.id, [...metrics].sort().join(','));
        }
        for (const rule of rules) {
            for (const metric of rule.scope.metrics) {
                const list = this.byMetric.get(metric) ?? [];
                list.push(rule);
                this.byMetric.set(metric, list);
            }
        }
    }

    private inScope(rule: Rule, assetId: string): boolean {
        const { asset_ids: ids, asset_types: types, operators, fields } = rule.scope;
        if (ids && !ids.includes(assetId)) return false;
        if (!types && !operators && !fields) return true;
        const facts = this.assets(assetId);
        if (!facts) return false;
        if (types && !(facts.type !== undefined && (types as string[]).includes(facts.type))) return false;
        if (operators && !(facts.operator !== undefined && operators.includes(facts.operator))) return false;
        if (fields && !(facts.field !== undefined && fields.includes(facts.field))) return false;
        return true;
    }

    private stateFor(rule: Rule, assetId: string, metric: string, unit: string): KeyState {
        let state = this.states.get(assetId, rule.id, metric);
        if (!state) {
            state = { rule, asset_id: assetId, metric, lastTs: -Infinity, unit, kind: createKindState(rule) };
            this.states.set(state);
        }
        return state;
    }

    /** Records a transition, then the composite transitions it causes on the same asset. */
    private emit(transitions: Transition[], transition: Transition): void {
        transitions.push(transition);
        const countKey = stateKey(transition.rule.id, transition.asset_id, '');
        const count = (this.openCounts.get(countKey) ?? 0) + (transition.type === 'open' ? 1 : -1);
        if (count > 0) this.openCounts.set(countKey, count);
        else this.openCounts.delete(countKey);
        for (const composite of this.compositesOf.get(transition.rule.id) ?? []) {
            const opened = composite.ruleIds.filter((id) => this.openCounts.has(stateKey(id, transition.asset_id, '')));
            const satisfied = composite.mode === 'all' ? opened.length === composite.ruleIds.length : opened.length > 0;
            const state = this.stateFor(composite, transition.asset_id, this.compositeMetric.get(composite.id) ?? '', transition.unit);
            if (satisfied === state.kind.open) continue;
            (state.kind as { open: boolean }).open = satisfied;
            transitions.push({
                type: satisfied ? 'open' : 'clear',
                rule: composite,
                asset_id: transition.asset_id,
                metric: state.metric,
                ts: transition.ts,
                value: transition.value,
                unit: transition.unit,
                evidence: { mode: composite.mode, rules: composite.ruleIds, open_rules: opened, trigger: transition.rule.id, trigger_metric: transition.metric },
            });
        }
    }

    /** Moves the clock of the asset's missing_data keys for other metrics than the reading's own. */
    private advanceClocks(transitions: Transition[], reading: Reading, ts: number): void {
        for (const rule of this.missingRules) {
            if (!this.inScope(rule, reading.asset_id)) continue;
            for (const metric of rule.scope.metrics) {
                if (metric === reading.metric) continue;
                const state = this.states.get(reading.asset_id, rule.id, metric);
                if (!state) continue;
                const change = (state.kind as MissingDataState).advance(rule, ts, reading.ts);
                if (change) {
                    this.emit(transitions, { type: change.type, rule, asset_id: reading.asset_id, metric, ts: reading.ts, value: null, unit: state.unit, evidence: change.evidence });
                }
            }
        }
    }

    /** Feeds readings in the order given; returns the opens and clears they cause, in that order. */
    evaluate(readings: Iterable<Reading>): Transition[] {
        const transitions: Transition[] = [];
        for (const reading of readings) {
            const rules = this.byMetric.get(reading.metric);
            if (!rules && this.missingRules.length === 0) continue;
            const ts = parseTime(reading.ts);
            if (Number.isNaN(ts)) {
                if (rules) this.stats.invalidTimestamps++;
                continue;
            }
            if (this.missingRules.length > 0) this.advanceClocks(transitions, reading, ts);
            if (!rules) continue;
            const sample: Sample = { ts, iso: reading.ts, value: reading.value, bad: reading.quality_flag === 'BAD' };
            let matched = false;
            let late = false;
            let repeated = false;

            for (const rule of rules) {
                if (!this.inScope(rule, reading.asset_id)) continue;
                matched = true;
                const state = this.stateFor(rule, reading.asset_id, reading.metric, reading.unit);
                if (ts < state.lastTs) {
                    late = true;
                    continue;
                }
                if (ts === state.lastTs) {
                    repeated = true;
                    continue;
                }
                state.lastTs = ts;
                state.unit = reading.unit;
                const change = state.kind.update(rule, sample);
                if (change) {
                    this.emit(transitions, {
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

    /** Drops the state of every rule for the asset, including open conditions, without reporting transitions. */
    forget(assetId: string): void {
        this.states.deleteAsset(assetId);
        for (const key of this.openCounts.keys()) {
            if (key.split('\u0001')[1] === assetId) this.openCounts.delete(key);
        }
    }

    /** Returns the keys whose alert is open, grouped by asset. */
    openKeys(): OpenKey[] {
        return this.states.list().filter((state) => state.kind.open).map(({ rule, asset_id, metric }) => ({ rule, asset_id, metric }));
    }

    /**
     * Switches to a new rule list. State of a rule whose id and fingerprint are unchanged carries
     * over; state of removed or changed rules is dropped. Returns the open keys that were dropped.
     */
    replaceRules(rules: Rule[]): { removed: OpenKey[]; changed: OpenKey[] } {
        const next = new Map(rules.map((rule) => [rule.id, rule]));
        const removed: OpenKey[] = [];
        const changed: OpenKey[] = [];
        for (const state of this.states.list()) {
            const successor = next.get(state.rule.id);
            if (successor && ruleFingerprint(successor) === ruleFingerprint(state.rule)) {
                state.rule = successor;
                continue;
            }
            this.states.delete(state);
            if (!state.kind.open) continue;
            const openKey = { rule: state.rule, asset_id: state.asset_id, metric: state.metric };
            if (successor) changed.push(openKey);
            else removed.push(openKey);
        }

        this.index(rules);
        this.openCounts.clear();
        for (const state of this.states.list()) {
            if (!state.kind.open || state.rule.kind === 'composite') continue;
            const countKey = stateKey(state.rule.id, state.asset_id, '');
            this.openCounts.set(countKey, (this.openCounts.get(countKey) ?? 0) + 1);
        }

        // A composite whose rules lost their open state is no longer satisfied, so it counts as changed.
        // NOTE: a composite added by a reload while its rules are already open opens only at the next
        // transition of one of its rules on that asset.
        for (const state of this.states.list()) {
            if (state.rule.kind !== 'composite' || !state.kind.open) continue;
            const composite = state.rule;
            const opened = composite.ruleIds.filter((id) => this.openCounts.has(stateKey(id, state.asset_id, '')));
            const satisfied = composite.mode === 'all' ? opened.length === composite.ruleIds.length : opened.length > 0;
            if (satisfied) continue;
            this.states.delete(state);
            changed.push({ rule: composite, asset_id: state.asset_id, metric: state.metric });
        }

        return { removed, changed };
    }
}
