// Query parameter checks of every /v1 route, through the API router on the embedded store with the
// demo asset registry from data/assets.json.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { alertEventId } from '../../lib/alerts/event-id';
import type { Principal } from '../../lib/auth/types';
import { DATA_DIR } from '../../lib/paths';
import { closeAllStores, openStore, type StoreHandle } from '../../lib/store';
import type { Asset, Reading } from '../../lib/types';
import { startTestApi, type TestApiServer } from '../../test/support/api-server';

const PRINCIPALS: Record<string, Principal> = {
    admin: { sub: 'regulator-admin-1', roles: ['regulator-admin'] },
    second: { sub: 'regulator-admin-2', roles: ['regulator-admin'] },
    public: { sub: 'public-1', roles: ['public'] },
};

const ASSET = '3w-well-00004';
const FIRST_TS = '2017-10-31T19:30:00.000Z';
const folder = mkdtempSync(join(tmpdir(), 'ul-routes-api-'));
let store: StoreHandle;
let api: TestApiServer | undefined;
let baseUrl: string;
let eventId: string;
let silenceId: string;

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
    const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };
    await store.upsertAssets(registry.assets);
    const readings: Reading[] = [0, 1, 2].map((minute) => ({
        asset_id: ASSET,
        metric: 'pressure_tpt',
        value: 2000 + minute,
        unit: 'psi',
        ts: new Date(Date.parse(FIRST_TS) + minute * 60_000).toISOString(),
        quality_flag: 'GOOD',
    }));
    await store.writeReadings(readings);
    await store.writeQuarantine([{ source: 'api:ingest', reason: 'value is not a number', code: 'invalid_value', received_at: '2017-11-01T00:00:00.000Z' }]);
    eventId = alertEventId('tpt-pressure-collapse', ASSET, 'pressure_tpt', FIRST_TS);
    await store.insertEvent({
        event_id: eventId,
        rule_id: 'tpt-pressure-collapse',
        asset_id: ASSET,
        metric: 'pressure_tpt',
        severity: 'P1',
        state: 'open',
        message: 'pressure fell',
        opened_at: FIRST_TS,
        evidence: {},
    });
    const silence = await store.createSilence({
        asset_id: ASSET,
        starts_at: new Date(Date.now() - 60_000).toISOString(),
        ends_at: new Date(Date.now() + 3_600_000).toISOString(),
        reason: 'Transmitter swap',
        created_by: 'regulator-admin-1',
    });
    silenceId = silence.silence_id;

    api = await startTestApi(store, PRINCIPALS);
    baseUrl = api.baseUrl;
}, 60_000);

