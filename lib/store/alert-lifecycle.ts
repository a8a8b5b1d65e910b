// Lifecycle of stored alerts: repeat counts, escalation steps, silences and the bookkeeping of
// notifications. The alert router derives its timers from these columns, so escalations,
// reminders, group windows and silence ends survive a restart.
import type { AlertEvent, Severity } from '../types';
import type { Queryable } from './db';
import { insertEvent } from './records';
import { Conditions, isoTime, isoTimeOrNull, resolveLimit, storableText, timeParam } from './sql-values';

/** Lifecycle columns of a stored alert. Times are wall-clock times of the alert router. */
export interface AlertLifecycle {
    /** Opens of the same rule, asset and metric while this alert was unresolved, after its own. */
    repeat_count: number;
    last_repeated_at: string | null;
    /** Severity the alert opened with; `severity` is higher after an escalation. */
    opened_severity: Severity;
    /** Steps of the escalation policy applied so far. */
    escalation_step: number;
    escalated_at: string | null;
    /** Notification group: `field:<field>` of the asset, or `asset:<asset_id>` for an asset outside the registry. */
    group_key: string | null;
    /** True while a silence holds back the alert's notifications. */
    silenced: boolean;
    silence_id: string | null;
    /** Time since which a notification of the alert is waiting to be sent; null when none is. */
    notify_pending_since: string | null;
    first_notified_at: string | null;
    last_notified_at: string | null;
    /** Severity and state that the last notification announced. */
    notified_severity: Severity | null;
    notified_state: AlertEvent['state'] | null;
}

export interface StoredAlert extends AlertEvent, AlertLifecycle {}

export interface OpenAlertOptions {
    /** Time of storing, from the router's clock (ISO 8601). */
    at: string;
    group_key: string;
    /** Silence that holds back the alert's notifications; null or absent for none. */
    silence_id?: string | null;
}

/**
 * Outcome of storing an alert. `inserted` is a new alert, whose notification now waits unless it
 * is silenced or acknowledged. `repeated` means an unresolved alert of the same rule, asset and
 * metric exists and its repeat count went up. `duplicate` means this event_id was stored before.
 * `alert` is the stored alert that the event ended up in.
 */
export interface OpenAlertResult {
    outcome: 'inserted' | 'repeated' | 'duplicate';
    alert: StoredAlert;
}

export interface StoredAlertsQuery {
    event_ids?: string[];
    /**
     * Only alerts that the router still has work for: unresolved alerts, alerts with a waiting
     * notification, and resolved alerts whose resolution is not yet announced.
     */
    active?: boolean;
    /** Only alerts of this rule, asset and metric. */
    condition?: { rule_id: string; asset_id: string; metric: string };
    unresolved?: boolean;
    silence_id?: string;
    limit?: number;
}

/** One escalation: a compare-and-set from the stored step and severity to new ones. */
export interface EscalationChange {
    from_step: number;
    from_severity: Severity;
    to_step: number;
    to_severity: Severity;
    at: string;
}

/** Matchers of a silence; every matcher given must match. */
export interface SilenceMatchers {
    asset_id?: string | null;
    /** The asset's field, as in the asset registry. */
    field?: string | null;
    /** The asset's operator, as in the asset registry. */
    operator?: string | null;
    rule_id?: string | null;
}

export interface SilenceInput extends SilenceMatchers {
    starts_at: string;
    ends_at: string;
    reason: string;
    created_by: string;
}

export interface Silence {
    silence_id: string;
    asset_id: string | null;
    field: string | null;
    operator: string | null;
    rule_id: string | null;
    starts_at: string;
    /** End of the silence; expiring a silence early moves it to the time of expiry. */
    ends_at: string;
    reason: string;
    created_by: string;
    created_at: string;
    expired_at: string | null;
    expired_by: string | null;
}

export interface SilencesQuery {
    /** Only silences in force at this time: starts_at <= time < ends_at. */
    active_at?: string;
    /** Only silences that end after this time, so in force now or later. */
    ends_after?: string;
    silence_ids?: string[];
    limit?: number;
}

export const SILENCE_LIST_LIMIT = { default: 1_000, max: 10_000 };

const ALERT_COLUMNS = `event_id, rule_id, asset_id, metric, severity, state, message, runbook, opened_at,
    acknowledged_at, acknowledged_by, resolved_at, resolved_by, evidence, repeat_count, last_repeated_at,
    opened_severity, escalation_step, escalated_at, group_key, silenced, silence_id, notify_pending_since,
    first_notified_at, last_notified_at, notified_severity, notified_state`;

