// REST API under /v1: assets, readings, events, alert actions, quarantine and signed ingest.
// Every route is scoped. An operator gets only its own assets, and the public role gets no per-asset data.
import express, { type Router } from 'express';

import type { Principal } from '../../lib/auth/types';
import { METRICS } from '../../lib/metrics';
import type { Resolution, RollupRow, Store } from '../../lib/store/types';
import type { Reading, Severity } from '../../lib/types';
import { allowQuery, ApiError, authenticate, booleanParam, intParam, isoParam, requireRole, route, type AuthedRequest } from './http';
import type { TokenVerifier } from '../../lib/auth/types';
import { createSilencesRouter } from './silences';

/** Outcome of one line of a POST /v1/ingest body. */
export interface IngestLineResult {
    line: number;
    status: 'accepted' | 'rejected';
    /** Readings stored from this line (accepted lines). */
    readings?: number;
    /** Readings of an accepted line that failed validation and went to the quarantine. */
    rejected_readings?: number;
    code?: string;
    reason?: string;
    /** Each rejected reading of the line, with its code and reason. */
    problems?: { code: string; field?: string; reason: string }[];
    /** Readings of an accepted line stored with quality BAD, for example outside the plausible range. */
    flagged_readings?: number;
    flagged?: { code: string; field?: string; reason: string }[];
    /** Readings of an accepted line that were received before (same asset, metric and time), so not stored again. */
    duplicate_readings?: number;
}

export type IngestHandler = (lines: string[], principal: Principal) => Promise<IngestLineResult[]>;

export interface ApiDependencies {
    store: Store;
    verifyToken: TokenVerifier;
    ingest: IngestHandler;
}

const SEVERITIES: Severity[] = ['P1', 'P2', 'P3'];
const RESOLUTIONS: Resolution[] = ['raw', '1m', '15m', '1h'];

/**
 * Returns a row of GET /v1/readings. A rollup row also gets `ts` (the bucket start) and `value`
 * (the average), so that a client plotting ts and value works at every resolution.
 */
function responseRow(row: Reading | RollupRow): Reading | (RollupRow & { ts: string; value: number | null }) {
    return 'bucket' in row ? { ...row, ts: row.bucket, value: row.avg } : row;
}

/**
 * Returns the asset ids the principal may read, or undefined when it may read every asset.
 * The public role gets an error, because it may read aggregates only.
 */
function isRegulator(principal: Principal): boolean {
    return principal.roles.includes('regulator-admin') || principal.roles.includes('analyst');
}

/** Returns true for principals that may read per-asset data of at least their own operator. */
function hasAssetRole(principal: Principal): boolean {
    return isRegulator(principal) || (principal.roles.includes('operator') && principal.operator !== undefined);
}

async function assetScope(store: Store, principal: Principal): Promise<Set<string> | undefined> {
    if (isRegulator(principal)) return undefined;
    if (principal.roles.includes('operator') && principal.operator) {
        const assets = await store.listAssets({ operator: principal.operator });
        return new Set(assets.map((asset) => asset.asset_id));
    }
    throw new ApiError(403, 'forbidden', 'The public role may read aggregated figures only, at GET /v1/public/production.');
}

