// Turns rule transitions into alert events: an open event per opening, and the same event marked
// resolved when its rule clears. Keeps the open events so that a clear carries the event_id.

import { alertEventId } from '../alerts/event-id';
import type { AlertEvent, Reading } from '../types';
import { formatDuration } from './duration';
import { RuleEvaluator, type OpenKey } from './evaluator';
import { renderMessage, type MessageValues } from './message';
import type { AssetLookup, EvaluatorStats, Rule, RuleSet, Transition } from './types';

export interface RulesEngineOptions {
    /** Registry facts for scopes by asset type or operator. */
    assets?: AssetLookup;
    /** Event id generator for tests; by default the id is derived from rule, asset, metric and time (lib/alerts/event-id). */
    newId?: () => string;
}

function keyOf(ruleId: string, assetId: string, metric: string): string {
    return `${ruleId}\u0001${assetId}\u0001${metric}`;
}

function messageValues(transition: Transition): MessageValues {
    const { rule, evidence } = transition;
    const values: MessageValues = {
        asset_id: transition.asset_id,
        metric: transition.metric,
        value: transition.value,
        unit: transition.unit,
        rule_id: rule.id,
        severity: rule.severity,
        threshold: evidence.threshold as number | undefined,
        direction: evidence.direction as string | undefined,
        since: (evidence.condition_since ?? evidence.window_start) as string | undefined,
    };
    if (rule.kind === 'threshold') values.hold = formatDuration(rule.holdMs);
    if (rule.kind === 'rate_of_change') {
        values.window = formatDuration(rule.windowMs);
        values.hold = formatDuration(rule.holdMs);
        values.change = evidence.change as number;
        values.reference = evidence.reference as number;
    }
    if (rule.kind === 'missing_data') {
        values.window = formatDuration(rule.afterMs);
        values.since = evidence.last_reading_ts as string | undefined;
    }
    if (rule.kind === 'stuck') {
        values.window = formatDuration(rule.windowMs);
        values.tolerance = rule.tolerance;
        values.threshold = rule.tolerance;
    }
    return values;
}

export class RulesEngine {
    private evaluator: RuleEvaluator;
    private ruleSet: RuleSet;
    private readonly openEvents = new Map<string, AlertEvent>();
    private readonly newId?: () => string;

    constructor(ruleSet: RuleSet, options: RulesEngineOptions = {}) {
        this.ruleSet = ruleSet;
        this.evaluator = new RuleEvaluator(ruleSet.rules, options.assets);
        this.newId = options.newId;
    }

    get rules(): RuleSet {
        return this.ruleSet;
    }

    get openCount(): number {
        return this.openEvents.size;
    }

    get stats(): EvaluatorStats {
        return this.evaluator.stats;
    }

    /** Open alert events, oldest first. */
    openAlerts(): AlertEvent[] {
        return [...this.openEvents.values()];
    }

    /** Evaluates readings; returns new open events and resolved events, in reading order. */
    process(readings: Iterable<Reading>): AlertEvent[] {
        const events: AlertEvent[] = [];
        for (const transition of this.evaluator.evaluate(readings)) {
            const key = keyOf(transition.rule.id, transition.asset_id, transition.metric);
            if (transition.type === 'open') {
                const event = this.openEvent(transition);
                this.openEvents.set(key, event);
                events.push(event);
                continue;
            }
            const open = this.openEvents.get(key);
            if (!open) continue;
            this.openEvents.delete(key);
            events.push(this.resolvedEvent(open, transition.ts, { ...transition.evidence, reading_ts: transition.ts }));
        }
        return events;
    }

    /**
     * Switches to new rules. Alerts of removed rules and of rules with changed parameters are
     * resolved at `at`, because nothing watches their old condition any more. Other alerts stay open.
     */
    replaceRules(ruleSet: RuleSet, at: string = new Date().toISOString()): AlertEvent[] {
        const { removed, changed } = this.evaluator.replaceRules(ruleSet.rules);
        this.ruleSet = ruleSet;
        const resolve = (keys: OpenKey[], reason: string): AlertEvent[] =>
            keys.flatMap(({ rule, asset_id, metric }) => {
                const key = keyOf(rule.id, asset_id, metric);
                const open = this.openEvents.get(key);
                if (!open) return [];
                this.openEvents.delete(key);
                return [this.resolvedEvent(open, at, { reason, source: ruleSet.source })];
            });
        return [...resolve(removed, 'rule_removed'), ...resolve(changed, 'rule_changed')];
    }

    private openEvent(transition: Transition): AlertEvent {
        const rule: Rule = transition.rule;
        return {
            event_id: this.newId ? this.newId() : alertEventId(rule.id, transition.asset_id, transition.metric, transition.ts),
            rule_id: rule.id,
            asset_id: transition.asset_id,
            metric: transition.metric,
            severity: rule.severity,
            state: 'open',
            message: renderMessage(rule.message, messageValues(transition)),
            runbook: rule.runbook,
            opened_at: transition.ts,
            acknowledged_at: null,
            acknowledged_by: null,
            resolved_at: null,
            resolved_by: null,
            evidence: { rule_kind: rule.kind, unit: transition.unit, ...transition.evidence },
        };
    }

    private resolvedEvent(open: AlertEvent, at: string, evidence: Record<string, unknown>): AlertEvent {
        return {
            ...open,
            state: 'resolved',
            resolved_at: at,
            resolved_by: 'rule',
            evidence: { ...open.evidence, resolved: evidence },
        };
    }
}
