// Silences: maintenance windows that hold back the notifications of matching alerts. A silence
// matches by asset, by site (the asset's field or operator in the asset registry) or by rule.
// A silence may have several of these matchers, and then every one must match.
import { ValidationError } from '../errors';
import { parseDuration } from '../rules/duration';
import type { Silence, SilenceMatchers } from '../store/alert-lifecycle';

/** Registry facts of an asset that silences and notification groups read. */
export interface SiteFacts {
    field: string;
    operator: string;
}

/** Returns the registry facts of an asset, or undefined for an asset outside the registry. */
export type SiteLookup = (assetId: string) => SiteFacts | undefined;

export const MATCHER_FIELDS = ['asset_id', 'field', 'operator', 'rule_id'] as const;

/**
 * Returns true when every matcher of the silence matches the alert. Field and operator matchers
 * never match an asset outside the registry.
 */
export function silenceMatches(silence: SilenceMatchers, alert: { rule_id: string; asset_id: string }, site: SiteFacts | undefined): boolean {
    if (silence.asset_id && silence.asset_id !== alert.asset_id) return false;
    if (silence.rule_id && silence.rule_id !== alert.rule_id) return false;
    if (silence.field && silence.field !== site?.field) return false;
    if (silence.operator && silence.operator !== site?.operator) return false;
    return MATCHER_FIELDS.some((name) => Boolean(silence[name]));
}

/** Returns true while the silence is in force: from starts_at up to, not including, ends_at. */
export function silenceActive(silence: Pick<Silence, 'starts_at' | 'ends_at'>, nowMs: number): boolean {
    return Date.parse(silence.starts_at) <= nowMs && nowMs < Date.parse(silence.ends_at);
}

/** Returns the silence in force at `nowMs` that matches the alert; when several do, the one that ends last. */
export function findSilence(silences: readonly Silence[], alert: { rule_id: string; asset_id: string }, site: SiteFacts | undefined, nowMs: number): Silence | undefined {
    let found: Silence | undefined;
    for (const silence of silences) {
        if (!silenceActive(silence, nowMs) || !silenceMatches(silence, alert, site)) continue;
        if (!found || Date.parse(silence.ends_at) > Date.parse(found.ends_at)) found = silence;
    }
    return found;
}

/** Describes what a silence matches, for example `field VOLVE, rule stuck-transmitter`. */
export function describeMatchers(silence: SilenceMatchers): string {
    const labels: Record<(typeof MATCHER_FIELDS)[number], string> = { asset_id: 'asset', field: 'field', operator: 'operator', rule_id: 'rule' };
    return MATCHER_FIELDS.filter((name) => silence[name])
        .map((name) => `${labels[name]} ${silence[name]}`)
        .join(', ');
}

/** A silence as requested through the API, checked and with its times resolved. */
export interface SilenceRequest {
    asset_id?: string;
    field?: string;
    operator?: string;
    rule_id?: string;
    starts_at: string;
    ends_at: string;
    reason: string;
}

const DAY_MS = 86_400_000;
/** Maximum duration of a silence: a year, so a typo such as 100000d cannot mute alerts for good. */
const MAX_SILENCE_MS = 366 * DAY_MS;

const REQUEST_FIELDS = [...MATCHER_FIELDS, 'starts_at', 'ends_at', 'duration', 'reason'];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_MATCHER_LENGTH = 200;
export const MAX_REASON_LENGTH = 1_000;

function invalid(field: string, value: unknown, message: string): ValidationError {
    return new ValidationError('invalid_silence', message, { field, value });
}

function timeField(body: Record<string, unknown>, field: string): number | undefined {
    const value = body[field];
    if (value === undefined) return undefined;
    const ms = typeof value === 'string' && ISO_TIME.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(ms)) {
        throw invalid(field, value, `${field} ${JSON.stringify(value)} is not an ISO 8601 time with a time zone; use a form like 2026-05-04T06:00:00Z.`);
    }
    return ms;
}

