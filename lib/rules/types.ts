// Shapes of a loaded rules file and of the transitions the evaluator reports.
import type { Asset, Severity } from '../types';

/** Readings a rule watches. A reading must match every list that is given. */
export interface RuleScope {
    metrics: string[];
    asset_ids?: string[];
    asset_types?: Asset['type'][];
    operators?: string[];
    /** Field names from the asset registry, such as VOLVE. */
    fields?: string[];
}

/** One step of an escalation policy. */
export interface EscalationStep {
    /** Time after the previous step, or after the alert's first notification for the first step, in milliseconds. */
    afterMs: number;
    /** Severity the alert is raised to. */
    to: Severity;
}

interface RuleBase {
    id: string;
    description: string;
    severity: Severity;
    /** An http(s) URL or a path inside the repository. */
    runbook: string;
    /** Message template with placeholders such as {asset_id} and {value}. */
    message: string;
    scope: RuleScope;
    /** Steps that raise the severity of an alert left open and unacknowledged; absent for none. */
    escalation?: EscalationStep[];
    /** Line of the rule in its file, for messages about it. */
    line?: number;
}

export interface ThresholdRule extends RuleBase {
    kind: 'threshold';
    /** Limit of the rule. Values beyond it in `direction` open the alert. */
    limit: number;
    direction: 'above' | 'below';
    holdMs: number;
    clearHysteresis: number;
    /** When set, a gap longer than this between usable readings restarts the hold. */
    maxGapMs?: number;
}

export interface RateOfChangeRule extends RuleBase {
    kind: 'rate_of_change';
    windowMs: number;
    maxRise?: number;
    maxDrop?: number;
    /** When true, maxRise and maxDrop are percentages of the reference value. */
    percent: boolean;
    holdMs: number;
    clearHysteresis: number;
    maxGapMs?: number;
}

export interface StuckRule extends RuleBase {
    kind: 'stuck';
    windowMs: number;
    tolerance: number;
}

/**
 * No reading of a watched metric for `afterMs` of event time. The clock of an asset is the latest
 * timestamp of any of its readings, so the rule opens when other metrics of the asset move on while
 * this one stays silent, and never on wall-clock time alone.
 */
export interface MissingDataRule extends RuleBase {
    kind: 'missing_data';
    afterMs: number;
}

/** Combination of other rules on the same asset: every one open (`all`) or at least one (`any`). */
export interface CompositeRule extends RuleBase {
    kind: 'composite';
    mode: 'all' | 'any';
    ruleIds: string[];
}

export type Rule = ThresholdRule | RateOfChangeRule | StuckRule | MissingDataRule | CompositeRule;

export interface RuleSet {
    version: 1;
    rules: Rule[];
    /** File the rules came from, relative to the project root when inside it. */
    source: string;
    /** SHA-256 of the file text, to skip reloads that change nothing. */
    hash: string;
}

/** Registry facts the scope of a rule can test. */
export interface AssetFacts {
    type?: string;
    operator?: string;
    field?: string;
}

/** Returns registry facts of an asset, or undefined for an asset that is not registered. */
export type AssetLookup = (assetId: string) => AssetFacts | undefined;

/** A rule opening or clearing for one asset and metric. */
export interface Transition {
    type: 'open' | 'clear';
    rule: Rule;
    asset_id: string;
    metric: string;
    /** Timestamp of the reading that caused the transition (ISO 8601). */
    ts: string;
    value: number | null;
    unit: string;
    /** Observed value, limits, window and reference readings behind the transition. */
    evidence: Record<string, unknown>;
}

/** Counters of readings the evaluator did not use for state. */
export interface EvaluatorStats {
    /** Readings matched by at least one rule. */
    evaluated: number;
    /** Readings older than the last one seen for the same rule, asset and metric. */
    outOfOrder: number;
    /** Readings with the same timestamp as the last one seen for the same rule, asset and metric. */
    duplicates: number;
    /** Readings whose timestamp could not be parsed. */
    invalidTimestamps: number;
}
