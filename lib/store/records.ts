// Alert events, the quarantine and the asset registry.
import type { AlertEvent, Asset, Rejection } from '../types';
import type { Queryable } from './db';
import type { EventsQuery, QuarantineRow } from './types';
import { Conditions, isoTime, isoTimeOrNull, jsonText, resolveLimit, storableText, timeParam } from './sql-values';

export const LIST_LIMIT = { default: 1_000, max: 10_000 };

const EVENT_COLUMNS = `event_id, rule_id, asset_id, metric, severity, state, message, runbook, opened_at,
    acknowledged_at, acknowledged_by, resolved_at, resolved_by, evidence`;

function toEvent(row: Record<string, unknown>): AlertEvent {
    const event: AlertEvent = {
        event_id: String(row.event_id),
        rule_id: String(row.rule_id),
        asset_id: String(row.asset_id),
        metric: String(row.metric),
        severity: row.severity as AlertEvent['severity'],
        state: row.state as AlertEvent['state'],
        message: String(row.message),
        opened_at: isoTime(row.opened_at),
        acknowledged_at: isoTimeOrNull(row.acknowledged_at),
        acknowledged_by: (row.acknowledged_by as string | null) ?? null,
        resolved_at: isoTimeOrNull(row.resolved_at),
        resolved_by: (row.resolved_by as string | null) ?? null,
        evidence: (row.evidence as Record<string, unknown> | null) ?? {},
    };
    if (typeof row.runbook === 'string') event.runbook = row.runbook;
    return event;
}

/** Stores a new alert event; returns false when an event with its id was stored before. */
export async function insertEvent(db: Queryable, event: AlertEvent): Promise<boolean> {
    const { rows } = await db.query(
        `INSERT INTO events (${EVENT_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb)
        ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        [
            event.event_id,
            event.rule_id,
            event.asset_id,
            event.metric,
            event.severity,
            event.state,
            storableText(event.message),
            event.runbook ?? null,
            timeParam(event.opened_at, 'opened_at'),
            event.acknowledged_at ? timeParam(event.acknowledged_at, 'acknowledged_at') : null,
            event.acknowledged_by ?? null,
            event.resolved_at ? timeParam(event.resolved_at, 'resolved_at') : null,
            event.resolved_by ?? null,
            jsonText(event.evidence ?? {}),
        ],
    );
    return rows.length > 0;
}

/**
 * Moves an alert along open → acknowledged → resolved and records who did it and when.
 * Acknowledging applies to open alerts only, and resolving to open or acknowledged ones.
 * Any other request (a repeated acknowledge, acknowledging a resolved alert) changes nothing
 * and returns the alert as stored, so the first person to act stays on record.
 * Returns the alert (undefined when no alert has this id) and whether this call changed it.
 */
export async function updateEventState(
    db: Queryable,
    eventId: string,
    state: 'acknowledged' | 'resolved',
    by: string,
    at?: string,
): Promise<{ event: AlertEvent | undefined; changed: boolean }> {
    const time = at === undefined ? new Date().toISOString() : timeParam(at, 'at');
    const sql = state === 'acknowledged'
        ? `UPDATE events SET state = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3
            WHERE event_id = $1 AND state = 'open' RETURNING ${EVENT_COLUMNS}`
        : `UPDATE events SET state = 'resolved', resolved_at = $2, resolved_by = $3
            WHERE event_id = $1 AND state IN ('open', 'acknowledged') RETURNING ${EVENT_COLUMNS}`;
    const updated = await db.query(sql, [eventId, time, by]);
    if (updated.rows[0]) return { event: toEvent(updated.rows[0]), changed: true };

    const current = await db.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = $1`, [eventId]);
    return { event: current.rows[0] ? toEvent(current.rows[0]) : undefined, changed: false };
}

/** Returns alerts, newest opened first. */
export async function selectEvents(db: Queryable, query: EventsQuery = {}): Promise<AlertEvent[]> {
    const limit = resolveLimit(query.limit, LIST_LIMIT.default, LIST_LIMIT.max);
    const conditions = new Conditions();
    if (query.severity !== undefined) conditions.add('severity = $', query.severity);
    if (query.state !== undefined) conditions.add('state = $', query.state);
    if (query.since !== undefined) conditions.add('opened_at >= $::timestamptz', timeParam(query.since, 'since'));
    if (query.asset_ids !== undefined) conditions.add('asset_id = ANY($::text[])', query.asset_ids);
    if (query.event_ids !== undefined) conditions.add('event_id = ANY($::uuid[])', query.event_ids);
    const sql = `SELECT ${EVENT_COLUMNS} FROM events ${conditions.where()}
        ORDER BY opened_at DESC, event_id LIMIT ${conditions.param(limit)}`;
    const { rows } = await db.query(sql, conditions.params);
    return rows.map(toEvent);
}

/** Characters of JSON kept of the offending value of a rejection; the payload keeps the whole input. */
const QUARANTINE_VALUE_CHARS = 1_024;

/**
 * Returns a value that serialises as JSON: the value itself when its JSON has at most `maxChars`
 * characters, else the start of that JSON as text. A value that JSON.stringify cannot serialise
 * (circular, BigInt, nested too deep for the stack) becomes a note naming the error.
 */
function storableValue(value: unknown, maxChars: number): unknown {
    let text: string | undefined;
    try {
        text = JSON.stringify(value);
    } catch (err) {
        return { not_serializable: String((err as Error).message) };
    }
    if (text === undefined || text.length <= maxChars) return value;
    return `${text.slice(0, maxChars)}... (${text.length} characters in all)`;
}