/**
 * Checks the JSON body of a silence request and resolves its times. The silence starts at
 * `starts_at` (default now) and ends at `ends_at`, or `duration` (such as 2h) after its start;
 * exactly one of the two is required. Throws a ValidationError that names the field and the fix.
 */
export function parseSilenceRequest(body: unknown, nowMs: number): SilenceRequest {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw invalid('', body, 'The body is not a JSON object; send for example {"field": "VOLVE", "duration": "4h", "reason": "Turnaround"}.');
    }
    const input = body as Record<string, unknown>;
    for (const key of Object.keys(input)) {
        if (!REQUEST_FIELDS.includes(key)) {
            throw invalid(key, input[key], `Unknown field "${key}"; a silence takes ${REQUEST_FIELDS.join(', ')}.`);
        }
    }

    const request: Partial<SilenceRequest> = {};
    for (const name of MATCHER_FIELDS) {
        const value = input[name];
        if (value === undefined || value === null) continue;
        if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_MATCHER_LENGTH) {
            throw invalid(name, value, `${name} must be non-empty text of at most ${MAX_MATCHER_LENGTH} characters, got ${JSON.stringify(value)}.`);
        }
        request[name] = value.trim();
    }
    if (!MATCHER_FIELDS.some((name) => request[name] !== undefined)) {
        throw invalid('', body, `A silence needs at least one of ${MATCHER_FIELDS.join(', ')}, so that it does not silence every alert.`);
    }

    const reason = input.reason;
    if (typeof reason !== 'string' || reason.trim() === '') {
        throw invalid('reason', reason, 'reason is missing; say why the alerts are silenced, for example "Turnaround of the process train".');
    }
    if (reason.length > MAX_REASON_LENGTH) {
        throw invalid('reason', `${reason.slice(0, 40)}...`, `reason has ${reason.length} characters; shorten it to at most ${MAX_REASON_LENGTH}.`);
    }

    const startsMs = timeField(input, 'starts_at') ?? nowMs;
    const endsMs = timeField(input, 'ends_at');
    const duration = input.duration;
    if ((endsMs === undefined) === (duration === undefined)) {
        throw invalid('ends_at', input.ends_at, 'Give either ends_at (an ISO 8601 time) or duration (such as 4h), not both and not neither.');
    }
    let end = endsMs;
    if (duration !== undefined) {
        const ms = typeof duration === 'string' ? parseDuration(duration) : undefined;
        if (!ms) throw invalid('duration', duration, `duration ${JSON.stringify(duration)} is not a duration longer than 0; use a number and a unit such as 90m, 4h or 2d.`);
        end = startsMs + ms;
    }
    const endMs = end as number;
    if (endMs <= nowMs) {
        throw invalid('ends_at', input.ends_at, `ends_at ${new Date(endMs).toISOString()} has already passed; give a time in the future.`);
    }
    if (endMs <= startsMs) {
        throw invalid('ends_at', input.ends_at, `ends_at ${new Date(endMs).toISOString()} is not after starts_at ${new Date(startsMs).toISOString()}; the silence must end after it starts.`);
    }
    if (endMs - startsMs > MAX_SILENCE_MS) {
        const field = duration !== undefined ? 'duration' : 'ends_at';
        throw invalid(field, duration ?? input.ends_at, `The silence would last ${Math.ceil((endMs - startsMs) / DAY_MS)} days, more than the limit of ${MAX_SILENCE_MS / DAY_MS}; silence for at most a year and create a new silence when it ends.`);
    }
    return { ...request, starts_at: new Date(startsMs).toISOString(), ends_at: new Date(endMs).toISOString(), reason: reason.trim() };
}

/**
 * Returns true when the silence could match alerts of the asset: its asset, field and operator
 * matchers all match, whatever its rule matcher. The API shows an operator the silences that
 * cover one of its assets.
 */
export function silenceCoversAsset(silence: SilenceMatchers, asset: { asset_id: string; field: string; operator: string }): boolean {
    if (silence.asset_id && silence.asset_id !== asset.asset_id) return false;
    if (silence.field && silence.field !== asset.field) return false;
    if (silence.operator && silence.operator !== asset.operator) return false;
    return true;
}
