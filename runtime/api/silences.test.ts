// POST, GET and DELETE /v1/silences through the API router on the embedded store, with the demo
// asset registry from data/assets.json.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { alertEventId } from '../../lib/alerts/event-id';
import type { Principal } from '../../lib/auth/types';
import { DATA_DIR } from '../../lib/paths';
import { closeAllStores, openStore, type StoreHandle } from '../../lib/store';
import type { Silence } from '../../lib/store/alert-lifecycle';
import type { Asset } from '../../lib/types';
import { startTestApi, type TestApiServer } from '../../test/support/api-server';

const PRINCIPALS: Record<string, Principal> = {
    admin: { sub: 'regulator-admin-1', roles: ['regulator-admin'] },
    equinor: { sub: 'equinor-ops', roles: ['operator'], operator: 'equinor' },
    petrobras: { sub: 'petrobras-ops', roles: ['operator'], operator: 'petrobras' },
    analyst: { sub: 'analyst-1', roles: ['analyst'] },
};

const HOUR_MS = 3_600_000;
const folder = mkdtempSync(join(tmpdir(), 'ul-silences-api-'));
let store: StoreHandle;
let api: TestApiServer | undefined;
let baseUrl: string;

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
    const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };
    await store.upsertAssets(registry.assets);
    api = await startTestApi(store, PRINCIPALS);
    baseUrl = api.baseUrl;
}, 60_000);

