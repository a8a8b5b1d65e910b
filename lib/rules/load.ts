// Loads a rules file: YAML parsed with line numbers, checked against schemas/rules.json and a few
// cross-field checks, then turned into Rule objects. Every problem names the file, the line, the
// rule id and the fix.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { LineCounter, isMap, isScalar, parseDocument, type Document, type Node as YamlNode } from 'yaml';

import { escalationProblems, escalationSteps } from '../alerts/escalation';
import { ConfigError } from '../errors';
import { METRICS } from '../metrics';
import { PROJECT_ROOT, SCHEMAS_DIR } from '../paths';
import type { Severity } from '../types';
import { parseDuration } from './duration';
import { MESSAGE_PLACEHOLDERS, unknownPlaceholders } from './message';
import type { Rule, RuleScope, RuleSet } from './types';

/** One problem of a rules file. */
export interface RuleProblem {
    source: string;
    line?: number;
    ruleId?: string;
    /** Problem and fix, without the location. */
    text: string;
}

/** A rules file that cannot be used; `problems` lists every problem found. */
export class RulesFileError extends ConfigError {
    readonly problems: RuleProblem[];

    constructor(problems: RuleProblem[]) {
        const lines = problems.map(formatProblem);
        const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
        super(lines.join('\n'), {
            badge: `${lines[0]}${more}`,
            context: { source: problems[0]?.source, problems: lines },
        });
        this.problems = problems;
    }
}

/** Formats a problem as `<file> line <n>, rule <id>: <text>`. */
export function formatProblem(problem: RuleProblem): string {
    let where = problem.source;
    if (problem.line !== undefined) where += ` line ${problem.line}`;
    if (problem.ruleId) where += `${problem.line !== undefined ? ',' : ''} rule ${problem.ruleId}`;
    return `${where}: ${problem.text}`;
}

/** Returns the path to show for a rules file: relative to the project root when inside it. */
export function displayPath(path: string): string {
    const inProject = relative(PROJECT_ROOT, path);
    if (inProject && !inProject.startsWith('..') && !isAbsolute(inProject)) return inProject.split(sep).join('/');
    return path;
}

/** Resolves a configured rules file path: relative paths are taken from the project root. */
export function resolveRulesPath(path: string): string {
    return isAbsolute(path) ? path : join(PROJECT_ROOT, path);
}

/** Reads and checks a rules file; throws RulesFileError listing every problem. */
export function loadRulesFile(path: string): RuleSet {
    const source = displayPath(path);
    let text: string;
    try {
        text = readFileSync(path, 'utf8');
    } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : String((err as Error).message);
        throw new RulesFileError([{ source, text: `cannot read the rules file (${reason}); check the path in the node settings.` }]);
    }
    return parseRules(text, source);
}

let validator: ValidateFunction | undefined;
let schemaJson: RulesSchema | undefined;

interface RulesSchema {
    $defs: Record<string, { properties?: Record<string, unknown> }>;
}

function compiledSchema(): { validate: ValidateFunction; schema: RulesSchema } {
    if (!validator || !schemaJson) {
        schemaJson = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'rules.json'), 'utf8')) as RulesSchema;
        const ajv = new Ajv2020({ allErrors: true, verbose: true });
        validator = ajv.compile(schemaJson);
    }
    return { validate: validator, schema: schemaJson };
}

const KIND_DEFS: Record<string, string> = {
    threshold: 'thresholdRule',
    rate_of_change: 'rateOfChangeRule',
    stuck: 'stuckRule',
    missing_data: 'missingDataRule',
    composite: 'compositeRule',
};

/** Fields a rule of a kind may have, from the schema. */
function ruleFields(kind: unknown): string[] {
    const { schema } = compiledSchema();
    const common = Object.keys(schema.$defs.common.properties ?? {});
    const definition = typeof kind === 'string' ? KIND_DEFS[kind] : undefined;
    const own = definition ? Object.keys(schema.$defs[definition].properties ?? {}) : ['kind'];
    return [...common, ...own];
}

