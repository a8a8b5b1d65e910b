// REST routes of silences: maintenance windows that hold back the notifications of matching
// alerts. A regulator-admin may silence any asset, field, operator or rule. An operator may
// silence only its own assets, so every silence an operator creates is limited to its operator.
import express, { type Router } from 'express';

import { parseSilenceRequest, silenceCoversAsset, type SilenceRequest } from '../../lib/alerts/silences';
import type { Principal } from '../../lib/auth/types';
import { ValidationError } from '../../lib/errors';
import type { Silence } from '../../lib/store/alert-lifecycle';
import type { Store } from '../../lib/store/types';
import type { Asset } from '../../lib/types';
import { allowQuery, ApiError, intParam, requireRole, route } from './http';

export type SilencesStore = Pick<Store, 'createSilence' | 'listSilences' | 'expireSilence' | 'listAssets' | 'listStoredAlerts'>;

export interface SilencesDependencies {
    store: SilencesStore;
    /** Clock in epoch milliseconds; default Date.now. */
    now?: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATES = ['active', 'upcoming', 'ended'] as const;
type SilenceState = (typeof STATES)[number];

function isRegulator(principal: Principal): boolean {
    return principal.roles.includes('regulator-admin');
}

/** Returns the state of a silence at `nowMs`: in force, not started yet, or ended. */
function silenceState(silence: Silence, nowMs: number): SilenceState {
    if (Date.parse(silence.ends_at) <= nowMs) return 'ended';
    return Date.parse(silence.starts_at) <= nowMs ? 'active' : 'upcoming';
}

function withState(silence: Silence, nowMs: number): Silence & { state: SilenceState } {
    return { ...silence, state: silenceState(silence, nowMs) };
}

export function createSilencesRouter(deps: SilencesDependencies): Router {
    const { store } = deps;
    const now = deps.now ?? Date.now;
    const router = express.Router();
    const allowed = requireRole('regulator-admin', 'operator');

    /** Returns the assets of an operator principal, or undefined for a regulator, who may act on every asset. */
    async function ownAssets(principal: Principal): Promise<Asset[] | undefined> {
        if (isRegulator(principal)) return undefined;
        if (!principal.operator) {
            throw new ApiError(403, 'forbidden', 'This token has the operator role but names no operator, so it may not read or set silences; ask for a token of your operator.');
        }
        return store.listAssets({ operator: principal.operator });
    }

    /** Returns the silence when the principal may read it: a regulator may read all, an operator those covering its assets. */
    async function visibleSilence(id: string, principal: Principal): Promise<Silence> {
        const [silence] = UUID.test(id) ? await store.listSilences({ silence_ids: [id], limit: 1 }) : [];
        const own = silence ? await ownAssets(principal) : undefined;
        if (!silence || (own && !own.some((asset) => silenceCoversAsset(silence, asset)))) {
            throw new ApiError(404, 'not_found', `Silence "${id}" does not exist or covers none of your assets; GET /v1/silences lists the silences you may see.`);
        }
        return silence;
    }

    router.post(
        '/silences',
        allowed,
        allowQuery(),
        express.json({ limit: '16kb' }),
        route(async (req, res) => {
            let request: SilenceRequest;
            try {
                request = parseSilenceRequest(req.body, now());
            } catch (err) {
                if (err instanceof ValidationError) throw new ApiError(400, 'invalid_silence', err.message);
                throw err;
            }
            const own = await ownAssets(req.principal);
            const assets = own ?? (await store.listAssets());
            if (request.asset_id && !assets.some((asset) => asset.asset_id === request.asset_id)) {
                throw new ApiError(404, 'not_found', `Asset "${request.asset_id}" does not exist or belongs to another operator; GET /v1/assets lists the assets you may silence.`);
            }
            if (request.field && !assets.some((asset) => asset.field === request.field)) {
                const fields = [...new Set(assets.map((asset) => asset.field))].join(', ');
                throw new ApiError(400, 'unknown_field', `No asset you may silence is in the field "${request.field}"; use one of ${fields || 'the fields of GET /v1/assets'}.`);
            }
            if (own) {
                if (request.operator && request.operator !== req.principal.operator) {
                    throw new ApiError(403, 'forbidden', `Operators may silence only their own assets; leave out operator or set it to ${req.principal.operator}.`);
                }
                // Limited to the caller's operator, so a field or rule silence spares other operators' alerts.
                request.operator = req.principal.operator;
            } else if (request.operator && !assets.some((asset) => asset.operator === request.operator)) {
                const operators = [...new Set(assets.map((asset) => asset.operator))].join(', ');
                throw new ApiError(400, 'unknown_operator', `No asset belongs to the operator "${request.operator}"; use one of ${operators || 'the operators of GET /v1/assets'}.`);
            }
            const silence = await store.createSilence({ ...request, created_by: req.principal.sub });
            res.status(201).json({ silence: withState(silence, now()) });
        }),
    );

    router.get(
        '/silences',
        allowed,
        allowQuery('state', 'limit'),
        route(async (req, res) => {
            const state = req.query.state;
            if (state !== undefined && !STATES.includes(state as SilenceState)) {
                throw new ApiError(400, 'invalid_parameter', `Query parameter state="${String(state)}" is not a silence state; use active, upcoming or ended, or leave it out for all.`);
            }
            const own = await ownAssets(req.principal);
            const nowMs = now();
            const silences = (await store.listSilences({ limit: intParam(req.query.limit, 'limit', 1, 10_000) }))
                .filter((silence) => !own || own.some((asset) => silenceCoversAsset(silence, asset)))
                .map((silence) => withState(silence, nowMs))
                .filter((silence) => state === undefined || silence.state === state);
            res.json({ count: silences.length, silences });
        }),
    );

    router.get(
        '/silences/:id',
        allowed,
        allowQuery(),
        route(async (req, res) => {
            const silence = await visibleSilence(req.params.id, req.principal);
            const own = await ownAssets(req.principal);
            const ownIds = own ? new Set(own.map((asset) => asset.asset_id)) : undefined;
            const alerts = (await store.listStoredAlerts({ silence_id: silence.silence_id, limit: 10_000 }))
                .filter((alert) => !ownIds || ownIds.has(alert.asset_id))
                .map(({ event_id, rule_id, asset_id, metric, severity, state, opened_at, silenced }) => ({ event_id, rule_id, asset_id, metric, severity, state, opened_at, silenced }));
            res.json({ silence: withState(silence, now()), alerts });
        }),
    );

    router.delete(
        '/silences/:id',
        allowed,
        allowQuery(),
        route(async (req, res) => {
            const silence = await visibleSilence(req.params.id, req.principal);
            if (!isRegulator(req.principal) && silence.operator !== req.principal.operator) {
                throw new ApiError(403, 'forbidden', `Silence "${silence.silence_id}" covers more than your operator's assets; ask a regulator-admin to end it.`);
            }
            const nowMs = now();
            if (silenceState(silence, nowMs) === 'ended') {
                throw new ApiError(409, 'already_ended', `Silence "${silence.silence_id}" already ended at ${silence.ends_at}.`);
            }
            const { silence: expired } = await store.expireSilence(silence.silence_id, req.principal.sub, new Date(nowMs).toISOString());
            res.json({ silence: expired ? withState(expired, nowMs) : undefined });
        }),
    );

    return router;
}