/**
 * Stores rejections and returns how many were new. A rejection with the same source, ref, code
 * and field as a stored one is skipped, so importing a file twice adds nothing.
 */
export async function insertQuarantine(db: Queryable, rejections: Rejection[]): Promise<number> {
    if (rejections.length === 0) return 0;
    const storedAt = new Date().toISOString();
    const records = rejections.map((r) => ({
        source: r.source,
        code: r.code,
        reason: r.reason,
        field: r.field ?? null,
        value: r.value === undefined ? null : storableValue(r.value, QUARANTINE_VALUE_CHARS),
        ref: r.ref ?? null,
        payload: r.payload === undefined ? null : storableValue(r.payload, Number.POSITIVE_INFINITY),
        // The quarantine keeps every rejection, so an unreadable time becomes the time of storing.
        received_at: Number.isNaN(Date.parse(r.received_at)) ? storedAt : r.received_at,
    }));
    const { rows } = await db.query(
        `INSERT INTO quarantine (source, code, reason, field, value, ref, payload, received_at)
        SELECT source, code, reason, field, value, ref, payload, received_at
        FROM jsonb_to_recordset($1::jsonb) AS x (source text, code text, reason text, field text, value jsonb,
            ref text, payload jsonb, received_at timestamptz)
        ON CONFLICT (source, ref, code, (coalesce(field, ''))) WHERE ref IS NOT NULL DO NOTHING
        RETURNING id`,
        [jsonText(records)],
    );
    return rows.length;
}

function toQuarantineRow(row: Record<string, unknown>): QuarantineRow {
    const result: QuarantineRow = {
        id: Number(row.id),
        source: String(row.source),
        code: String(row.code),
        reason: String(row.reason),
        received_at: isoTime(row.received_at),
    };
    if (row.field !== null && row.field !== undefined) result.field = String(row.field);
    if (row.value !== null && row.value !== undefined) result.value = row.value;
    if (row.ref !== null && row.ref !== undefined) result.ref = String(row.ref);
    if (row.payload !== null && row.payload !== undefined) result.payload = row.payload;
    return result;
}

/** Returns quarantined items, most recently stored first. */
export async function selectQuarantine(
    db: Queryable,
    query: { source?: string; since?: string; limit?: number } = {},
): Promise<QuarantineRow[]> {
    const limit = resolveLimit(query.limit, LIST_LIMIT.default, LIST_LIMIT.max);
    const conditions = new Conditions();
    if (query.source !== undefined) conditions.add('source = $', query.source);
    if (query.since !== undefined) conditions.add('received_at >= $::timestamptz', timeParam(query.since, 'since'));
    const sql = `SELECT id, source, code, reason, field, value, ref, payload, received_at FROM quarantine
        ${conditions.where()} ORDER BY id DESC LIMIT ${conditions.param(limit)}`;
    const { rows } = await db.query(sql, conditions.params);
    return rows.map(toQuarantineRow);
}

/** Inserts or replaces assets by asset_id; when a batch lists one asset twice, the last entry wins. */
export async function upsertAssets(db: Queryable, assets: Asset[]): Promise<void> {
    const byId = new Map(assets.map((asset) => [asset.asset_id, asset]));
    if (byId.size === 0) return;
    const records = [...byId.values()].map((a) => ({
        asset_id: a.asset_id,
        name: a.name,
        type: a.type,
        operator: a.operator,
        field: a.field,
        license: a.license,
        geometry: a.geometry,
        position_illustrative: a.position_illustrative ?? false,
        attributes: a.attributes ?? {},
    }));
    await db.query(
        `INSERT INTO assets (asset_id, name, type, operator, field, license, geometry, position_illustrative, attributes)
        SELECT asset_id, name, type, operator, field, license, geometry, position_illustrative, attributes
        FROM jsonb_to_recordset($1::jsonb) AS x (asset_id text, name text, type text, operator text, field text,
            license text, geometry jsonb, position_illustrative boolean, attributes jsonb)
        ON CONFLICT (asset_id) DO UPDATE SET
            name = EXCLUDED.name, type = EXCLUDED.type, operator = EXCLUDED.operator, field = EXCLUDED.field,
            license = EXCLUDED.license, geometry = EXCLUDED.geometry,
            position_illustrative = EXCLUDED.position_illustrative, attributes = EXCLUDED.attributes,
            updated_at = now()`,
        [jsonText(records)],
    );
}

export async function selectAssets(db: Queryable, filter: { operator?: string } = {}): Promise<Asset[]> {
    const conditions = new Conditions();
    if (filter.operator !== undefined) conditions.add('operator = $', filter.operator);
    const { rows } = await db.query(
        `SELECT asset_id, name, type, operator, field, license, geometry, position_illustrative, attributes
        FROM assets ${conditions.where()} ORDER BY asset_id`,
        conditions.params,
    );
    return rows.map((row) => ({
        asset_id: String(row.asset_id),
        name: String(row.name),
        type: row.type as Asset['type'],
        operator: String(row.operator),
        field: String(row.field),
        license: String(row.license),
        geometry: row.geometry as Asset['geometry'],
        position_illustrative: Boolean(row.position_illustrative),
        attributes: (row.attributes as Record<string, unknown> | null) ?? {},
    }));
}