/** How to write a field, for messages about a missing or malformed field. */
const FIELD_HINTS: Record<string, string> = {
    version: '1',
    rules: 'a list of rules',
    id: 'lowercase letters, digits and dashes, starting with a letter (at most 64 characters)',
    description: 'a sentence saying what the rule detects',
    severity: 'P1, P2 or P3',
    runbook: 'an http(s) URL or a repository path such as docs/runbooks/x.md, without spaces',
    message: 'a text such as "{asset_id}: {metric} at {value} {unit}"',
    scope: 'a map with at least metrics: [<metric>]',
    metrics: 'a list of metric names such as [pressure_tpt]',
    kind: 'threshold, rate_of_change, stuck, missing_data or composite',
    after: 'a duration like 30s or 5m',
    all: 'a list of rule ids such as [rule-a, rule-b]',
    any: 'a list of rule ids such as [rule-a, rule-b]',
    hold: 'a duration like 30s or 5m',
    window: 'a duration like 30s or 5m',
    max_gap: 'a duration like 30s or 5m',
    clear_hysteresis: 'a number in the metric unit, 0 for none',
    tolerance: 'a number in the metric unit, 0 for exactly constant',
    escalation: 'a step such as { after: 15m, to: P2 }, with an optional then: step, or a list of such steps',
    to: 'P1, P2 or P3',
    then: 'a further step such as { after: 30m, to: P1 }',
};

function quote(value: unknown): string {
    if (typeof value === 'string') return `'${value}'`;
    if (value === null || value === undefined) return 'nothing';
    return JSON.stringify(value);
}

/** Joins a field path for messages: scope.metrics, rules[3]. */
function fieldLabel(path: (string | number)[]): string {
    let label = '';
    for (const part of path) {
        if (typeof part === 'number') label += `[${part}]`;
        else label += label ? `.${part}` : part;
    }
    return label;
}

class Locator {
    constructor(
        private readonly doc: Document,
        private readonly counter: LineCounter,
    ) {}

    /** Line of the node at `path`, or of the nearest ancestor that exists. */
    line(path: (string | number)[]): number | undefined {
        for (let depth = path.length; depth >= 0; depth--) {
            const node = depth === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, depth), true);
            const range = (node as YamlNode | undefined)?.range;
            if (range) return this.counter.linePos(range[0]).line;
        }
        return undefined;
    }

    /** Line of the key `key` of the map at `path`. */
    keyLine(path: (string | number)[], key: string): number | undefined {
        const node = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
        if (isMap(node)) {
            for (const pair of node.items) {
                if (isScalar(pair.key) && pair.key.value === key && pair.key.range) {
                    return this.counter.linePos(pair.key.range[0]).line;
                }
            }
        }
        return this.line(path);
    }
}