/** Alerts the router still has work for; the partial index events_lifecycle_idx has the same predicate. */
const ACTIVE = `(state <> 'resolved' OR notify_pending_since IS NOT NULL
    OR (first_notified_at IS NOT NULL AND notified_state IS DISTINCT FROM 'resolved' AND NOT silenced))`;

const SILENCE_COLUMNS = `silence_id, asset_id, field, operator, rule_id, starts_at, ends_at, reason, created_by,
    created_at, expired_at, expired_by`;

/** Class id of the two-key advisory lock that serialises opens of one rule, asset and metric. */
const CONDITION_LOCK_CLASS = 751_726_074;

function textOrNull(value: unknown): string | null {
    return value === null || value === undefined ? null : String(value);
}

export function toStoredAlert(row: Record<string, unknown>): StoredAlert {
    const alert: StoredAlert = {
        event_id: String(row.event_id),
        rule_id: String(row.rule_id),
        asset_id: String(row.asset_id),
        metric: String(row.metric),
        severity: row.severity as Severity,
        state: row.state as AlertEvent['state'],
        message: String(row.message),
        opened_at: isoTime(row.opened_at),
        acknowledged_at: isoTimeOrNull(row.acknowledged_at),
        acknowledged_by: textOrNull(row.acknowledged_by),
        resolved_at: isoTimeOrNull(row.resolved_at),
        resolved_by: textOrNull(row.resolved_by),
        evidence: (row.evidence as Record<string, unknown> | null) ?? {},
        repeat_count: Number(row.repeat_count ?? 0),
        last_repeated_at: isoTimeOrNull(row.last_repeated_at),
        // Alerts stored before the lifecycle columns existed have no opened_severity.
        opened_severity: (row.opened_severity ?? row.severity) as Severity,
        escalation_step: Number(row.escalation_step ?? 0),
        escalated_at: isoTimeOrNull(row.escalated_at),
        group_key: textOrNull(row.group_key),
        silenced: row.silenced === true,
        silence_id: textOrNull(row.silence_id),
        notify_pending_since: isoTimeOrNull(row.notify_pending_since),
        first_notified_at: isoTimeOrNull(row.first_notified_at),
        last_notified_at: isoTimeOrNull(row.last_notified_at),
        notified_severity: textOrNull(row.notified_severity) as Severity | null,
        notified_state: textOrNull(row.notified_state) as AlertEvent['state'] | null,
    };
    if (typeof row.runbook === 'string') alert.runbook = row.runbook;
    return alert;
}

/** Returns the alert event without its lifecycle columns, in the shape of schemas/alert-event.json. */
export function alertEventOf(alert: StoredAlert): AlertEvent {
    const event: AlertEvent = {
        event_id: alert.event_id,
        rule_id: alert.rule_id,
        asset_id: alert.asset_id,
        metric: alert.metric,
        severity: alert.severity,
        state: alert.state,
        message: alert.message,
        opened_at: alert.opened_at,
        acknowledged_at: alert.acknowledged_at ?? null,
        acknowledged_by: alert.acknowledged_by ?? null,
        resolved_at: alert.resolved_at ?? null,
        resolved_by: alert.resolved_by ?? null,
        evidence: alert.evidence,
    };
    if (alert.runbook !== undefined) event.runbook = alert.runbook;
    return event;
}

async function selectAlert(db: Queryable, eventId: string): Promise<StoredAlert | undefined> {
    const { rows } = await db.query(`SELECT ${ALERT_COLUMNS} FROM events WHERE event_id = $1`, [eventId]);
    return rows[0] ? toStoredAlert(rows[0]) : undefined;
}

/**
 * Stores an alert event with its lifecycle columns; see OpenAlertResult. Run inside a
 * transaction: a transaction-scoped advisory lock on the rule, asset and metric makes two
 * concurrent opens of one condition end as one alert and one repeat.
 */
export async function openAlert(tx: Queryable, event: AlertEvent, options: OpenAlertOptions): Promise<OpenAlertResult> {
    const at = timeParam(options.at, 'at');
    const condition = [event.rule_id, event.asset_id, event.metric].join('\u0001');
    await tx.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [CONDITION_LOCK_CLASS, condition]);

    const existing = await selectAlert(tx, event.event_id);
    if (existing) return { outcome: 'duplicate', alert: existing };

    if (event.state === 'open') {
        const repeated = await tx.query(
            `UPDATE events SET repeat_count = repeat_count + 1, last_repeated_at = $4
            WHERE event_id = (
                SELECT event_id FROM events WHERE rule_id = $1 AND asset_id = $2 AND metric = $3 AND state <> 'resolved'
                ORDER BY opened_at, event_id LIMIT 1
            ) RETURNING ${ALERT_COLUMNS}`,
            [event.rule_id, event.asset_id, event.metric, at],
        );
        if (repeated.rows[0]) return { outcome: 'repeated', alert: toStoredAlert(repeated.rows[0]) };
    }

    await insertEvent(tx, event);
    const silenceId = options.silence_id ?? null;
    // A silenced alert waits for the end of its silence instead; an acknowledged one needs no notification.
    const pending = silenceId === null && event.state !== 'acknowledged' ? at : null;
    const { rows } = await tx.query(
        `UPDATE events SET opened_severity = severity, group_key = $2, silenced = $3::uuid IS NOT NULL, silence_id = $3::uuid,
            notify_pending_since = $4
        WHERE event_id = $1 RETURNING ${ALERT_COLUMNS}`,
        [event.event_id, storableText(options.group_key), silenceId, pending],
    );
    return { outcome: 'inserted', alert: toStoredAlert(rows[0]) };
}

