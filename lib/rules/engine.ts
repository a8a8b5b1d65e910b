// Turns rule transitions into alert events: an open event per opening, and the same event marked
// resolved when its rule clears. Keeps the open events so that a clear carries the event_id.

import { alertEventId } from '../alerts/event-id';
import { parseTime } from '../time';
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

/** Returns the time a rule looks back to know its state for an asset: its window plus its hold. */
function ruleMemoryMs(rule: Rule, rules: readonly Rule[], depth = 0): number {
    switch (rule.kind) {
        case 'threshold':
            return rule.holdMs;
        case 'rate_of_change':
            return rule.windowMs + rule.holdMs;
        case 'stuck':
            return rule.windowMs;
        case 'missing_data':
            return rule.afterMs;
        case 'composite':
            // Composite rules name other rules; a cycle is a load error, and the depth guards anyway.
            if (depth > rules.length) return 0;
            return Math.max(0, ...rules.filter((other) => rule.ruleIds.includes(other.id)).map((other) => ruleMemoryMs(other, rules, depth + 1)));
    }
}

/**
 * Returns how far back the readings of an asset must go for the rules to rebuild its state. That
 * is the longest window plus hold of any rule, doubled so that a condition that began before the
 * window is seen from its start, and at least one minute.
 */
export function rulesLookbackMs(rules: readonly Rule[]): number {
    return Math.max(60_000, 2 * Math.max(0, ...rules.map((rule) => ruleMemoryMs(rule, rules))));
}

export class RulesEngine {
    private evaluator: RuleEvaluator;
    private ruleSet: RuleSet;
    private readonly openEvents = new Map<string, AlertEvent>();
    private readonly newId?: () => string;
    /** Assets whose readings this engine has evaluated or rebuilt. */
    private readonly seenAssets = new Set<string>();
    /** Alerts restored from a saved state whose condition the engine has not seen again yet. */
    private readonly restored = new Map<string, AlertEvent>();
    /** Per asset, the time of its first reading after a restore, in ms. */
    private readonly restoredSince = new Map<string, number>();

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

    /** True when the engine has state for the asset: it has evaluated or rebuilt its readings. */
    knows(assetId: string): boolean {
        return this.seenAssets.has(assetId);
    }

    /**
     * Rebuilds the state of an asset that another runtime watched before (after a restart or when
     * its bus partition moved here): evaluates `history`, the asset's stored readings just before
     * the ones about to be processed, without emitting its events, then reconciles the result with
     * `stored`, the asset's alerts that are open or acknowledged in the store. Returns the events to
     * send:
     * - an alert open after the history and not in the store, which the previous runtime found
     *   but did not record (its id derives from the incident, so a stored copy is not repeated);
     * - a stored alert whose condition cleared within the history, resolved at that reading.
     * A stored alert that is still open replaces the rebuilt one, so that its clear resolves it.
     */
    rebuild(assetId: string, history: Reading[], stored: AlertEvent[]): AlertEvent[] {
        this.seenAssets.add(assetId);
        const opened = new Map<string, AlertEvent>();
        const clearedAt = new Map<string, { ts: string; evidence: Record<string, unknown> }>();
        for (const transition of this.evaluator.evaluate(history.filter((reading) => reading.asset_id === assetId))) {
            const key = keyOf(transition.rule.id, transition.asset_id, transition.metric);
            if (transition.type === 'open') {
                opened.set(key, this.openEvent(transition));
                clearedAt.delete(key);
            } else {
                opened.delete(key);
                clearedAt.set(key, { ts: transition.ts, evidence: { ...transition.evidence, reading_ts: transition.ts } });
            }
        }

        const storedByKey = new Map<string, AlertEvent>();
        for (const event of stored) {
            if (event.asset_id === assetId && event.state !== 'resolved') storedByKey.set(keyOf(event.rule_id, event.asset_id, event.metric), event);
        }
        const events: AlertEvent[] = [];
        for (const [key, event] of opened) {
            const known = storedByKey.get(key);
            this.openEvents.set(key, known ?? event);
            if (!known) events.push(event);
        }
        for (const [key, event] of storedByKey) {
            const cleared = clearedAt.get(key);
            if (!opened.has(key) && cleared) events.push(this.resolvedEvent(event, cleared.ts, cleared.evidence));
        }
        return events;
    }

    /**
     * Drops everything the engine holds for an asset: rule windows, hold timers, open conditions,
     * open and restored alerts. Sends no events, and `knows` returns false afterwards, so the next
     * readings of the asset start from a rebuild, as on first sight. Used when the asset's state
     * may be stale, for example after its bus partition was owned by another runtime for a while.
     */
    forget(assetId: string): void {
        this.seenAssets.delete(assetId);
        this.evaluator.forget(assetId);
        for (const [key, event] of this.openEvents) {
            if (event.asset_id === assetId) this.openEvents.delete(key);
        }
        for (const [key, event] of this.restored) {
            if (event.asset_id === assetId) this.restored.delete(key);
        }
        this.restoredSince.delete(assetId);
    }

    /**
     * Restores alerts that were open when a runtime without a store (the edge) stopped, from the
     * state it saved (see openAlerts). The rules start without their windows, so a condition that
     * is still present opens again: that opening keeps the restored alert and sends nothing. A
     * restored alert whose condition has not opened again within the rules' lookback of its
     * asset's readings is resolved, since the condition ended while the runtime was down.
     */
    restore(events: AlertEvent[]): void {
        for (const event of events) {
            if (event.state === 'resolved') continue;
            const key = keyOf(event.rule_id, event.asset_id, event.metric);
            this.openEvents.set(key, event);
            this.restored.set(key, event);
        }
    }

    /** Evaluates readings; returns new open events and resolved events, in reading order. */
    process(readings: Iterable<Reading>): AlertEvent[] {
        const events: AlertEvent[] = [];
        const list = [...readings];
        for (const reading of list) this.seenAssets.add(reading.asset_id);
        for (const transition of this.evaluator.evaluate(list)) {
            const key = keyOf(transition.rule.id, transition.asset_id, transition.metric);
            if (transition.type === 'open') {
                // The same condition, seen again after a restore: the restored alert stands for it.
                if (this.restored.delete(key) && this.openEvents.has(key)) continue;
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
        if (this.restored.size > 0) events.push(...this.expireRestored(list));
        return events;
    }

    /** Resolves restored alerts whose condition has not opened again within the lookback of their asset's readings. */
    private expireRestored(readings: Reading[]): AlertEvent[] {
        const latest = new Map<string, number>();
        for (const reading of readings) {
            const ms = parseTime(reading.ts);
            if (!Number.isFinite(ms)) continue;
            if (!this.restoredSince.has(reading.asset_id)) this.restoredSince.set(reading.asset_id, ms);
            if (ms > (latest.get(reading.asset_id) ?? -Infinity)) latest.set(reading.asset_id, ms);
        }
        const lookbackMs = rulesLookbackMs(this.ruleSet.rules);
        const events: AlertEvent[] = [];
        for (const [key, event] of this.restored) {
            const sinceMs = this.restoredSince.get(event.asset_id);
            const nowMs = latest.get(event.asset_id);
            if (sinceMs === undefined || nowMs === undefined || nowMs - sinceMs <= lookbackMs) continue;
            this.restored.delete(key);
            if (this.openEvents.get(key) !== event) continue;
            this.openEvents.delete(key);
            const at = new Date(nowMs).toISOString();
            events.push(this.resolvedEvent(event, at, { reason: 'not_seen_after_restart', reading_ts: at }));
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
