// Escalation policies: steps that raise the severity of an alert that stays open and
// unacknowledged. A rule's `escalation` field or the alert router's default sets the policy.
// Step times count from the alert's first notification, because an alert cannot be acknowledged
// before anyone is told of it. Each step's `after` counts from the step before.
import { ConfigError } from '../errors';
import { formatDuration, parseDuration } from '../rules/duration';
import type { EscalationStep } from '../rules/types';
import type { Severity } from '../types';

export type EscalationPolicy = readonly EscalationStep[];

/** Maximum steps of one policy; three severities leave at most two steps that raise anything. */
export const MAX_ESCALATION_STEPS = 10;

const RANK: Record<Severity, number> = { P3: 0, P2: 1, P1: 2 };
const SEVERITIES: readonly Severity[] = ['P1', 'P2', 'P3'];

/** Returns true when `a` is more severe than `b` (P1 is the most severe). */
export function moreSevere(a: Severity, b: Severity): boolean {
    return RANK[a] > RANK[b];
}

/** Returns the more severe of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
    return moreSevere(b, a) ? b : a;
}

/** A problem of a rule's `escalation` field; `path` locates the value inside the rule. */
export interface EscalationProblem {
    path: (string | number)[];
    text: string;
}

interface RawStep {
    path: (string | number)[];
    step: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lists the steps of a YAML `escalation` value: a list of steps, or a step chained through `then`. */
function rawSteps(raw: unknown): RawStep[] {
    if (Array.isArray(raw)) {
        return raw.flatMap((step, index) => (isRecord(step) ? [{ path: ['escalation', index], step }] : []));
    }
    const steps: RawStep[] = [];
    let path: (string | number)[] = ['escalation'];
    let current: unknown = raw;
    // The bound also ends a chain that a YAML alias made circular.
    while (isRecord(current) && steps.length <= MAX_ESCALATION_STEPS) {
        steps.push({ path, step: current });
        current = current.then;
        path = [...path, 'then'];
    }
    return steps;
}

/** Joins a path for messages: escalation.then.to, escalation[1].after. */
function label(path: (string | number)[]): string {
    let text = '';
    for (const part of path) {
        if (typeof part === 'number') text += `[${part}]`;
        else text += text === '' ? part : `.${part}`;
    }
    return text;
}

/**
 * Converts a schema-valid `escalation` value of a rules file into steps. Values the schema or
 * escalationProblems reject never reach this function.
 */
export function escalationSteps(raw: unknown): EscalationStep[] {
    return rawSteps(raw).map(({ step }) => ({ afterMs: parseDuration(String(step.after)) ?? 0, to: step.to as Severity }));
}

/**
 * Checks what the schema cannot: each `after` is longer than 0, each step raises the severity
 * above the one before (the rule's own severity for the first), and a chain has at most
 * MAX_ESCALATION_STEPS steps. Values of the wrong type are left to the schema.
 */
export function escalationProblems(raw: unknown, severity: Severity): EscalationProblem[] {
    const problems: EscalationProblem[] = [];
    const steps = rawSteps(raw);
    if (!Array.isArray(raw) && steps.length > MAX_ESCALATION_STEPS) {
        problems.push({ path: ['escalation'], text: `escalation chains more than ${MAX_ESCALATION_STEPS} steps through then; shorten the chain.` });
    }
    let level: Severity | undefined = SEVERITIES.includes(severity) ? severity : undefined;
    for (const { path, step } of steps.slice(0, MAX_ESCALATION_STEPS)) {
        if (typeof step.after === 'string' && parseDuration(step.after) === 0) {
            problems.push({ path: [...path, 'after'], text: `${label([...path, 'after'])} must be longer than 0, got '${step.after}'.` });
        }
        const to = step.to as Severity;
        if (!SEVERITIES.includes(to)) continue;
        if (level !== undefined && !moreSevere(to, level)) {
            problems.push({
                path: [...path, 'to'],
                text: `${label([...path, 'to'])} is ${to}, but the alert is already ${level} before this step; each step must raise the severity (P3, then P2, then P1).`,
            });
        }
        level = level === undefined ? to : maxSeverity(level, to);
    }
    return problems;
}

/**
 * Parses the alert router's default policy, written as steps `<duration> <severity>` separated by
 * commas, such as `15m P2, 30m P1`. Returns no steps for empty text. `name` names the setting in
 * errors.
 */
export function parseEscalationText(text: string, name: string): EscalationStep[] {
    const trimmed = text.trim();
    if (trimmed === '') return [];
    const items = trimmed.split(',').map((item) => item.trim());
    if (items.length > MAX_ESCALATION_STEPS) {
        throw new ConfigError(`${name} has ${items.length} steps; enter at most ${MAX_ESCALATION_STEPS}, such as '15m P2, 30m P1'.`);
    }
    const steps: EscalationStep[] = [];
    for (const item of items) {
        const match = /^(\S+)\s+(P[123])$/.exec(item);
        const afterMs = match ? parseDuration(match[1]) : undefined;
        if (!match || afterMs === undefined) {
            throw new ConfigError(`${name} step '${item}' is not a duration and a severity; enter steps such as '15m P2, 30m P1'.`);
        }
        if (afterMs === 0) {
            throw new ConfigError(`${name} step '${item}' waits 0; enter a duration longer than 0, such as 15m.`);
        }
        const to = match[2] as Severity;
        const previous = steps[steps.length - 1];
        if (previous && !moreSevere(to, previous.to)) {
            throw new ConfigError(`${name} step '${item}' does not raise the severity above ${previous.to}; list the steps from P3 towards P1, such as '15m P2, 30m P1'.`);
        }
        steps.push({ afterMs, to });
    }
    return steps;
}

/** Formats a policy for logs and help text, for example `15m P2, 30m P1`. */
export function formatPolicy(policy: EscalationPolicy): string {
    return policy.map((step) => `${formatDuration(step.afterMs)} ${step.to}`).join(', ');
}

/** Returns the time of each step after the first notification, in milliseconds. */
export function stepOffsets(policy: EscalationPolicy): number[] {
    let total = 0;
    return policy.map((step) => (total += step.afterMs));
}

/** The escalation to apply: the number of steps applied after it, and the new severity. */
export interface DueEscalation {
    step: number;
    severity: Severity;
}

/**
 * Returns the escalation due at `nowMs` for an alert first notified at `sinceMs`, with `applied`
 * steps already applied and severity `current`. When several steps are due (after a restart),
 * the alert goes straight to the most severe of them. Steps that would not raise the severity
 * are passed over. Returns undefined when no step raising the severity is due.
 */
export function dueEscalation(policy: EscalationPolicy, applied: number, current: Severity, sinceMs: number, nowMs: number): DueEscalation | undefined {
    const offsets = stepOffsets(policy);
    let last = -1;
    let target = current;
    for (let index = applied; index < policy.length && sinceMs + offsets[index] <= nowMs; index++) {
        last = index;
        target = maxSeverity(target, policy[index].to);
    }
    if (last < 0 || target === current) return undefined;
    return { step: last + 1, severity: target };
}

/** Returns when the next step that raises the severity above `current` is due, or undefined. */
export function nextEscalationAt(policy: EscalationPolicy, applied: number, current: Severity, sinceMs: number): number | undefined {
    const offsets = stepOffsets(policy);
    for (let index = applied; index < policy.length; index++) {
        if (moreSevere(policy[index].to, current)) return sinceMs + offsets[index];
    }
    return undefined;
}

/** Returns the escalation policies of the rules that have one, by rule id. */
export function rulePolicies(rules: readonly { id: string; escalation?: EscalationStep[] }[]): Map<string, EscalationPolicy> {
    return new Map(rules.flatMap((rule) => (rule.escalation && rule.escalation.length > 0 ? [[rule.id, rule.escalation] as const] : [])));
}
