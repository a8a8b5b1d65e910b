// Browser smoke test of the dashboard, run by hand:
//
//   npm run build                              # compiles the nodes into dist/ (the script bundles the client itself)
//   node test/browser/dashboard.smoke.mjs      # serves, screenshots with headless Chromium, checks the DOM
//   node test/browser/dashboard.smoke.mjs --serve   # only serves, on http://127.0.0.1:1880/dashboard/
//
// Besides screenshots, it drives one browser tab through the Chrome DevTools Protocol (over the
// `ws` package): sign in with the form, click a well on the map, acknowledge an alert.
//
// The script starts Node-RED through node-red-node-test-helper on 127.0.0.1 with the compiled page
// and widget nodes, a fake token verifier, the demo asset registry and a POST /auth/token endpoint.
// It feeds readings and alerts, then runs Chromium with every host name except 127.0.0.1
// unresolvable, so that anything loaded from another host would be missing from the page.
// Screenshots go to /tmp.
//
// Readings: the oil and gas rates of the Volve wells come from data/equinor-volve, using the latest
// producing day per well converted from Sm3/d to bopd and mmscfd. The 3W pressure trend comes from
// data/petrobras-3w, converted from Pa to psi. The 3W oil and gas rates are synthetic, because the
// 3W dataset has none. All timestamps are shifted to end now, as a live replay would.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildClient } from '../../dashboards/client/build.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serveOnly = process.argv.includes('--serve');
const port = Number(process.env.PORT ?? (serveOnly ? 1880 : 0));

const TOKENS = {
    'admin-token': { sub: 'ada', roles: ['regulator-admin'] },
    'petrobras-token': { sub: 'paulo', roles: ['operator'], operator: 'petrobras' },
    'equinor-token': { sub: 'erik', roles: ['operator'], operator: 'equinor' },
    'public-token': { sub: 'pub', roles: ['public'] },
};
const USERS = { ada: { password: 'demo', token: 'admin-token' }, paulo: { password: 'demo', token: 'petrobras-token' } };

const PA_TO_PSI = 0.000145038;
const SM3_TO_BBL = 6.28981;
const SM3_TO_MMSCF = 35.3147 / 1e6;

function fail(message) {
    console.error(`dashboard smoke: ${message}`);
    process.exit(1);
}

function compiledNode(name) {
    const file = join(root, 'dist', 'dashboards', name, `${name}.js`);
    if (!existsSync(file)) fail(`${file} is missing; run npm run build first.`);
    return require(file).default;
}

function findChromium() {
    for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
        if (existsSync(candidate)) return candidate;
    }
    return fail('Chromium is not installed; on Debian run apt-get install -y chromium.');
}

