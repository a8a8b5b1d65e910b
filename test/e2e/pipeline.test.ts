// The whole demo on real files: edge replay → MQTT → cloud verify, normalize and store → rules
// and alerts. Also the Volve report import, the API, the live stream, a cloud restart mid-replay,
// and a restart of the whole demo on the same data folder.
import { readFileSync } from 'node:fs';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatFlows } from '../../lib/flows/canonical';
import type { FlowNode } from '../../lib/flows/model';
import { signEnvelope } from '../../lib/signing/envelope';
import { loadPrivateKey } from '../../lib/signing/keys';
import type { AlertEvent, Reading } from '../../lib/types';
import { demoPassword, getJson, login, ROOT, startDemo, until, type DemoProcess } from '../support/demo-process';
import { readThreeW } from '../support/threew';

const DATA = join(ROOT, 'data');
const WELLS = [
    { asset: '3w-well-00004', file: 'petrobras-3w/6/WELL-00004_20171031193025.csv' },
    { asset: '3w-well-00012', file: 'petrobras-3w/2/WELL-00012_20170320143144.csv' },
    { asset: '3w-well-00007', file: 'petrobras-3w/0/WELL-00007_20170801180000.csv' },
];
const VOLVE_FILE = 'volve_daily_production.csv';
const SPEED = '300';
/** The demo rule that catches the quick restriction of the production choke in WELL-00004. */
const CHOKE_RULE = { id: 'choke-upstream-pressure-rise', severity: 'P2' };

const files = new Map(WELLS.map((well) => [well.asset, readThreeW(join(DATA, well.file))]));

/** Volve readings the import must store: non-empty numeric cells of rows without a negative volume. */
function expectedVolve(): { readings: number; negativeRows: number; oilDaysF12: number } {
    const [header, ...lines] = readFileSync(join(DATA, 'equinor-volve', VOLVE_FILE), 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean);
    const columns = header.split(',');
    const numeric = ['ON_STREAM_HRS', 'AVG_DOWNHOLE_PRESSURE', 'AVG_DOWNHOLE_TEMPERATURE', 'AVG_DP_TUBING', 'AVG_ANNULUS_PRESS', 'AVG_CHOKE_SIZE_P', 'AVG_WHP_P', 'AVG_WHT_P', 'DP_CHOKE_SIZE', 'BORE_OIL_VOL', 'BORE_GAS_VOL', 'BORE_WAT_VOL', 'BORE_WI_VOL'].map((c) => columns.indexOf(c));
    const volumes = ['BORE_OIL_VOL', 'BORE_GAS_VOL', 'BORE_WAT_VOL', 'BORE_WI_VOL'].map((c) => columns.indexOf(c));
    const well = columns.indexOf('NPD_WELL_BORE_NAME');
    const oil = columns.indexOf('BORE_OIL_VOL');
    let readings = 0;
    let negativeRows = 0;
    let oilDaysF12 = 0;
    for (const line of lines) {
        const cells = line.split(',');
        if (volumes.some((i) => cells[i] !== '' && Number(cells[i]) < 0)) {
            negativeRows++;
            continue;
        }
        readings += numeric.filter((i) => cells[i] !== '').length;
        if (cells[well] === '15/9-F-12' && cells[oil] !== '') oilDaysF12++;
    }
    return { readings, negativeRows, oilDaysF12 };
}

let dataDir: string;
let flowsDir: string;
let demo: DemoProcess;
let token: string;

async function series(asset: string, metric: string): Promise<Reading[]> {
    const body = await getJson<{ readings: Reading[] }>(`${demo.baseUrl}/v1/readings?asset_id=${asset}&metric=${metric}&limit=100000`, token);
    return body.readings;
}

/** True when every replayed metric of every well has all its rows stored. */
async function replayComplete(): Promise<boolean> {
    for (const [asset, file] of files) {
        for (const [metric, values] of file.series) {
            if ((await series(asset, metric)).length < values.length) return false;
        }
    }
    return true;
}

beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ul-e2e-'));
    // Deploys in the test write to a copy of the flow files, never to the versioned ones.
    flowsDir = join(dataDir, 'flows');
    cpSync(join(ROOT, 'flows'), flowsDir, { recursive: true });
    demo = await startDemo(dataDir, ['--speed', SPEED, '--loop', 'false'], { UL_FLOWS_DIR: flowsDir });
    await demo.waitFor('Upstream Live is running', 120_000);
    token = await login(demo.baseUrl, 'admin', demoPassword(dataDir, 'admin'));
}, 150_000);