afterAll(async () => {
    await api?.close();
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

interface Response {
    status: number;
    body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** Sends a request with the token in the Authorization header, or with no header when `token` is null. */
async function call(method: string, path: string, token: string | null = 'admin'): Promise<Response> {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const response = await fetch(`${baseUrl}/v1${path.replace('{silence}', silenceId).replace('{event}', eventId)}`, { method, headers });
    return { status: response.status, body: (await response.json()) as Response['body'] };
}

const NO_PARAMETERS = 'this endpoint accepts no query parameters other than access_token.';

// Method, path and the end of the unknown_parameter message, which lists what the route accepts.
const ROUTES: [string, string, string][] = [
    ['GET', '/public/production', NO_PARAMETERS],
    ['GET', '/assets', NO_PARAMETERS],
    ['GET', `/readings?asset_id=${ASSET}`, 'this endpoint accepts asset_id, metric, from, to, resolution, limit, max_points, after.'],
    ['GET', '/events', 'this endpoint accepts severity, state, since, limit.'],
    ['GET', '/audit', 'this endpoint accepts limit, verify.'],
    ['GET', '/quarantine', 'this endpoint accepts source, since, limit.'],
    ['GET', '/silences', 'this endpoint accepts state, limit.'],
    ['GET', '/silences/{silence}', NO_PARAMETERS],
    ['POST', '/silences', NO_PARAMETERS],
    ['DELETE', '/silences/{silence}', NO_PARAMETERS],
    ['POST', '/alerts/{event}/ack', NO_PARAMETERS],
    ['POST', '/alerts/{event}/resolve', NO_PARAMETERS],
    ['POST', '/ingest', NO_PARAMETERS],
];

describe('query parameters', () => {
    it.each(ROUTES)('should reject an unknown parameter on %s %s', async (method, path, accepted) => {
        const separator = path.includes('?') ? '&' : '?';
        const { status, body } = await call(method, `${path}${separator}asset=${ASSET}`);

        expect(status).toBe(400);
        expect(body.error?.code).toBe('unknown_parameter');
        expect(body.error?.message).toBe(`Unknown query parameter "asset"; ${accepted}`);
    });

    it('should name every unknown parameter', async () => {
        const { status, body } = await call('GET', '/events?severty=P1&limit=5&sinse=2017-10-31');

        expect(status).toBe(400);
        expect(body.error?.code).toBe('unknown_parameter');
        expect(body.error?.message).toBe('Unknown query parameters "severty", "sinse"; this endpoint accepts severity, state, since, limit.');
    });

    it('should treat bracket forms as unknown names', async () => {
        const arrayForm = await call('GET', '/events?limit[]=5');
        const objectForm = await call('GET', '/quarantine?source[like]=api');

        expect(arrayForm.status).toBe(400);
        expect(arrayForm.body.error?.code).toBe('unknown_parameter');
        expect(arrayForm.body.error?.message).toContain('"limit[]"');
        expect(objectForm.status).toBe(400);
        expect(objectForm.body.error?.message).toContain('"source[like]"');
    });

    it.each([
        ['GET', `/readings?asset_id=${ASSET}&limit=1&limit=2`, 'Query parameter limit is given more than once; give it once.'],
        ['GET', `/readings?asset_id=${ASSET}&metric=pressure_tpt&metric=temp_tpt`, 'Query parameter metric is given more than once; give it once.'],
        ['GET', '/events?severity=P1&since=2017-10-31&severity=P2&since=2017-11-01', 'Query parameters severity, since are given more than once; give each once.'],
        ['GET', '/audit?verify=true&verify=false', 'Query parameter verify is given more than once; give it once.'],
        ['GET', '/quarantine?source=a&source=b', 'Query parameter source is given more than once; give it once.'],
        ['GET', '/silences?state=active&state=', 'Query parameter state is given more than once; give it once.'],
    ])('should reject a repeated parameter on %s %s', async (method, path, message) => {
        const { status, body } = await call(method, path);

        expect(status).toBe(400);
        expect(body.error?.code).toBe('invalid_parameter');
        expect(body.error?.message).toBe(message);
    });

    it('should report unknown names before repeated ones', async () => {
        const { body } = await call('GET', '/events?limit=1&limit=2&lmit=3');

        expect(body.error?.code).toBe('unknown_parameter');
        expect(body.error?.message).toContain('"lmit"');
    });

    it('should accept access_token on every route', async () => {
        for (const [method, path] of ROUTES) {
            const separator = path.includes('?') ? '&' : '?';
            const { body } = await call(method, `${path}${separator}access_token=admin&typo=1`, null);

            // Authentication passed and the check named only the real unknown parameter.
            expect(body.error?.code, `${method} ${path}`).toBe('unknown_parameter');
            expect(body.error?.message, `${method} ${path}`).toContain('"typo";');
        }
        const assets = await call('GET', '/assets?access_token=admin', null);
        expect(assets.status).toBe(200);
    });

    it('should reject a repeated access_token', async () => {
        const { status, body } = await call('GET', '/assets?access_token=admin&access_token=admin', null);

        expect(status).toBe(400);
        expect(body.error?.code).toBe('invalid_parameter');
        expect(body.error?.message).toBe('Query parameter access_token is given more than once; give it once.');
    });

    it('should authenticate before checking parameters', async () => {
        const anonymous = await call('GET', '/events?typo=1', null);
        const publicRole = await call('GET', '/audit?typo=1', 'public');

        expect(anonymous.status).toBe(401);
        expect(publicRole.status).toBe(403);
    });

    it('should accept every readings parameter', async () => {
        const query = new URLSearchParams({
            asset_id: ASSET,
            metric: 'pressure_tpt',
            from: '2017-10-31T19:00:00Z',
            to: '2017-10-31T20:00:00Z',
            resolution: 'raw',
            limit: '1',
            max_points: '100',
            after: FIRST_TS,
        });
        const { status, body } = await call('GET', `/readings?${query.toString()}`);

        expect(status).toBe(200);
        expect(body).toMatchObject({ asset_id: ASSET, metric: 'pressure_tpt', resolution: 'raw', count: 1 });
        expect((body.readings as Reading[])[0].ts).toBe('2017-10-31T19:31:00.000Z');
    });

    it('should accept every events parameter', async () => {
        const { status, body } = await call('GET', '/events?severity=P1&state=open&since=2017-10-31&limit=5');

        expect(status).toBe(200);
        expect((body.events as { event_id: string }[]).map((event) => event.event_id)).toEqual([eventId]);
    });

    it('should accept every audit parameter', async () => {
        const { status, body } = await call('GET', '/audit?limit=1&verify=true');

        expect(status).toBe(200);
        expect(body.count).toBe(1);
        expect(body.chain_valid).toBe(true);
    });

    it('should reject a verify value other than true or false', async () => {
        const { status, body } = await call('GET', '/audit?verify=maybe');

        expect(status).toBe(400);
        expect(JSON.stringify(body)).toContain('Query parameter verify=\\"maybe\\" is invalid; use true or false.');
    });

    it('should leave out the chain check for verify=false', async () => {
        const { status, body } = await call('GET', '/audit?verify=false');

        expect(status).toBe(200);
        expect(body.chain_valid).toBeUndefined();
    });

    it('should accept every quarantine parameter', async () => {
        const { status, body } = await call('GET', '/quarantine?source=api:ingest&since=2017-10-31&limit=5');

        expect(status).toBe(200);
        expect(body.count).toBe(1);
    });

    it('should accept every silences list parameter', async () => {
        const { status, body } = await call('GET', '/silences?state=active&limit=5');

        expect(status).toBe(200);
        expect((body.silences as { silence_id: string }[]).map((silence) => silence.silence_id)).toEqual([silenceId]);
    });

    it('should acknowledge once under concurrent requests', async () => {
        const opened = '2017-10-31T20:00:00.000Z';
        const concurrentId = alertEventId('tpt-pressure-collapse', ASSET, 'pressure_tpt', opened);
        await store.insertEvent({ event_id: concurrentId, rule_id: 'tpt-pressure-collapse', asset_id: ASSET, metric: 'pressure_tpt', severity: 'P1', state: 'open', message: 'pressure fell', opened_at: opened, evidence: {} });
        const ack = async (token: string) => (await fetch(`${baseUrl}/v1/alerts/${concurrentId}/ack`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status;

        const tokens = ['admin', 'second', 'second', 'admin'];
        const statuses = await Promise.all(tokens.map(ack));
        const [event] = await store.listEvents({ event_ids: [concurrentId] });
        const winner = event.acknowledged_by === 'regulator-admin-1' ? 'admin' : 'second';
        // The winner's second request gets 200 when it raced the first and 409 when it came after.
        const loserStatuses = statuses.filter((_status, index) => tokens[index] !== winner);
        const winnerStatuses = statuses.filter((_status, index) => tokens[index] === winner);

        expect(loserStatuses).toEqual([409, 409]);
        expect(winnerStatuses).toContain(200);
        expect(winnerStatuses.every((status) => status === 200 || status === 409)).toBe(true);
    });

    // Last, because the acknowledgement and the DELETE change the alert and the silence.
    it.each([
        ['GET', '/public/production', 200, undefined],
        ['GET', '/assets', 200, undefined],
        ['GET', '/silences/{silence}', 200, undefined],
        ['DELETE', '/silences/{silence}', 200, undefined],
        ['POST', '/alerts/{event}/ack', 200, undefined],
        ['POST', '/alerts/{event}/resolve', 200, undefined],
        ['POST', '/ingest', 400, 'empty_body'],
    ])('should serve %s %s with only access_token', async (method, path, expectedStatus, expectedCode) => {
        const { status, body } = await call(method, `${path}?access_token=admin`, null);

        expect(status).toBe(expectedStatus);
        expect(body.error?.code).toBe(expectedCode);
    });
});