/** Latest producing day per Volve well bore (rows are in date order), as readings timestamped `at`. */
function volveReadings(assets, at) {
    const lines = readFileSync(join(root, 'data', 'equinor-volve', 'volve_daily_production.csv'), 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const column = (name) => header.indexOf(name);
    const latest = new Map();
    for (const line of lines.slice(1)) {
        const cells = line.split(',');
        const oil = Number(cells[column('BORE_OIL_VOL')]);
        if (!(oil > 0)) continue;
        latest.set(cells[column('WELL_BORE_CODE')], { oil, gas: Number(cells[column('BORE_GAS_VOL')]) || 0 });
    }
    const readings = [];
    for (const asset of assets.filter((entry) => entry.operator === 'equinor' && entry.type === 'well')) {
        const day = latest.get(asset.attributes?.well_bore_code);
        if (!day) continue;
        readings.push({ asset_id: asset.asset_id, metric: 'oil_rate', value: Math.round(day.oil * SM3_TO_BBL), unit: 'bopd', ts: at, quality_flag: 'GOOD' });
        readings.push({ asset_id: asset.asset_id, metric: 'gas_rate', value: Number((day.gas * SM3_TO_MMSCF).toFixed(3)), unit: 'mmscfd', ts: at, quality_flag: 'GOOD' });
    }
    return readings;
}

/** Reads the first `count` P-TPT samples of 3W WELL-00001 as readings one second apart, ending at `end`. */
function pressureSeries(count, end) {
    const lines = readFileSync(join(root, 'data', 'petrobras-3w', '0', 'WELL-00001_20170201020207.csv'), 'utf8').split('\n').slice(1, count + 1);
    return lines.map((line, index) => ({
        asset_id: '3w-well-00001',
        metric: 'pressure_tpt',
        value: Number((Number(line.split(',')[2]) * PA_TO_PSI).toFixed(1)),
        unit: 'psi',
        ts: new Date(end - (count - 1 - index) * 1000).toISOString(),
        quality_flag: 'GOOD',
    }));
}

function event(eventId, assetId, severity, state, minutesAgo, message, extra = {}) {
    return {
        event_id: eventId,
        rule_id: severity === 'P3' ? 'choke-drift' : 'tpt-pressure-high',
        asset_id: assetId,
        metric: 'pressure_tpt',
        severity,
        state,
        message,
        runbook: '/runbooks/tpt-pressure-high',
        opened_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
        evidence: {},
        ...extra,
    };
}

async function startDashboard() {
    const helper = require('node-red-node-test-helper');
    const assets = JSON.parse(readFileSync(join(root, 'data', 'assets.json'), 'utf8')).assets;
    helper.init(require.resolve('node-red'));
    helper.settings({
        upstreamLive: {
            verifyToken: async (token) => {
                const principal = TOKENS[token];
                if (!principal) throw new Error('token signature is invalid');
                return principal;
            },
            listAssets: async () => assets,
            apiBase: '/v1',
        },
    });
    helper._listenPort = port;
    await helper.startServer();

    let httpNode;
    const pageNode = compiledNode('ui-page');
    const capturingPage = (RED) => {
        httpNode = RED.httpNode;
        pageNode(RED);
    };
    const express = require('express');
    const requests = [];
    helper._app.use((req, _res, next) => {
        requests.push(req.url);
        next();
    });
    helper._app.post('/auth/token', express.json(), (req, res) => {
        const user = USERS[req.body?.username];
        if (!user || user.password !== req.body?.password) {
            res.status(401).json({ error: { code: 'invalid_credentials', message: 'Unknown username or wrong password.' } });
            return;
        }
        res.json({ access_token: user.token, token_type: 'Bearer', expires_in: 3600 });
    });
    // A stand-in for the REST API: history for the trend and the alert actions, recording the token.
    const apiCalls = [];
    helper._app.get('/v1/readings', (req, res) => {
        apiCalls.push({ call: `GET readings ${req.query.asset_id} ${req.query.metric}`, authorization: req.headers.authorization });
        const end = Date.parse(String(req.query.from)) + 23 * 3_600_000;
        const readings = Array.from({ length: 240 }, (_, index) => ({
            asset_id: req.query.asset_id,
            metric: req.query.metric,
            value: 1400 + index,
            unit: 'bopd',
            ts: new Date(end - (240 - index) * 60_000).toISOString(),
        }));
        res.json({ asset_id: req.query.asset_id, metric: req.query.metric, resolution: 'raw', count: readings.length, readings });
    });
    helper._app.post('/v1/alerts/:id/:action', (req, res) => {
        apiCalls.push({ call: `POST ${req.params.id} ${req.params.action}`, authorization: req.headers.authorization });
        const current = alertsById.get(req.params.id);
        if (!current) {
            res.status(404).json({ error: { code: 'not_found', message: `Alert "${req.params.id}" does not exist.` } });
            return;
        }
        const at = new Date().toISOString();
        const updated =
            req.params.action === 'ack'
                ? { ...current, state: 'acknowledged', acknowledged_by: 'ada', acknowledged_at: at }
                : { ...current, state: 'resolved', resolved_by: 'ada', resolved_at: at };
        alertsById.set(updated.event_id, updated);
        raise([updated]);
        res.json({ event: updated });
    });
    helper._app.use((req, res, next) => (httpNode ? httpNode(req, res, next) : next()));
    const alertsById = new Map();

    await helper.load(
        [capturingPage, compiledNode('ui-overview'), compiledNode('ui-map'), compiledNode('ui-trend'), compiledNode('ui-alerts')],
        [
            { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: 'Upstream Live — operations', interval: 250 },
            { id: 'overview', type: 'ul-ui-overview', page: 'page', name: 'Overview', activeWindowMinutes: 10 },
            { id: 'map', type: 'ul-ui-map', page: 'page', name: 'Assets', activeWindowMinutes: 10 },
            { id: 'trend', type: 'ul-ui-trend', page: 'page', name: 'Trend', points: 900, metric: 'oil_rate' },
            { id: 'alerts', type: 'ul-ui-alerts', page: 'page', name: 'Alerts', maxEvents: 200 },
        ],
    );

    const now = Date.now();
    const readingsNodes = ['overview', 'map', 'trend'].map((id) => helper.getNode(id));
    const feed = (readings) => {
        for (const node of readingsNodes) node.receive({ payload: readings });
    };
    const eventNodes = ['overview', 'map', 'alerts'].map((id) => helper.getNode(id));
    const raise = (events) => {
        for (const event of events) alertsById.set(event.event_id, event);
        for (const node of eventNodes) node.receive({ payload: events });
    };

    feed(volveReadings(assets, new Date(now).toISOString()));
    feed(pressureSeries(900, now));
    // Synthetic 3W rates: a steady level per well; two wells stopped reporting 40 minutes ago.
    const petrobrasWells = assets.filter((asset) => asset.operator === 'petrobras');
    petrobrasWells.forEach((asset, index) => {
        const at = new Date(index >= 12 ? now - 40 * 60_000 : now).toISOString();
        feed([
            { asset_id: asset.asset_id, metric: 'oil_rate', value: 900 + index * 137, unit: 'bopd', ts: at, quality_flag: 'GOOD' },
            { asset_id: asset.asset_id, metric: 'gas_rate', value: Number((0.4 + index * 0.09).toFixed(2)), unit: 'mmscfd', ts: at, quality_flag: 'GOOD' },
        ]);
    });
    const oil = [];
    for (let second = 899; second >= 0; second -= 1) {
        const value = 1600 + 120 * Math.sin((900 - second) / 90) + 25 * Math.sin((900 - second) / 7);
        oil.push({ asset_id: '3w-well-00001', metric: 'oil_rate', value: Math.round(value), unit: 'bopd', ts: new Date(now - second * 1000).toISOString(), quality_flag: 'GOOD' });
    }
    feed(oil);
    raise([
        event('ev-1001', '3w-well-00007', 'P1', 'open', 4, 'Pressure at the TPT above 4,350 psi for 5 minutes (4,412 psi).'),
        event('ev-1002', '3w-well-00011', 'P3', 'open', 22, 'Production choke opening drifted 6 % in one hour.'),
        event('ev-1003', 'volve-15-9-f-12', 'P2', 'acknowledged', 55, 'Wellhead pressure rising 40 psi/h.', { acknowledged_by: 'ada', acknowledged_at: new Date(now - 30 * 60_000).toISOString() }),
        event('ev-1000', '3w-well-00003', 'P1', 'resolved', 180, 'Pressure at the TPT above 4,350 psi for 5 minutes (4,380 psi).', { resolved_by: 'ada', resolved_at: new Date(now - 120 * 60_000).toISOString() }),
    ]);

    // New points every second, so that a browser left open shows a moving trend.
    let tick = 0;
    const live = setInterval(() => {
        tick += 1;
        const value = 1600 + 120 * Math.sin((900 + tick) / 90) + 25 * Math.sin((900 + tick) / 7);
        feed([{ asset_id: '3w-well-00001', metric: 'oil_rate', value: Math.round(value), unit: 'bopd', ts: new Date().toISOString(), quality_flag: 'GOOD' }]);
    }, 1_000);

    return {
        url: `${helper.url()}/dashboard/`,
        requests,
        apiCalls,
        stop: async () => {
            clearInterval(live);
            await helper.unload();
            await helper.stopServer();
        },
    };
}

/**
 * Runs headless Chromium with outside hosts unresolvable and returns its stdout. It runs as a
 * child process without blocking, because the dashboard server lives in this process.
 */
function chromium(args) {
    const child = spawn(
        findChromium(),
        [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--no-first-run',
            '--no-default-browser-check',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--disable-extensions',
            '--no-pings',
            '--no-proxy-server',
            '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
            '--hide-scrollbars',
            '--window-size=1280,800',
            '--virtual-time-budget=4000',
            ...args,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
        stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
        stderr += chunk;
    });
    return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', (err) => fail(`Chromium failed to start: ${err.message}`));
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            if (code !== 0) fail(`Chromium exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
            resolve(stdout);
        });
    });
}

/**
 * Opens `url` in a headless Chromium tab driven over the Chrome DevTools Protocol and calls
 * `steps(page)`, where `page.evaluate(expression)` returns the expression's value and
 * `page.waitFor(expression)` polls until it is truthy.
 */
async function withBrowserTab(url, steps) {
    const { WebSocket } = require('ws');
    const profile = mkdtempSync(join(tmpdir(), 'ul-smoke-profile-'));
    const child = spawn(
        findChromium(),
        [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--disable-extensions',
            '--no-pings',
            '--no-proxy-server',
            '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
            '--window-size=1280,800',
            '--remote-debugging-address=127.0.0.1',
            '--remote-debugging-port=0',
            `--user-data-dir=${profile}`,
            'about:blank',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
        const browserUrl = await new Promise((resolve, reject) => {
            let text = '';
            const timer = setTimeout(() => reject(new Error('Chromium printed no DevTools address within 20 s')), 20_000);
            child.stderr.on('data', (chunk) => {
                text += chunk;
                const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
                if (match) {
                    clearTimeout(timer);
                    resolve(match[1]);
                }
            });
        });
        const socket = new WebSocket(browserUrl);
        await new Promise((resolve, reject) => {
            socket.once('open', resolve);
            socket.once('error', reject);
        });
        let nextId = 1;
        const pending = new Map();
        socket.on('message', (data) => {
            const message = JSON.parse(data.toString());
            const waiter = pending.get(message.id);
            if (!waiter) return;
            pending.delete(message.id);
            if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
            else waiter.resolve(message.result);
        });
        const send = (method, params = {}, sessionId = undefined) =>
            new Promise((resolve, reject) => {
                const id = nextId++;
                pending.set(id, { resolve, reject, method });
                socket.send(JSON.stringify({ id, method, params, sessionId }));
            });

        const { targetId } = await send('Target.createTarget', { url });
        const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
        const evaluate = async (expression) => {
            const result = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
            if (result.exceptionDetails) throw new Error(`${expression}: ${result.exceptionDetails.exception?.description ?? result.exceptionDetails.text}`);
            return result.result.value;
        };
        const waitFor = async (expression, timeoutMs = 10_000) => {
            const deadline = Date.now() + timeoutMs;
            for (;;) {
                const value = await evaluate(expression).catch(() => undefined);
                if (value) return value;
                if (Date.now() > deadline) fail(`timed out waiting for ${expression}`);
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        };
        await steps({ evaluate, waitFor });
        // Browser.close ends the browser; its reply may not arrive, so it is not awaited.
        void send('Browser.close').catch(() => undefined);
        socket.close();
    } finally {
        const exited = new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve();
            else child.once('exit', resolve);
        });
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(kill);
        rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
}

async function interactionChecks(dashboard) {
    // The screenshot runs above used other tokens; only this tab's calls are checked.
    dashboard.apiCalls.length = 0;
    await withBrowserTab(dashboard.url, async (page) => {
        await page.waitFor(`document.querySelector('form.login') !== null`);
        check(true, 'tab without a token shows the login form');

        await page.evaluate(`(() => {
            const form = document.querySelector('form.login');
            form.username.value = 'ada';
            form.password.value = 'wrong';
            form.requestSubmit();
        })()`);
        const error = await page.waitFor(`document.querySelector('.login-error')?.textContent`);
        check(error.includes('wrong password'), 'wrong password shows the server message');

        await page.evaluate(`(() => {
            const form = document.querySelector('form.login');
            form.password.value = 'demo';
            form.requestSubmit();
        })()`);
        await page.waitFor(`document.querySelector('.indicator-live') !== null`);
        check((await page.evaluate(`document.querySelector('.user').textContent`)) === 'ada · regulator-admin', 'sign-in connects as ada');
        check(await page.evaluate(`sessionStorage.getItem('upstream-live.token') === 'admin-token'`), 'token is kept in sessionStorage');

        await page.waitFor(`document.querySelector('path.asset-3w-well-00007') !== null`);
        await page.evaluate(`document.querySelector('path.asset-3w-well-00007').dispatchEvent(new MouseEvent('click', { bubbles: true }))`);
        await page.waitFor(`document.querySelector('.trend select').value === '3w-well-00007'`);
        check(true, 'clicking a well on the map selects it in the trend');
        const note = await page.waitFor(`document.querySelector('.trend footer').textContent`);
        check(note.includes('240 points of history loaded'), 'trend loads history from the API');

        const ackButton = `[...document.querySelectorAll('.alert')].find((row) => row.textContent.includes('3w-well-00007'))?.querySelector('.actions button')`;
        check((await page.evaluate(`${ackButton}?.textContent`)) === 'Acknowledge', 'open alert offers Acknowledge');
        await page.evaluate(`${ackButton}.click()`);
        await page.waitFor(`[...document.querySelectorAll('.alert')].some((row) => row.textContent.includes('3w-well-00007') && row.classList.contains('state-acknowledged'))`);
        check(true, 'acknowledging updates the alert in place');

        await page.evaluate(`document.querySelector('.logout').click()`);
        await page.waitFor(`document.querySelector('form.login') !== null`);
        check(await page.evaluate(`sessionStorage.getItem('upstream-live.token') === null`), 'logout forgets the token');
    });
    const calls = dashboard.apiCalls.map((entry) => entry.call);
    check(calls.includes('GET readings 3w-well-00007 oil_rate'), 'history request names the asset and metric');
    check(calls.includes('POST ev-1001 ack'), 'acknowledge calls POST /v1/alerts/ev-1001/ack');
    check(dashboard.apiCalls.every((entry) => entry.authorization === 'Bearer admin-token'), 'API calls carry the bearer token');
}

function check(condition, message) {
    if (!condition) fail(`check failed: ${message}`);
    console.log(`ok  ${message}`);
}

await buildClient({ root });
const dashboard = await startDashboard();
console.log(`dashboard smoke: serving ${dashboard.url} (tokens: ${Object.keys(TOKENS).join(', ')}; users ada/demo, paulo/demo)`);

if (serveOnly) {
    process.on('SIGINT', () => dashboard.stop().then(() => process.exit(0)));
} else {
    const shots = {
        regulator: '/tmp/dashboard-smoke-regulator.png',
        operator: '/tmp/dashboard-smoke-operator.png',
        northSea: '/tmp/dashboard-smoke-north-sea.png',
        login: '/tmp/dashboard-smoke-login.png',
    };
    await chromium([`--screenshot=${shots.regulator}`, `${dashboard.url}#token=admin-token`]);
    await chromium([`--screenshot=${shots.operator}`, `${dashboard.url}#token=petrobras-token`]);
    await chromium([`--screenshot=${shots.northSea}`, `${dashboard.url}#token=equinor-token`]);
    await chromium([`--screenshot=${shots.login}`, dashboard.url]);
    const dom = await chromium(['--dump-dom', `${dashboard.url}#token=admin-token`]);
    const operatorDom = await chromium(['--dump-dom', `${dashboard.url}#token=petrobras-token`]);
    await interactionChecks(dashboard);
    await dashboard.stop();

    for (const file of Object.values(shots)) check(existsSync(file) && statSync(file).size > 10_000, `screenshot ${file} written`);
    check(dom.includes('indicator-live'), 'regulator view is connected');
    check(dom.includes('ada · regulator-admin'), 'regulator view names the signed-in user');
    check((dom.match(/<li class="alert /g) ?? []).length === 4, 'regulator view lists 4 alerts');
    check((dom.match(/leaflet-interactive/g) ?? []).length >= 14, 'map draws the asset markers');
    check(dom.includes('class="u-over"'), 'trend chart is drawn');
    check(operatorDom.includes('(petrobras)') && !operatorDom.includes('volve-15-9-f-12'), 'operator view hides the other operator');
    check(!dashboard.requests.some((url) => /^https?:/.test(url)), 'no proxied requests for other hosts');
    const paths = new Set(dashboard.requests.map((url) => url.split('?')[0]));
    console.log(`dashboard smoke: requests served: ${[...paths].join(', ')}`);
}
