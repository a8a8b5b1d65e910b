// Configuration of the compression filter: the maximum error per metric, the deadband and the
// heartbeat, as the ul-compress node and the benchmark give them.
import { ConfigError, ValidationError } from '../errors';
import { METRICS, canonicalUnit } from '../metrics';
import { resolveConversion } from '../units';
import type { BoundResolver, CompressorOptions, SeriesBound } from './compressor';

/** Maximum error of one metric, in the metric's canonical unit (psi, degC, bopd, ...). */
export type MaxErrorRule = { absolute: number } | { percent: number; span?: number };

export interface CompressionSettings {
    /** Rules by metric id; metrics without a rule use `defaultPercent` of their catalogue span. */
    rules: Map<string, MaxErrorRule>;
    /** Maximum error of other metrics, in percent of the span of their plausible range in the catalogue. */
    defaultPercent: number;
    /** Deadband as a fraction of the maximum error, from 0 to below 0.5. */
    deadbandFraction: number;
    /** Maximum time between archived readings of a series, in milliseconds; 0 is off. */
    heartbeatMs: number;
}

export interface RawCompressionConfig {
    /**
     * JSON object (text or parsed) from metric id to its maximum error: a number (absolute, in the
     * canonical unit), a text such as "0.5%" (percent of the catalogue span), or an object
     * { "absolute": 2 } or { "percent": 0.5, "span": 3000 } with the span in the canonical unit.
     */
    maxErrors?: unknown;
    /** Percent of the catalogue span for metrics without a rule. Default 0.5. */
    defaultPercent?: unknown;
    /** Deadband in percent of each metric's maximum error, from 0 to below 50. Default 0. */
    deadband?: unknown;
    /** Heartbeat in seconds; 0 is off. Default 60. */
    heartbeat?: unknown;
}

export const DEFAULT_PERCENT = 0.5;
export const DEFAULT_HEARTBEAT_S = 60;

/** Reads a number from a number or numeric text; undefined for empty input. */
function readNumber(value: unknown, name: string, unit: string): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    let number = Number.NaN;
    if (typeof value === 'number') number = value;
    else if (typeof value === 'string') number = Number(value.trim());
    if (!Number.isFinite(number)) throw new ConfigError(`The ${name} ${JSON.stringify(value)} is not a number; enter it in ${unit}.`);
    return number;
}

function positive(value: number, where: string): number {
    if (!(value > 0)) throw new ConfigError(`${where} is ${value}; use a number above 0.`);
    return value;
}

/** Reads one entry of the maximum error map. */
export function parseMaxErrorRule(metric: string, value: unknown): MaxErrorRule {
    const where = `The maximum error of ${metric}`;
    if (typeof value === 'number') return { absolute: positive(value, where) };
    if (typeof value === 'string') {
        const match = /^\s*([0-9.eE+-]+)\s*%\s*$/.exec(value);
        if (!match || !Number.isFinite(Number(match[1]))) {
            throw new ConfigError(`${where} is "${value}"; write a number in the canonical unit or a percent such as "0.5%".`);
        }
        return { percent: positive(Number(match[1]), where) };
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record).sort().join(',');
        if (keys === 'absolute' && typeof record.absolute === 'number') return { absolute: positive(record.absolute, where) };
        if ((keys === 'percent' || keys === 'percent,span') && typeof record.percent === 'number') {
            const rule: MaxErrorRule = { percent: positive(record.percent, where) };
            if (record.span !== undefined) {
                if (typeof record.span !== 'number') throw new ConfigError(`The span of ${metric} is ${JSON.stringify(record.span)}; use a number in the canonical unit.`);
                rule.span = positive(record.span, `The span of ${metric}`);
            }
            return rule;
        }
    }
    throw new ConfigError(
        `${where} is ${JSON.stringify(value)}; use a number, a percent such as "0.5%", { "absolute": 2 } or { "percent": 0.5, "span": 3000 }.`,
    );
}