function splitPointer(pointer: string): (string | number)[] {
    if (!pointer) return [];
    return pointer
        .slice(1)
        .split('/')
        .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** Turns one schema error into a problem; returns undefined for errors a cross-field check reports better. */
function schemaProblem(error: ErrorObject, data: unknown, source: string, locate: Locator): RuleProblem | undefined {
    const path = splitPointer(error.instancePath);
    const inRule = path[0] === 'rules' && typeof path[1] === 'number';
    const rule = inRule ? ((data as { rules: unknown[] }).rules[path[1] as number] as Record<string, unknown> | undefined) : undefined;
    const ruleId = rule && typeof rule.id === 'string' ? rule.id : undefined;
    const fieldPath = inRule ? path.slice(2) : path;
    const label = fieldLabel(fieldPath) || (inRule ? 'the rule' : 'the file');
    const problem = (text: string, line = locate.line(path)): RuleProblem => ({ source, line, ruleId, text });
    const lastName = [...fieldPath].reverse().find((part): part is string => typeof part === 'string') ?? '';
    const hint = FIELD_HINTS[lastName];

    // The above/below and max_rise/max_drop groups are reported by crossFieldProblems with a fix.
    if (/^#\/(oneOf|anyOf)(\/\d+\/(required|type))?$/.test(error.schemaPath)) return undefined;
    // A failed `if` of a kind is only a summary; the errors of its `then` branch name the field.
    if (error.keyword === 'if') return undefined;

    switch (error.keyword) {
        case 'required': {
            const missing = (error.params as { missingProperty: string }).missingProperty;
            const full = fieldLabel([...fieldPath, missing]);
            const missingHint = FIELD_HINTS[missing];
            return problem(`${full} is missing; add ${missing}${missingHint ? `: ${missingHint}` : ''}.`);
        }
        case 'additionalProperties':
        case 'unevaluatedProperties': {
            const params = error.params as { additionalProperty?: string; unevaluatedProperty?: string };
            const extra = params.additionalProperty ?? params.unevaluatedProperty ?? '';
            let allowed: string[] = [];
            if (inRule && fieldPath.length === 0) allowed = ruleFields(rule?.kind);
            else if (inRule && fieldPath[0] === 'scope') allowed = ['metrics', 'asset_ids', 'asset_types', 'operators', 'fields'];
            else if (inRule && fieldPath[0] === 'escalation') allowed = typeof fieldPath[1] === 'number' ? ['after', 'to'] : ['after', 'to', 'then'];
            else if (path.length === 0) allowed = ['version', 'rules'];
            const kindText = inRule && fieldPath.length === 0 && typeof rule?.kind === 'string' ? `a ${rule.kind} rule` : label;
            const list = allowed.length ? ` (${kindText} takes ${allowed.join(', ')})` : '';
            return problem(`unknown field '${extra}'; remove it or correct its spelling${list}.`, locate.keyLine(path, extra));
        }
        case 'pattern':
            return problem(`${label} must be ${hint ?? `text matching ${(error.params as { pattern: string }).pattern}`}, got ${quote(error.data)}.`);
        case 'enum':
            return problem(`${label} must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}, got ${quote(error.data)}.`);
        case 'const':
            return problem(`${label} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}, got ${quote(error.data)}.`);
        case 'type': {
            const type = String((error.params as { type: string }).type);
            const article = /^[aeiou]/.test(type) ? 'an' : 'a';
            return problem(`${label} must be ${article} ${type}${hint ? ` (${hint})` : ''}, got ${quote(error.data)}.`);
        }
        case 'minimum':
            return problem(`${label} must be at least ${(error.params as { limit: number }).limit}, got ${quote(error.data)}.`);
        case 'exclusiveMinimum':
            return problem(`${label} must be greater than ${(error.params as { limit: number }).limit}, got ${quote(error.data)}.`);
        case 'minItems':
            return problem(`${label} must list at least one value.`);
        case 'minLength':
            return problem(`${label} must not be empty.`);
        case 'uniqueItems':
            return problem(`${label} lists the same value twice; remove the repeat.`);
        default:
            return problem(`${label} ${error.message ?? 'is invalid'}.`);
    }
}

/** Returns the metric of the catalogue closest in spelling to `name`, if any is close. */
function closestMetric(name: string): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const metric of METRICS.keys()) {
        const distance = editDistance(name, metric);
        if (distance < bestDistance) {
            best = metric;
            bestDistance = distance;
        }
    }
    return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/** Checks that the schema cannot express, or expresses without a useful message. */
function crossFieldProblems(rules: unknown[], source: string, locate: Locator): RuleProblem[] {
    const problems: RuleProblem[] = [];
    const firstLineOfId = new Map<string, number | undefined>();

    rules.forEach((item, index) => {
        if (typeof item !== 'object' || item === null) return;
        const rule = item as Record<string, unknown>;
        const ruleId = typeof rule.id === 'string' ? rule.id : undefined;
        const at = (field?: string, entry?: number): number | undefined => {
            const path: (string | number)[] = ['rules', index];
            if (field) path.push(...field.split('.'));
            if (entry !== undefined) path.push(entry);
            return locate.line(path);
        };
        const add = (text: string, line: number | undefined): void => {
            problems.push({ source, line, ruleId, text });
        };

        if (ruleId !== undefined) {
            if (firstLineOfId.has(ruleId)) {
                add(`the id is already used by the rule on line ${firstLineOfId.get(ruleId)}; give each rule its own id.`, at('id'));
            } else {
                firstLineOfId.set(ruleId, at('id'));
            }
        }

        if (rule.kind === 'threshold') {
            const hasAbove = rule.above !== undefined;
            const hasBelow = rule.below !== undefined;
            if (hasAbove === hasBelow) {
                const text = hasAbove
                    ? 'a threshold rule takes either above or below, not both; write a second rule for the other side.'
                    : 'a threshold rule needs above: <limit> or below: <limit>.';
                add(text, at());
            }
        }
        if (rule.kind === 'rate_of_change' && rule.max_rise === undefined && rule.max_drop === undefined) {
            add('a rate_of_change rule needs max_rise: <change>, max_drop: <change> or both.', at());
        }
        if ((rule.kind === 'rate_of_change' || rule.kind === 'stuck') && typeof rule.window === 'string') {
            if (parseDuration(rule.window) === 0) add(`window must be longer than 0, got '${rule.window}'.`, at('window'));
        }
        if (rule.kind === 'missing_data' && typeof rule.after === 'string' && parseDuration(rule.after) === 0) {
            add(`after must be longer than 0, got '${rule.after}'.`, at('after'));
        }
        if (rule.kind === 'composite') {
            if (rule.scope !== undefined) {
                add('a composite rule takes no scope; it applies to each asset its rules watch. Remove scope.', locate.keyLine(['rules', index], 'scope'));
            }
            const hasAll = rule.all !== undefined;
            const hasAny = rule.any !== undefined;
            if (hasAll === hasAny) {
                add(hasAll ? 'a composite rule takes either all or any, not both; write a second rule for the other.' : 'a composite rule needs all: [<rule id>, ...] or any: [<rule id>, ...].', at());
            }
            const field = hasAll ? 'all' : 'any';
            const ids = rule[field];
            if (Array.isArray(ids)) {
                ids.forEach((id, entry) => {
                    if (typeof id !== 'string') return;
                    const target = rules.find((other) => typeof other === 'object' && other !== null && (other as Record<string, unknown>).id === id) as Record<string, unknown> | undefined;
                    if (id === ruleId) add(`${field} lists the rule itself; list other rules of this file.`, at(field, entry));
                    else if (!target) add(`${field} lists '${id}', which is not a rule of this file; use the id of a rule defined here.`, at(field, entry));
                    else if (target.kind === 'composite') add(`${field} lists '${id}', which is a composite rule; list its rules directly instead.`, at(field, entry));
                });
            }
        }

        if (typeof rule.message === 'string') {
            for (const name of unknownPlaceholders(rule.message)) {
                add(`message uses {${name}}, which is not a placeholder; use one of ${MESSAGE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}.`, at('message'));
            }
        }

        if (rule.escalation !== undefined) {
            for (const problem of escalationProblems(rule.escalation, rule.severity as Severity)) add(problem.text, locate.line(['rules', index, ...problem.path]));
        }

        const metrics = (rule.scope as { metrics?: unknown } | undefined)?.metrics;
        if (Array.isArray(metrics)) {
            metrics.forEach((metric, entry) => {
                if (typeof metric !== 'string' || METRICS.has(metric)) return;
                const closest = closestMetric(metric);
                const fix = closest ? `did you mean '${closest}'?` : 'use a metric from the metric catalogue (lib/metrics.ts).';
                add(`scope.metrics lists '${metric}', which is not a known metric; ${fix}`, at('scope.metrics', entry));
            });
        }
    });
    return problems;
}

function toRule(raw: Record<string, unknown>, line: number | undefined): Rule {
    const scope = (raw.scope as RuleScope | undefined) ?? { metrics: [] };
    const base = {
        id: raw.id as string,
        description: raw.description as string,
        severity: raw.severity as Severity,
        runbook: raw.runbook as string,
        message: raw.message as string,
        scope: {
            metrics: [...scope.metrics],
            ...(scope.asset_ids ? { asset_ids: [...scope.asset_ids] } : {}),
            ...(scope.asset_types ? { asset_types: [...scope.asset_types] } : {}),
            ...(scope.operators ? { operators: [...scope.operators] } : {}),
            ...(scope.fields ? { fields: [...scope.fields] } : {}),
        },
        ...(raw.escalation !== undefined ? { escalation: escalationSteps(raw.escalation) } : {}),
        line,
    };
    const maxGapMs = typeof raw.max_gap === 'string' ? parseDuration(raw.max_gap) : undefined;

    switch (raw.kind) {
        case 'threshold':
            return {
                ...base,
                kind: 'threshold',
                direction: raw.above !== undefined ? 'above' : 'below',
                limit: (raw.above ?? raw.below) as number,
                holdMs: parseDuration(raw.hold as string) ?? 0,
                clearHysteresis: raw.clear_hysteresis as number,
                ...(maxGapMs !== undefined ? { maxGapMs } : {}),
            };
        case 'rate_of_change':
            return {
                ...base,
                kind: 'rate_of_change',
                windowMs: parseDuration(raw.window as string) ?? 0,
                ...(raw.max_rise !== undefined ? { maxRise: raw.max_rise as number } : {}),
                ...(raw.max_drop !== undefined ? { maxDrop: raw.max_drop as number } : {}),
                percent: raw.percent === true,
                holdMs: typeof raw.hold === 'string' ? (parseDuration(raw.hold) ?? 0) : 0,
                clearHysteresis: typeof raw.clear_hysteresis === 'number' ? raw.clear_hysteresis : 0,
                ...(maxGapMs !== undefined ? { maxGapMs } : {}),
            };
        case 'missing_data':
            return { ...base, kind: 'missing_data', afterMs: parseDuration(raw.after as string) ?? 0 };
        case 'composite':
            return {
                ...base,
                kind: 'composite',
                mode: raw.all !== undefined ? 'all' : 'any',
                ruleIds: [...((raw.all ?? raw.any) as string[])],
            };
        default:
            return {
                ...base,
                kind: 'stuck',
                windowMs: parseDuration(raw.window as string) ?? 0,
                tolerance: raw.tolerance as number,
            };
    }
}

/** Parses and checks the text of a rules file; `source` names the file in messages. */
export function parseRules(text: string, source: string): RuleSet {
    const counter = new LineCounter();
    const doc = parseDocument(text, { lineCounter: counter });

    if (doc.errors.length > 0) {
        throw new RulesFileError(
            doc.errors.map((error) => ({
                source,
                line: error.linePos?.[0].line,
                text: `invalid YAML: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}; correct the YAML on that line.`,
            })),
        );
    }
    const data: unknown = doc.toJS();
    if (data === null || data === undefined) {
        throw new RulesFileError([{ source, text: 'the file is empty; it needs version: 1 and a rules list.' }]);
    }

    const locate = new Locator(doc, counter);
    const { validate } = compiledSchema();
    const problems: RuleProblem[] = [];
    if (!validate(data)) {
        for (const error of validate.errors ?? []) {
            const problem = schemaProblem(error, data, source, locate);
            if (problem) problems.push(problem);
        }
    }
    const rules = (data as { rules?: unknown }).rules;
    if (Array.isArray(rules)) problems.push(...crossFieldProblems(rules, source, locate));
    if (problems.length > 0) {
        problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
        throw new RulesFileError(problems);
    }

    const checked = rules as Record<string, unknown>[];
    return {
        version: 1,
        rules: checked.map((raw, index) => toRule(raw, locate.line(['rules', index]))),
        source,
        hash: createHash('sha256').update(text).digest('hex'),
    };
}