export function createApiRouter(deps: ApiDependencies): Router {
    const { store } = deps;
    const router = express.Router();
    router.use(authenticate(deps.verifyToken));

    // The one view for every role, public included: monthly volumes per field, no well figures.
    router.get(
        '/public/production',
        allowQuery(),
        route(async (_req, res) => {
            res.json({ unit: { oil: 'bbl', gas: 'MMscf', water: 'bbl' }, months: await store.monthlyFieldProduction() });
        }),
    );

    router.get(
        '/assets',
        allowQuery(),
        route(async (req, res) => {
            const scope = await assetScope(store, req.principal);
            const assets = await store.listAssets();
            res.json({ assets: scope ? assets.filter((asset) => scope.has(asset.asset_id)) : assets });
        }),
    );

    router.get(
        '/readings',
        allowQuery('asset_id', 'metric', 'from', 'to', 'resolution', 'limit', 'max_points', 'after'),
        route(async (req, res) => {
            const assetId = req.query.asset_id;
            if (typeof assetId !== 'string' || !assetId) {
                throw new ApiError(400, 'missing_parameter', 'Query parameter asset_id is required, for example ?asset_id=3w-well-00004&metric=pressure_tpt.');
            }
            if (!hasAssetRole(req.principal)) {
                throw new ApiError(403, 'forbidden', 'The public role may read aggregated figures only, at GET /v1/public/production.');
            }
            // One lookup answers both questions: does the asset exist, and may the caller read it?
            const asset = (await store.listAssets()).find((candidate) => candidate.asset_id === assetId);
            const readable = asset !== undefined && (isRegulator(req.principal) || asset.operator === req.principal.operator);
            if (!readable) {
                throw new ApiError(404, 'not_found', `Asset "${assetId}" does not exist or belongs to another operator; GET /v1/assets lists the assets you may read.`);
            }
            if (typeof req.query.metric === 'string' && req.query.metric !== '' && !METRICS.has(req.query.metric)) {
                throw new ApiError(400, 'unknown_metric', `Query parameter metric=${req.query.metric} is not a known metric; use one of ${[...METRICS.keys()].join(', ')}, or leave it out for all metrics.`);
            }
            const from = isoParam(req.query.from, 'from');
            const to = isoParam(req.query.to, 'to');
            if (from && to && from >= to) {
                throw new ApiError(400, 'invalid_parameter', `Query parameter from=${from} is not before to=${to}; give a from earlier than to (the range includes from and excludes to).`);
            }
            const resolution = req.query.resolution === '' ? undefined : req.query.resolution;
            if (resolution !== undefined && !RESOLUTIONS.includes(resolution as Resolution)) {
                throw new ApiError(400, 'invalid_parameter', `Query parameter resolution="${String(resolution)}" is not supported; `
                    + 'use raw, 1m, 15m or 1h, or leave it out to choose one from max_points.');
            }
            const metric = typeof req.query.metric === 'string' && req.query.metric ? req.query.metric : undefined;
            const page = await store.readingsPage({
                asset_id: assetId,
                metric,
                from,
                to,
                resolution: resolution as Resolution | undefined,
                limit: intParam(req.query.limit, 'limit', 1, 100_000),
                max_points: intParam(req.query.max_points, 'max_points', 1, 100_000),
                after: isoParam(req.query.after, 'after'),
            });
            const readings = (page.rows as (Reading | RollupRow)[]).map(responseRow);
            res.json({ asset_id: assetId, metric: metric ?? null, resolution: page.resolution, count: readings.length, readings, next: page.next });
        }),
    );

    router.get(
        '/events',
        allowQuery('severity', 'state', 'since', 'limit'),
        route(async (req, res) => {
            const severity = req.query.severity;
            if (severity !== undefined && !SEVERITIES.includes(severity as Severity)) {
                throw new ApiError(400, 'invalid_parameter', `Query parameter severity="${String(severity)}" is not a severity; use P1, P2 or P3.`);
            }
            const state = req.query.state;
            if (state !== undefined && state !== 'open' && state !== 'acknowledged' && state !== 'resolved') {
                throw new ApiError(400, 'invalid_parameter', `Query parameter state="${String(state)}" is not a state; use open, acknowledged or resolved.`);
            }
            const scope = await assetScope(store, req.principal);
            const events = await store.listEvents({
                severity: severity as Severity | undefined,
                state: state as 'open' | 'acknowledged' | 'resolved' | undefined,
                since: isoParam(req.query.since, 'since'),
                asset_ids: scope ? [...scope] : undefined,
                limit: intParam(req.query.limit, 'limit', 1, 10_000),
            });
            // Lifecycle facts of each alert: repeats, escalation from the opening severity, silence.
            const stored = events.length > 0 ? await store.listStoredAlerts({ event_ids: events.map((event) => event.event_id) }) : [];
            const lifecycle = new Map(stored.map((alert) => [alert.event_id, alert]));
            const withLifecycle = events.map((event) => {
                const alert = lifecycle.get(event.event_id);
                if (!alert) return event;
                return { ...event, repeat_count: alert.repeat_count, opened_severity: alert.opened_severity, silenced: alert.silenced, silence_id: alert.silence_id };
            });
            res.json({ count: withLifecycle.length, events: withLifecycle });
        }),
    );

    const alertAction = (state: 'acknowledged' | 'resolved') =>
        route(async (req, res) => {
            const scope = await assetScope(store, req.principal);
            const id = req.params.id;
            const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
            const [event] = isUuid ? await store.listEvents({ event_ids: [id], asset_ids: scope ? [...scope] : undefined, limit: 1 }) : [];
            if (!event) throw new ApiError(404, 'not_found', `Alert "${req.params.id}" does not exist or belongs to another operator.`);
            if (event.state === 'resolved') throw new ApiError(409, 'already_resolved', `Alert "${event.event_id}" is already resolved.`);
            if (state === 'acknowledged' && event.state === 'acknowledged') {
                throw new ApiError(409, 'already_acknowledged', `Alert "${event.event_id}" was already acknowledged by ${event.acknowledged_by ?? 'someone'}.`);
            }
            const { event: updated, changed } = await store.transitionEvent(event.event_id, state, req.principal.sub);
            // A concurrent request may have changed the alert between the check above and the update.
            if (!changed) {
                const code = updated?.state === 'resolved' ? 'already_resolved' : 'already_acknowledged';
                const by = updated?.state === 'resolved' ? updated.resolved_by : updated?.acknowledged_by;
                throw new ApiError(409, code, `Alert "${event.event_id}" was already ${updated?.state ?? state} by ${by ?? 'someone'}.`);
            }
            res.json({ event: updated });
        });
    router.post('/alerts/:id/ack', requireRole('regulator-admin', 'operator'), allowQuery(), alertAction('acknowledged'));
    router.post('/alerts/:id/resolve', requireRole('regulator-admin', 'operator'), allowQuery(), alertAction('resolved'));
    router.use(createSilencesRouter({ store }));

    router.get(
        '/audit',
        requireRole('regulator-admin', 'analyst'),
        allowQuery('limit', 'verify'),
        route(async (req, res) => {
            const verify = booleanParam(req.query.verify, 'verify');
            const entries = await store.listAudit(intParam(req.query.limit, 'limit', 1, 10_000));
            const brokenAt = verify ? await store.verifyAudit() : undefined;
            res.json({ count: entries.length, entries, ...(verify ? { chain_valid: brokenAt === undefined, broken_at: brokenAt ?? null } : {}) });
        }),
    );

    router.get(
        '/quarantine',
        requireRole('regulator-admin', 'analyst'),
        allowQuery('source', 'since', 'limit'),
        route(async (req, res) => {
            const rows = await store.listQuarantine({
                source: typeof req.query.source === 'string' && req.query.source ? req.query.source : undefined,
                since: isoParam(req.query.since, 'since'),
                limit: intParam(req.query.limit, 'limit', 1, 10_000),
            });
            res.json({ count: rows.length, quarantine: rows });
        }),
    );

    router.post(
        '/ingest',
        requireRole('regulator-admin', 'operator'),
        allowQuery(),
        express.text({ type: () => true, limit: '10mb' }),
        route(async (req: AuthedRequest, res) => {
            const body = typeof req.body === 'string' ? req.body : '';
            const lines = body.split(/\r?\n/);
            while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
            if (lines.length === 0) {
                throw new ApiError(400, 'empty_body', 'The body has no lines; send one signed JSON envelope per line (application/x-ndjson).');
            }
            const results = await deps.ingest(lines, req.principal);
            const accepted = results.filter((r) => r.status === 'accepted').length;
            // 200 when every line was accepted, 422 when none was, 207 for a mix.
            let status = 207;
            if (accepted === results.length) status = 200;
            else if (accepted === 0) status = 422;
            const sum = (key: 'rejected_readings' | 'flagged_readings' | 'duplicate_readings') => results.reduce((total, r) => total + (r[key] ?? 0), 0);
            res.status(status).json({
                accepted,
                rejected: results.length - accepted,
                rejected_readings: sum('rejected_readings'),
                flagged_readings: sum('flagged_readings'),
                duplicate_readings: sum('duplicate_readings'),
                results,
            });
        }),
    );

    return router;
}