/** Returns stored alerts with their lifecycle, oldest opened first. */
export async function selectStoredAlerts(db: Queryable, query: StoredAlertsQuery = {}): Promise<StoredAlert[]> {
    const limit = resolveLimit(query.limit, 10_000, 100_000);
    const params: unknown[] = [];
    const param = (value: unknown): string => {
        params.push(value);
        return `$${params.length}`;
    };
    const where: string[] = [];
    if (query.event_ids !== undefined) where.push(`event_id = ANY(${param(query.event_ids)}::uuid[])`);
    if (query.condition !== undefined) {
        const { rule_id, asset_id, metric } = query.condition;
        where.push(`rule_id = ${param(rule_id)} AND asset_id = ${param(asset_id)} AND metric = ${param(metric)}`);
    }
    if (query.silence_id !== undefined) where.push(`silence_id = ${param(query.silence_id)}::uuid`);
    if (query.active) where.push(ACTIVE);
    if (query.unresolved) where.push("state <> 'resolved'");
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const { rows } = await db.query(`SELECT ${ALERT_COLUMNS} FROM events ${clause} ORDER BY opened_at, event_id LIMIT ${param(limit)}`, params);
    return rows.map(toStoredAlert);
}

/**
 * Applies an escalation if the alert is still open, not silenced, and at the step and severity
 * the change starts from. The alert's notification then waits to be sent. Returns the updated
 * alert, or undefined when the alert changed meanwhile, for example when it was acknowledged,
 * resolved or escalated by another runtime.
 */
export async function escalateAlert(db: Queryable, eventId: string, change: EscalationChange): Promise<StoredAlert | undefined> {
    const at = timeParam(change.at, 'at');
    const { rows } = await db.query(
        `UPDATE events SET severity = $4, escalation_step = $5, escalated_at = $6,
            notify_pending_since = coalesce(notify_pending_since, $6)
        WHERE event_id = $1 AND state = 'open' AND NOT silenced AND escalation_step = $2 AND severity = $3
        RETURNING ${ALERT_COLUMNS}`,
        [eventId, change.from_step, change.from_severity, change.to_severity, change.to_step, at],
    );
    return rows[0] ? toStoredAlert(rows[0]) : undefined;
}

/**
 * Sets or clears the silence of an unresolved alert. Silencing drops a waiting notification.
 * Clearing it makes the notification of an open alert wait to be sent, so the alert is notified
 * when its silence ends. Returns the updated alert, or undefined when nothing changed.
 */
export async function setAlertSilence(db: Queryable, eventId: string, silenceId: string | null, at: string): Promise<StoredAlert | undefined> {
    const { rows } = await db.query(
        `UPDATE events SET silenced = $2::uuid IS NOT NULL, silence_id = $2::uuid,
            notify_pending_since = CASE
                WHEN $2::uuid IS NOT NULL THEN NULL
                WHEN state = 'open' THEN coalesce(notify_pending_since, $3)
                ELSE notify_pending_since END
        WHERE event_id = $1 AND state <> 'resolved' AND silence_id IS DISTINCT FROM $2::uuid
        RETURNING ${ALERT_COLUMNS}`,
        [eventId, silenceId, timeParam(at, 'at')],
    );
    return rows[0] ? toStoredAlert(rows[0]) : undefined;
}

/** Makes a notification of the alert wait to be sent, unless one already waits or the alert is silenced. */
export async function requestAlertNotification(db: Queryable, eventId: string, at: string): Promise<boolean> {
    const { rows } = await db.query(
        `UPDATE events SET notify_pending_since = $2
        WHERE event_id = $1 AND notify_pending_since IS NULL AND NOT silenced RETURNING event_id`,
        [eventId, timeParam(at, 'at')],
    );
    return rows.length > 0;
}