afterAll(async () => {
    if (demo) await demo.stop().catch(() => undefined);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 90_000);

describe('demo pipeline on real data', () => {
    it('should stream live readings over WebSocket', async () => {
        const socket = new WebSocket(`${demo.baseUrl.replace('http', 'ws')}/v1/stream/readings?access_token=${token}`);
        const readings: Reading[] = [];
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no readings frame within 20 s; got ${readings.length} readings`)), 20_000);
            socket.on('message', (data) => {
                const frame = JSON.parse(data.toString()) as { type: string; readings?: Reading[] };
                if (frame.type === 'readings') {
                    readings.push(...(frame.readings ?? []));
                    clearTimeout(timer);
                    resolve();
                }
            });
            socket.on('error', reject);
        });
        socket.close();

        expect(readings.length).toBeGreaterThan(0);
        expect(readings[0].unit).toBeTruthy();
    });

    it('should keep every reading when the cloud restarts mid-replay', async () => {
        // Wait until the long normal-operation file is partly stored, then stop the cloud.
        await until('first readings of 3w-well-00007', async () => ((await series('3w-well-00007', 'pressure_tpt')).length >= 1500 ? true : undefined), 60_000, 250);
        const pid = Number(readFileSync(join(dataDir, 'run', 'cloud.pid'), 'utf8'));
        const readyLines = () => demo.output().split('cloud runtime ready').length - 1;
        expect(readyLines()).toBe(1);
        process.kill(pid, 'SIGTERM');
        await until('cloud runtime restarted', async () => (readyLines() >= 2 ? true : undefined), 60_000, 250);
        await until('replay stored completely', async () => ((await replayComplete()) ? true : undefined), 120_000, 1000);

        for (const [asset, file] of files) {
            for (const [metric, values] of file.series) {
                const stored = await series(asset, metric);
                expect(stored.length, `${asset} ${metric}`).toBe(values.length);
                const timestamps = new Set(stored.map((r) => r.ts));
                expect(timestamps.size, `${asset} ${metric} distinct timestamps`).toBe(values.length);
            }
        }

        // Counters start at zero in the restarted cloud, which may have had little left to store.
        const response = await fetch(`${demo.baseUrl}/metrics`);
        expect(response.headers.get('content-type')).toContain('text/plain');
        expect(await response.text()).toMatch(/^# TYPE ul_\w+ (counter|gauge)$/m);
    }, 240_000);

    it('should store values equal to the file after unit conversion', async () => {
        for (const [asset, file] of files) {
            for (const metric of ['pressure_tpt', 'temp_tpt']) {
                const expected = file.series.get(metric) ?? [];
                const stored = (await series(asset, metric)).map((r) => r.value as number);
                expect(stored.length, `${asset} ${metric}`).toBe(expected.length);
                stored.forEach((value, index) => {
                    expect(Math.abs(value - expected[index]), `${asset} ${metric} row ${index + 1}`).toBeLessThanOrEqual(Math.abs(expected[index]) * 1e-9 + 1e-9);
                });
            }
        }
    });

    it('should raise an alert for the real choke restriction', async () => {
        const events = await until(
            'an alert for 3w-well-00004',
            async () => {
                const body = await getJson<{ events: AlertEvent[] }>(`${demo.baseUrl}/v1/events`, token);
                const mine = body.events.filter((event) => event.asset_id === '3w-well-00004');
                return mine.length ? mine : undefined;
            },
            30_000,
        );
        const file = files.get('3w-well-00004')!;
        const firstTransient = file.labels.findIndex((label) => label !== null && label !== '0');
        const stored = await series('3w-well-00004', 'pressure_tpt');
        const eventStart = stored[firstTransient].ts;

        const choke = events.filter((event) => event.rule_id === CHOKE_RULE.id);
        expect(choke.length, `alerts: ${JSON.stringify(events.map((e) => [e.rule_id, e.opened_at]))}`).toBeGreaterThanOrEqual(1);
        expect(choke[0].severity).toBe(CHOKE_RULE.severity);
        expect(Date.parse(choke[0].opened_at)).toBeGreaterThanOrEqual(Date.parse(eventStart));
        expect(events.every((event) => Date.parse(event.opened_at) >= Date.parse(eventStart))).toBe(true);
    });

    it('should import the Volve report and quarantine its bad rows', async () => {
        const expected = expectedVolve();
        const quarantine = await until(
            'Volve rejections in the quarantine',
            async () => {
                const body = await getJson<{ quarantine: { code: string; ref: string; reason: string }[] }>(`${demo.baseUrl}/v1/quarantine?source=report:${VOLVE_FILE}`, token);
                return body.quarantine.length >= expected.negativeRows ? body.quarantine : undefined;
            },
            90_000,
        );
        expect(quarantine.length).toBe(expected.negativeRows);
        expect(quarantine.every((row) => row.code === 'negative_volume')).toBe(true);
        expect(quarantine.map((row) => Number(row.ref)).sort((a, b) => a - b)).toEqual([1984, 3504, 5352, 6560]);

        await until('Volve oil days of 15/9-F-12', async () => ((await series('volve-15-9-f-12', 'oil_rate')).length >= expected.oilDaysF12 ? true : undefined), 90_000);
        expect((await series('volve-15-9-f-12', 'oil_rate')).length).toBe(expected.oilDaysF12);
    }, 200_000);

    it('should reject bad ingest lines with their reasons and quarantine them', async () => {
        const key = loadPrivateKey(join(dataDir, 'keys', 'edge-petrobras-01.key'));
        const now = Date.now();
        const base = { asset_id: '3w-well-00004', metric: 'pressure_tpt', value: 2000, unit: 'psi', ts: new Date(now - 1000).toISOString(), quality_flag: 'GOOD' };
        let seq = 9_000_000_000;
        const line = (reading: Record<string, unknown>, tamper?: (envelope: Record<string, unknown>) => void) => {
            const envelope = signEnvelope(
                { v: 1, device_id: 'edge-petrobras-01', cert_id: 'cert-edge-petrobras-01', seq: seq++, operator: 'petrobras', readings: [reading as unknown as Reading] },
                key,
            ) as unknown as Record<string, unknown>;
            tamper?.(envelope);
            return JSON.stringify(envelope);
        };
        const valid = line(base);
        const implausible = line({ ...base, ts: new Date(now - 500).toISOString(), value: 1e12 });
        const { unit: _unit, ...withoutUnit } = base;
        const cases: { name: string; text: string; codes: string[]; mentions: string }[] = [
            { name: 'malformed JSON', text: '{"v":1,"device_id":', codes: ['malformed_json'], mentions: 'JSON' },
            { name: 'unknown metric', text: line({ ...base, metric: 'pressure_tbp' }), codes: ['unknown_metric'], mentions: 'pressure_tbp' },
            { name: 'wrong unit', text: line({ ...base, unit: 'degC' }), codes: ['wrong_unit'], mentions: 'degC' },
            { name: 'missing field', text: line(withoutUnit), codes: ['missing_field', 'invalid_envelope'], mentions: 'unit' },
            { name: 'non-numeric value', text: line({ ...base, value: 'abc' }), codes: ['non_numeric_value', 'invalid_envelope'], mentions: 'abc' },
            { name: 'future timestamp', text: line({ ...base, ts: new Date(now + 3_600_000).toISOString() }), codes: ['future_timestamp'], mentions: new Date(now + 3_600_000).toISOString().slice(0, 16) },
            { name: 'unknown asset', text: line({ ...base, asset_id: '3w-well-99999' }), codes: ['unknown_asset', 'asset_not_allowed'], mentions: '3w-well-99999' },
            { name: 'bad signature', text: line(base, (envelope) => { (envelope.readings as Record<string, unknown>[])[0].value = 1; }), codes: ['bad_signature'], mentions: 'signature' },
        ];
        // The last line sends the first line's reading again, in a new envelope.
        const resent = line(base);
        const body = [valid, implausible, ...cases.map((c) => c.text), resent].join('\n');
        const response = await fetch(`${demo.baseUrl}/v1/ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body });
        const result = (await response.json()) as {
            accepted: number;
            rejected: number;
            flagged_readings: number;
            duplicate_readings: number;
            results: { line: number; status: string; code?: string; reason?: string; flagged_readings?: number; readings?: number; duplicate_readings?: number }[];
        };

        expect(response.status).toBe(207);
        expect(result.accepted).toBe(3);
        expect(result.results[0].status).toBe('accepted');
        expect(result.results[1].status).toBe('accepted');
        expect(result.results[1].flagged_readings).toBe(1);
        expect(result.flagged_readings).toBe(1);
        const duplicate = result.results[cases.length + 2];
        expect(duplicate.status).toBe('accepted');
        expect(duplicate.readings).toBe(0);
        expect(duplicate.duplicate_readings).toBe(1);
        expect(result.duplicate_readings).toBe(1);
        cases.forEach((c, index) => {
            const outcome = result.results[index + 2];
            expect(outcome.status, c.name).toBe('rejected');
            expect(c.codes, `${c.name}: got ${outcome.code}`).toContain(outcome.code);
            expect(outcome.reason, c.name).toContain(c.mentions);
        });

        const stored = await getJson<{ quarantine: { code: string; source: string }[] }>(`${demo.baseUrl}/v1/quarantine?source=api:ingest`, token);
        expect(stored.quarantine.length).toBe(cases.length);
    });

    it('should publish monthly Volve volumes to the public role', async () => {
        const [header, ...lines] = readFileSync(join(DATA, 'equinor-volve', VOLVE_FILE), 'utf8').split(/\r?\n/).filter(Boolean);
        const columns = header.split(',');
        const at = (name: string) => columns.indexOf(name);
        const volumes = ['BORE_OIL_VOL', 'BORE_GAS_VOL', 'BORE_WAT_VOL', 'BORE_WI_VOL'].map(at);
        const oilByMonth = new Map<string, number>();
        const wellsByMonth = new Map<string, Set<string>>();
        for (const line of lines) {
            const cells = line.split(',');
            if (volumes.some((i) => cells[i] !== '' && Number(cells[i]) < 0)) continue;
            const month = cells[at('DATEPRD')].slice(0, 7);
            if (['BORE_OIL_VOL', 'BORE_GAS_VOL', 'BORE_WAT_VOL'].some((name) => cells[at(name)] !== '')) {
                wellsByMonth.set(month, (wellsByMonth.get(month) ?? new Set()).add(cells[at('NPD_WELL_BORE_NAME')]));
            }
            if (cells[at('BORE_OIL_VOL')] !== '') oilByMonth.set(month, (oilByMonth.get(month) ?? 0) + Number(cells[at('BORE_OIL_VOL')]));
        }
        const publicToken = await login(demo.baseUrl, 'public', demoPassword(dataDir, 'public'));
        const body = await getJson<{ months: { field: string; month: string; oil_bbl: number | null; wells: number }[] }>(`${demo.baseUrl}/v1/public/production`, publicToken);
        const volve = body.months.filter((row) => row.field === 'VOLVE');
        const publishable = [...wellsByMonth].filter(([, wells]) => wells.size >= 3).map(([month]) => month).sort();

        expect(volve.map((row) => row.month)).toEqual(publishable);
        for (const row of volve) {
            // Sm3 of oil to barrels: 1 bbl = 0.158987294928 m3.
            const expected = (oilByMonth.get(row.month) ?? 0) / 0.158987294928;
            expect(Math.abs((row.oil_bbl ?? 0) - expected), row.month).toBeLessThan(0.05);
            expect(row.wells, row.month).toBe(wellsByMonth.get(row.month)!.size);
        }
    });

    it('should answer API errors as JSON with the fix', async () => {
        const badJson = await fetch(`${demo.baseUrl}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' });
        const noToken = await fetch(`${demo.baseUrl}/v1/assets`);
        const publicToken = await login(demo.baseUrl, 'public', demoPassword(dataDir, 'public'));
        const forPublic = await fetch(`${demo.baseUrl}/v1/assets`, { headers: { authorization: `Bearer ${publicToken}` } });
        const operatorToken = await login(demo.baseUrl, 'equinor-ops', demoPassword(dataDir, 'equinor-ops'));
        const otherOperator = await fetch(`${demo.baseUrl}/v1/readings?asset_id=3w-well-00004`, { headers: { authorization: `Bearer ${operatorToken}` } });
        const ownAssets = await getJson<{ assets: { operator: string }[] }>(`${demo.baseUrl}/v1/assets`, operatorToken);

        expect(badJson.status).toBe(400);
        expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
        expect(noToken.status).toBe(401);
        expect(((await noToken.json()) as { error: { message: string } }).error.message).toContain('/auth/token');
        expect(forPublic.status).toBe(403);
        expect(otherOperator.status).toBe(404);
        expect(ownAssets.assets.length).toBeGreaterThan(0);
        expect(ownAssets.assets.every((asset) => asset.operator === 'equinor')).toBe(true);
    });

    it('should offer the site templates in the editor import library', async () => {
        const editor = `${demo.baseUrl}/editor`;
        const login = await fetch(`${editor}/auth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: demoPassword(dataDir, 'admin') }).toString(),
        });
        const headers = { authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };

        const listing = (await (await fetch(`${editor}/library/examples/flows/upstream-live/site-templates`, { headers })).json()) as { fn?: string }[];
        const flow = (await (await fetch(`${editor}/library/examples/flows/upstream-live/site-templates/replay-site`, { headers })).json()) as { type: string }[];

        expect(listing.map((entry) => entry.fn).sort()).toEqual(['modbus-flow-station', 'opcua-well-pad', 'replay-site']);
        expect(flow.map((node) => node.type)).toEqual(expect.arrayContaining(['tab', 'ul-replay', 'ul-tag-map', 'ul-sign', 'ul-forward-queue']));
    });

    it('should record a deploy and refuse it to other roles', async () => {
        const editor = `${demo.baseUrl}/editor`;
        const editorToken = async (username: string) => {
            const response = await fetch(`${editor}/auth/token`, {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username, password: demoPassword(dataDir, username) }).toString(),
            });
            return { status: response.status, token: response.ok ? ((await response.json()) as { access_token: string }).access_token : '' };
        };
        const admin = await editorToken('admin');
        const analyst = await editorToken('analyst');
        const operator = await editorToken('petrobras-ops');
        const current = (await (await fetch(`${editor}/flows`, { headers: { authorization: `Bearer ${admin.token}`, 'Node-RED-API-Version': 'v2' } })).json()) as { rev: string; flows: { id: string }[] };
        const edited = current.flows.map((node) => (node.id === 'ingest-normalize' ? { ...node, maxFutureSeconds: 600 } : node));
        const deploy = (token: string) =>
            fetch(`${editor}/flows`, {
                method: 'POST',
                headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'nodes' },
                body: JSON.stringify({ rev: current.rev, flows: edited }),
            });

        expect(admin.status).toBe(200);
        expect(operator.status).not.toBe(200);
        expect((await deploy('')).status).toBe(401);
        expect((await deploy(analyst.token)).status).toBe(401);
        expect((await deploy(admin.token)).status).toBe(200);
        // The storage module writes the deployed flows in canonical form, byte for byte.
        expect(readFileSync(join(flowsDir, 'cloud.json'), 'utf8')).toBe(formatFlows(edited as FlowNode[]));

        const audit = await until(
            'the deploy in the audit log',
            async () => {
                const body = await getJson<{ entries: { actor: string; action: string; details: { nodes: { changed: string[] } } }[]; chain_valid: boolean }>(`${demo.baseUrl}/v1/audit?verify=true`, token);
                return body.entries.some((entry) => entry.action === 'flows.deploy') ? body : undefined;
            },
            20_000,
        );
        const entry = audit.entries.find((candidate) => candidate.action === 'flows.deploy')!;
        expect(entry.actor).toBe('admin');
        expect(entry.details.nodes.changed).toEqual(['normalize (ul-normalize, ingest-normalize)']);
        expect(audit.chain_valid).toBe(true);
    });

    it('should resume with the stored data after a full restart', async () => {
        const before = new Map<string, number>();
        for (const [asset, file] of files) for (const metric of file.series.keys()) before.set(`${asset}/${metric}`, (await series(asset, metric)).length);

        expect(await demo.stop()).toBe(0);
        demo = await startDemo(dataDir, ['--speed', SPEED, '--loop', 'false'], { UL_FLOWS_DIR: flowsDir, UL_REPLAY_FILE_A: '', UL_REPLAY_FILE_B: '', UL_REPLAY_FILE_C: '' });
        await demo.waitFor('Upstream Live is running', 120_000);
        token = await login(demo.baseUrl, 'admin', demoPassword(dataDir, 'admin'));

        for (const [key, count] of before) {
            const [asset, metric] = key.split('/');
            expect((await series(asset, metric)).length, key).toBeGreaterThanOrEqual(count);
        }
        const events = await getJson<{ events: AlertEvent[] }>(`${demo.baseUrl}/v1/events`, token);
        expect(events.events.some((event) => event.asset_id === '3w-well-00004')).toBe(true);
    }, 200_000);
});