afterAll(async () => {
    await api?.close();
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

interface Response<T> {
    status: number;
    body: T & { error?: { code: string; message: string } };
}

async function call<T = Record<string, unknown>>(method: string, path: string, token: string, body?: unknown): Promise<Response<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let text: string | undefined;
    if (body !== undefined) {
        headers['content-type'] = 'application/json';
        // A string is sent as it is, so that a test can send invalid JSON.
        text = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const response = await fetch(`${baseUrl}/v1${path}`, { method, headers, body: text });
    return { status: response.status, body: (await response.json()) as T & { error?: { code: string; message: string } } };
}

type SilenceBody = { silence: Silence & { state: string } };
type ListBody = { count: number; silences: (Silence & { state: string })[] };

describe('silences API', () => {
    let fieldSilence: Silence;

    it('should create a field silence for a regulator-admin', async () => {
        const before = Date.now();
        const { status, body } = await call<SilenceBody>('POST', '/silences', 'admin', { field: 'VOLVE', duration: '4h', reason: 'Turnaround of the Volve process train' });
        fieldSilence = body.silence;

        expect(status).toBe(201);
        expect(body.silence).toMatchObject({ field: 'VOLVE', asset_id: null, operator: null, rule_id: null, created_by: 'regulator-admin-1', state: 'active', expired_at: null });
        expect(Date.parse(body.silence.starts_at)).toBeGreaterThanOrEqual(before - 1);
        expect(Date.parse(body.silence.ends_at) - Date.parse(body.silence.starts_at)).toBe(4 * HOUR_MS);
        const [audit] = await store.listAudit(1);
        expect(audit).toMatchObject({ actor: 'regulator-admin-1', action: 'silence.create', subject: body.silence.silence_id });
    });

    it('should limit an operator silence to its own operator', async () => {
        const { status, body } = await call<SilenceBody>('POST', '/silences', 'equinor', { rule_id: 'stuck-transmitter', duration: '2h', reason: 'Transmitter swap' });

        expect(status).toBe(201);
        expect(body.silence).toMatchObject({ rule_id: 'stuck-transmitter', operator: 'equinor', created_by: 'equinor-ops' });
    });

    it.each([
        ['equinor', { asset_id: '3w-well-00001', duration: '1h', reason: 'x' }, 404, 'not_found', 'Asset "3w-well-00001" does not exist or belongs to another operator'],
        ['equinor', { operator: 'petrobras', duration: '1h', reason: 'x' }, 403, 'forbidden', 'Operators may silence only their own assets; leave out operator or set it to equinor.'],
        ['admin', { field: 'VOLVO', duration: '1h', reason: 'x' }, 400, 'unknown_field', 'No asset you may silence is in the field "VOLVO"; use one of 3W offshore (anonymised), VOLVE.'],
        ['admin', { operator: 'shell', duration: '1h', reason: 'x' }, 400, 'unknown_operator', 'No asset belongs to the operator "shell"; use one of petrobras, equinor.'],
        ['admin', { field: 'VOLVE', duration: '1h' }, 400, 'invalid_silence', 'reason is missing'],
        ['admin', { field: 'VOLVE', ends_at: '2001-01-01T00:00:00Z', reason: 'x' }, 400, 'invalid_silence', 'ends_at 2001-01-01T00:00:00.000Z has already passed'],
        ['admin', '{"field": ', 400, 'invalid_json', 'The request body is not valid JSON'],
        ['analyst', { field: 'VOLVE', duration: '1h', reason: 'x' }, 403, 'forbidden', 'This endpoint needs one of the roles regulator-admin, operator'],
    ])('should reject a silence from %s: %j', async (token, body, status, code, message) => {
        const response = await call('POST', '/silences', token, body);

        expect(response.status).toBe(status);
        expect(response.body.error?.code).toBe(code);
        expect(response.body.error?.message).toContain(message);
    });

    it('should list the silences that cover the caller assets', async () => {
        const admin = await call<ListBody>('GET', '/silences', 'admin');
        const petrobras = await call<ListBody>('GET', '/silences', 'petrobras');
        const equinor = await call<ListBody>('GET', '/silences?state=active', 'equinor');
        const ended = await call<ListBody>('GET', '/silences?state=ended', 'admin');

        expect(admin.body.count).toBe(2);
        // The VOLVE silence and the Equinor rule silence cover no Petrobras asset.
        expect(petrobras.body).toEqual({ count: 0, silences: [] });
        expect(equinor.body.silences.map((silence) => silence.created_by).sort()).toEqual(['equinor-ops', 'regulator-admin-1']);
        expect(ended.body.count).toBe(0);
        expect((await call('GET', '/silences?state=over', 'admin')).status).toBe(400);
    });

    it('should show the alerts a silence holds back', async () => {
        const openedAt = '2016-06-01T10:00:00.000Z';
        const eventId = alertEventId('tpt-pressure-collapse', 'volve-15-9-f-11', 'pressure_tpt', openedAt);
        await store.openAlert(
            {
                event_id: eventId,
                rule_id: 'tpt-pressure-collapse',
                asset_id: 'volve-15-9-f-11',
                metric: 'pressure_tpt',
                severity: 'P1',
                state: 'open',
                message: 'pressure fell',
                opened_at: openedAt,
                evidence: {},
            },
            { at: new Date().toISOString(), group_key: 'field:VOLVE', silence_id: fieldSilence.silence_id },
        );
        const { status, body } = await call<{ silence: Silence; alerts: { event_id: string; silenced: boolean }[] }>('GET', `/silences/${fieldSilence.silence_id}`, 'equinor');

        expect(status).toBe(200);
        expect(body.alerts).toEqual([{ event_id: eventId, rule_id: 'tpt-pressure-collapse', asset_id: 'volve-15-9-f-11', metric: 'pressure_tpt', severity: 'P1', state: 'open', opened_at: openedAt, silenced: true }]);
        expect((await call('GET', `/silences/${fieldSilence.silence_id}`, 'petrobras')).status).toBe(404);
        expect((await call('GET', '/silences/not-a-uuid', 'admin')).status).toBe(404);
    });

    it('should list the silence and repeats of an alert in GET /v1/events', async () => {
        const openedAt = '2016-06-01T10:00:00.000Z';
        const eventId = alertEventId('tpt-pressure-collapse', 'volve-15-9-f-11', 'pressure_tpt', openedAt);
        const repeat = { event_id: alertEventId('tpt-pressure-collapse', 'volve-15-9-f-11', 'pressure_tpt', '2016-06-01T10:05:00.000Z'), opened_at: '2016-06-01T10:05:00.000Z' };
        const [stored] = await store.listEvents({ event_ids: [eventId] });
        await store.openAlert({ ...stored, ...repeat }, { at: new Date().toISOString(), group_key: 'field:VOLVE' });

        const { status, body } = await call<{ events: Record<string, unknown>[] }>('GET', '/events?state=open', 'equinor');
        const listed = body.events.find((event) => event.event_id === eventId);

        expect(status).toBe(200);
        expect(listed).toMatchObject({ repeat_count: 1, opened_severity: 'P1', silenced: true, silence_id: fieldSilence.silence_id });
        expect(body.events.some((event) => event.event_id === repeat.event_id)).toBe(false);
    });

    it('should let only a regulator-admin end a silence wider than the operator', async () => {
        const denied = await call('DELETE', `/silences/${fieldSilence.silence_id}`, 'equinor');
        const before = Date.now();
        const ended = await call<SilenceBody>('DELETE', `/silences/${fieldSilence.silence_id}`, 'admin');
        const again = await call('DELETE', `/silences/${fieldSilence.silence_id}`, 'admin');

        expect(denied.status).toBe(403);
        expect(ended.status).toBe(200);
        expect(ended.body.silence).toMatchObject({ state: 'ended', expired_by: 'regulator-admin-1' });
        expect(Date.parse(ended.body.silence.ends_at)).toBeGreaterThanOrEqual(before - 1);
        expect(Date.parse(ended.body.silence.ends_at)).toBeLessThanOrEqual(Date.now());
        expect(again.status).toBe(409);
        expect(again.body.error?.code).toBe('already_ended');
        const [audit] = await store.listAudit(1);
        expect(audit).toMatchObject({ actor: 'regulator-admin-1', action: 'silence.expire', subject: fieldSilence.silence_id });
        expect(await store.verifyAudit()).toBeUndefined();
    });

    it('should let an operator end its own silence', async () => {
        const { body } = await call<ListBody>('GET', '/silences?state=active', 'equinor');
        const own = body.silences.find((silence) => silence.created_by === 'equinor-ops') as Silence;
        const ended = await call<SilenceBody>('DELETE', `/silences/${own.silence_id}`, 'equinor');

        expect(ended.status).toBe(200);
        expect(ended.body.silence).toMatchObject({ state: 'ended', expired_by: 'equinor-ops' });
    });
});