/**
 * Takes the waiting notifications of these alerts and records them as sent at `at`, with the
 * severity and state they announce. An acknowledged alert needs no notification, so its waiting
 * one is dropped and nothing is recorded as sent. Returns the ids taken. An alert whose
 * notification another runtime took first, or that no longer waits, is left out, so each
 * notification is taken once.
 */
export async function claimAlertNotifications(db: Queryable, eventIds: string[], at: string): Promise<string[]> {
    if (eventIds.length === 0) return [];
    const { rows } = await db.query<{ event_id: string }>(
        `UPDATE events SET notify_pending_since = NULL,
            first_notified_at = CASE WHEN state = 'acknowledged' THEN first_notified_at ELSE coalesce(first_notified_at, $2) END,
            last_notified_at = CASE WHEN state = 'acknowledged' THEN last_notified_at ELSE $2 END,
            notified_severity = CASE WHEN state = 'acknowledged' THEN notified_severity ELSE severity END,
            notified_state = CASE WHEN state = 'acknowledged' THEN notified_state ELSE state END
        WHERE event_id = ANY($1::uuid[]) AND notify_pending_since IS NOT NULL RETURNING event_id`,
        [eventIds, timeParam(at, 'at')],
    );
    return rows.map((row) => String(row.event_id));
}

function toSilence(row: Record<string, unknown>): Silence {
    return {
        silence_id: String(row.silence_id),
        asset_id: textOrNull(row.asset_id),
        field: textOrNull(row.field),
        operator: textOrNull(row.operator),
        rule_id: textOrNull(row.rule_id),
        starts_at: isoTime(row.starts_at),
        ends_at: isoTime(row.ends_at),
        reason: String(row.reason),
        created_by: String(row.created_by),
        created_at: isoTime(row.created_at),
        expired_at: isoTimeOrNull(row.expired_at),
        expired_by: textOrNull(row.expired_by),
    };
}

/** Stores a new silence under `silenceId`. */
export async function insertSilence(db: Queryable, silenceId: string, input: SilenceInput): Promise<Silence> {
    const { rows } = await db.query(
        `INSERT INTO silences (silence_id, asset_id, field, operator, rule_id, starts_at, ends_at, reason, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${SILENCE_COLUMNS}`,
        [
            silenceId,
            input.asset_id ?? null,
            input.field ?? null,
            input.operator ?? null,
            input.rule_id ?? null,
            timeParam(input.starts_at, 'starts_at'),
            timeParam(input.ends_at, 'ends_at'),
            storableText(input.reason),
            input.created_by,
        ],
    );
    return toSilence(rows[0]);
}

/** Returns silences, newest created first. */
export async function selectSilences(db: Queryable, query: SilencesQuery = {}): Promise<Silence[]> {
    const limit = resolveLimit(query.limit, SILENCE_LIST_LIMIT.default, SILENCE_LIST_LIMIT.max);
    const conditions = new Conditions();
    if (query.active_at !== undefined) {
        const at = timeParam(query.active_at, 'active_at');
        conditions.add('starts_at <= $::timestamptz', at);
        conditions.add('ends_at > $::timestamptz', at);
    }
    if (query.ends_after !== undefined) conditions.add('ends_at > $::timestamptz', timeParam(query.ends_after, 'ends_after'));
    if (query.silence_ids !== undefined) conditions.add('silence_id = ANY($::uuid[])', query.silence_ids);
    const { rows } = await db.query(
        `SELECT ${SILENCE_COLUMNS} FROM silences ${conditions.where()}
        ORDER BY created_at DESC, silence_id LIMIT ${conditions.param(limit)}`,
        conditions.params,
    );
    return rows.map(toSilence);
}

/**
 * Ends a silence at `at` (a silence that has not started yet ends at its start) and records who
 * did it. Returns the silence (undefined when no silence has this id) and whether this call
 * changed it; a silence that already ended is returned unchanged.
 */
export async function expireSilence(db: Queryable, silenceId: string, by: string, at: string): Promise<{ silence: Silence | undefined; changed: boolean }> {
    const time = timeParam(at, 'at');
    const updated = await db.query(
        `UPDATE silences SET ends_at = greatest(starts_at, $2::timestamptz), expired_at = $2, expired_by = $3
        WHERE silence_id = $1 AND ends_at > $2::timestamptz RETURNING ${SILENCE_COLUMNS}`,
        [silenceId, time, by],
    );
    if (updated.rows[0]) return { silence: toSilence(updated.rows[0]), changed: true };
    const current = await db.query(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE silence_id = $1`, [silenceId]);
    return { silence: current.rows[0] ? toSilence(current.rows[0]) : undefined, changed: false };
}