function parseRules(maxErrors: unknown): Map<string, MaxErrorRule> {
    const rules = new Map<string, MaxErrorRule>();
    if (maxErrors === undefined || maxErrors === null || maxErrors === '') return rules;
    let map = maxErrors;
    if (typeof maxErrors === 'string') {
        try {
            map = JSON.parse(maxErrors);
        } catch (err) {
            throw new ConfigError(`The maximum error map is not valid JSON (${(err as Error).message}); write it as { "metric": error }.`, { cause: err });
        }
    }
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
        throw new ConfigError('The maximum error map is not a JSON object; write it as { "pressure_tpt": 5, "temp_tpt": "0.5%" }.');
    }
    for (const [metric, value] of Object.entries(map as Record<string, unknown>)) {
        if (!METRICS.has(metric)) {
            throw new ConfigError(`The maximum error map names the unknown metric "${metric}"; use a metric id from the catalogue, such as pressure_tpt.`);
        }
        rules.set(metric, parseMaxErrorRule(metric, value));
    }
    return rules;
}

/** Checks the node configuration and returns the settings; throws a ConfigError naming the field. */
export function parseCompressionConfig(raw: RawCompressionConfig): CompressionSettings {
    const defaultPercent = readNumber(raw.defaultPercent, 'default maximum error', 'percent of span') ?? DEFAULT_PERCENT;
    positive(defaultPercent, 'The default maximum error');
    const deadbandPercent = readNumber(raw.deadband, 'deadband', 'percent of the maximum error') ?? 0;
    if (deadbandPercent < 0 || deadbandPercent >= 50) {
        throw new ConfigError(`The deadband is ${deadbandPercent} % of the maximum error; use 0 (off) up to below 50.`);
    }
    const heartbeat = readNumber(raw.heartbeat, 'heartbeat', 'seconds') ?? DEFAULT_HEARTBEAT_S;
    if (heartbeat < 0) throw new ConfigError(`The heartbeat is ${heartbeat} s; use 0 (off) or a positive number of seconds.`);
    return { rules: parseRules(raw.maxErrors), defaultPercent, deadbandFraction: deadbandPercent / 100, heartbeatMs: heartbeat * 1000 };
}

/** Returns how many canonical units one unit of `unit` is, for converting an error (a difference). */
function canonicalPerUnit(metric: string, unit: string): number {
    const conversion = resolveConversion(metric, unit);
    return conversion.convert(1) - conversion.convert(0);
}

/** Returns the maximum error of a metric in its canonical unit. */
export function canonicalMaxError(settings: CompressionSettings, metric: string): SeriesBound {
    const rule = settings.rules.get(metric) ?? { percent: settings.defaultPercent };
    if ('absolute' in rule) return { maxError: rule.absolute, source: 'absolute' };
    let span = rule.span;
    if (span === undefined) {
        const plausible = METRICS.get(metric)?.plausible;
        if (!plausible) {
            throw new ValidationError('no_span', `Metric ${metric} has no span in the catalogue; give it a maximum error in the compression settings.`, {
                field: 'metric',
                value: metric,
            });
        }
        span = plausible[1] - plausible[0];
    }
    return { maxError: (rule.percent / 100) * span, source: 'percent-of-span' };
}

/** Returns a resolver of maximum errors in the unit of each series' readings. */
export function createBoundResolver(settings: CompressionSettings): BoundResolver {
    return (metric, unit) => {
        if (canonicalUnit(metric) === undefined) {
            throw new ValidationError('unknown_metric', `Metric ${metric} is not in the metric catalogue, so its maximum error is unknown.`, {
                field: 'metric',
                value: metric,
            });
        }
        const bound = canonicalMaxError(settings, metric);
        return { ...bound, maxError: bound.maxError / canonicalPerUnit(metric, unit) };
    };
}

/** Returns the compressor options for the settings. */
export function compressorOptions(settings: CompressionSettings): CompressorOptions {
    return { resolveBound: createBoundResolver(settings), deadbandFraction: settings.deadbandFraction, heartbeatMs: settings.heartbeatMs };
}
