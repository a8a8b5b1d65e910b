// Browser check of the forecast on the trend widget, run by hand:
//
//   npm run build                              # compiles the nodes into dist/
//   node test/browser/forecast.smoke.mjs       # exits 0 when every check passes
//
// The script bundles the browser client, starts Node-RED through node-red-node-test-helper on
// 127.0.0.1 with the compiled page, trend and anomaly nodes, and opens the page in headless
// Chromium (/usr/bin/chromium, driven over the Chrome DevTools Protocol with the `ws` package;
// no browser is downloaded). Every host name except 127.0.0.1 is unresolvable in that browser.
//
// Readings: the first 40 minutes of P-TPT of 3W WELL-00007 from data/petrobras-3w, converted
// from Pa to psi, with timestamps shifted to end now. The trend first gets the readings alone,
// and the chart must contain no forecast colour. Then an anomaly node in forecast mode, which
// learns for 10 minutes, gets the same readings and sends its next-24-hour forecast to the
// trend. The chart canvas must then contain the shaded band.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildClient } from '../../dashboards/client/build.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PA_PER_PSI = 6894.757293168;
const ASSET = '3w-well-00007';
const MINUTES = 40;

function fail(message) {
    console.error(`forecast smoke: ${message}`);
    process.exit(1);
}

function check(condition, message) {
    if (!condition) fail(`check failed: ${message}`);
    console.log(`ok  ${message}`);
}

function compiled(path) {
    const file = join(root, 'dist', path);
    if (!existsSync(file)) fail(`${file} is missing; run npm run build first.`);
    return require(file).default;
}

/** P-TPT of WELL-00007, one reading a second, ending at `end` (epoch milliseconds). */
function pressureReadings(end) {
    const count = MINUTES * 60;
    const file = join(root, 'data', 'petrobras-3w', '0', 'WELL-00007_20170801180000.csv');
    const [header, ...lines] = readFileSync(file, 'utf8').split('\n');
    const column = header.split(',').indexOf('P-TPT');
    return lines.slice(0, count).map((line, index) => ({
        asset_id: ASSET,
        metric: 'pressure_tpt',
        value: Number(line.split(',')[column]) / PA_PER_PSI,
        unit: 'psi',
        ts: new Date(end - (count - 1 - index) * 1000).toISOString(),
        quality_flag: 'GOOD',
    }));
}

async function startServer() {
    const helper = require('node-red-node-test-helper');
    helper.init(require.resolve('node-red'));
    helper._listenPort = 0;
    await helper.startServer();

    let httpNode;
    const pageNode = compiled('dashboards/ui-page/ui-page.js');
    const capturingPage = (RED) => {
        httpNode = RED.httpNode;
        pageNode(RED);
    };
    helper._app.use((req, res, next) => (httpNode ? httpNode(req, res, next) : next()));

    await helper.load(
        [capturingPage, compiled('dashboards/ui-trend/ui-trend.js'), compiled('nodes/anomaly/anomaly.js')],
        [
            { id: 'page', type: 'ul-ui-page', path: '/dashboard', title: 'Forecast check', interval: 100 },
            { id: 'trend', type: 'ul-ui-trend', page: 'page', name: 'Trend', points: 3600, metric: 'pressure_tpt' },
            { id: 'anomaly', type: 'ul-anomaly', detector: 'forecast', learn: '10m', forecastEvery: '15m', wires: [[], [], ['trend']] },
        ],
    );
    return {
        helper,
        url: `${helper.url()}/dashboard/`,
        stop: async () => {
            await helper.unload();
            await helper.stopServer();
        },
    };
}

/**
 * Opens `url` in a headless Chromium tab and calls `steps(page)`, where `page.evaluate(expression)`
 * returns the expression's value and `page.waitFor(expression)` polls until it is truthy.
 */
async function withBrowserTab(url, steps) {
    const { WebSocket } = require('ws');
    if (!existsSync('/usr/bin/chromium')) fail('Chromium is not installed; on Debian run apt-get install -y chromium.');
    const profile = mkdtempSync(join(tmpdir(), 'ul-forecast-profile-'));
    const child = spawn(
        '/usr/bin/chromium',
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
            '--force-device-scale-factor=1',
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
        const waitFor = async (expression, timeoutMs = 15_000) => {
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

/**
 * Counts the pixels of the trend canvas that have the band fill, rgba(217, 130, 43, 0.18): the
 * canvas has no background, so a band pixel keeps that colour with an alpha of about 46.
 */
const BAND_PIXELS = `new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => {
    const canvas = document.querySelector('.trend canvas');
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
        const near = Math.abs(data[i] - 217) < 16 && Math.abs(data[i + 1] - 130) < 16 && Math.abs(data[i + 2] - 43) < 16;
        if (near && data[i + 3] > 25 && data[i + 3] < 70) count++;
    }
    resolve(count);
})))`;

await buildClient({ root });
const server = await startServer();
const readings = pressureReadings(Date.now());
server.helper.getNode('trend').receive({ payload: readings });

try {
    await withBrowserTab(server.url, async (page) => {
        await page.waitFor(`document.querySelector('.indicator-live') !== null`);
        await page.waitFor(`document.querySelector('.trend select').value === '${ASSET}'`);
        await page.waitFor(`document.querySelector('.trend .latest').textContent.includes('psi')`);
        const before = await page.evaluate(BAND_PIXELS);
        check(before === 0, `chart without a forecast has no band pixels (${before})`);

        server.helper.getNode('anomaly').receive({ payload: readings });
        const note = await page.waitFor(`document.querySelector('.trend footer').textContent.includes('forecast from') && document.querySelector('.trend footer').textContent`);
        check(note.includes('UTC'), `footer names the forecast time: ${note}`);
        const after = await page.evaluate(BAND_PIXELS);
        check(after > 2_000, `forecast band is drawn (${after} band pixels)`);
    });
} finally {
    await server.stop();
}
