// Benchmark of the one-command demo: readings per second from the edge replay to stored rows.
// The baseline, measured in the same run, writes the same number of readings straight into a
// fresh embedded store in batches of 2,000. Also prints start-up time and peak memory per process.
//
//   npm run build && node test/bench/pipeline.bench.mjs
//
// Prints its figures; it asserts nothing, so it is not part of `npm test`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { openStore, closeAllStores } = require(join(root, 'dist/lib/store/index.js'));

const FILES = ['petrobras-3w/6/WELL-00004_20171031193025.csv', 'petrobras-3w/2/WELL-00012_20170320143144.csv', 'petrobras-3w/0/WELL-00007_20170801180000.csv'];
const MAPPED = new Set(['P-PDG', 'P-TPT', 'T-TPT', 'P-MON-CKP', 'T-JUS-CKP', 'P-JUS-CKGL', 'T-JUS-CKGL', 'QGL']);

/** Non-empty mapped cells of a 3W file: the readings its replay produces. */
function countReadings(file) {
    const [header, ...lines] = readFileSync(join(root, 'data', file), 'utf8').split(/\r?\n/).filter(Boolean);
    const columns = header.split(',').map((name) => MAPPED.has(name));
    let count = 0;
    for (const line of lines) line.split(',').forEach((cell, index) => { if (columns[index] && cell !== '') count++; });
    return count;
}

async function freePort() {
    return new Promise((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
    });
}

function peakRssMb(pid) {
    try {
        const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
        return Math.round(Number(line.split(/\s+/)[1]) / 1024);
    } catch {
        return NaN;
    }
}

async function baseline(total) {
    const dir = mkdtempSync(join(tmpdir(), 'ul-bench-store-'));
    const store = await openStore({ engine: 'pglite', dataDir: join(dir, 'db') });
    const start = Date.parse('2026-01-01T00:00:00Z');
    const readings = Array.from({ length: total }, (_, i) => ({
        asset_id: `bench-${i % 3}`, metric: 'pressure_tpt', value: 2000 + (i % 100), unit: 'psi', ts: new Date(start + i * 1000).toISOString(), quality_flag: 'GOOD',
    }));
    const started = performance.now();
    for (let i = 0; i < readings.length; i += 2000) await store.writeReadings(readings.slice(i, i + 2000));
    const seconds = (performance.now() - started) / 1000;
    await store.close();
    await closeAllStores?.();
    rmSync(dir, { recursive: true, force: true });
    return total / seconds;
}

async function pipeline(total) {
    const dataDir = mkdtempSync(join(tmpdir(), 'ul-bench-demo-'));
    const port = await freePort();
    const args = ['bin/upstream-live.js', 'start', '--data-dir', dataDir, '--port', String(port), '--edge-port', String(await freePort()), '--mqtt-port', String(await freePort()),
        '--speed', '1000000', '--loop', 'false', '--import-demo-report', 'false'];
    const launched = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, UL_LOG_FORMAT: 'json', UL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });

    const readyMs = await new Promise((resolve, reject) => {
        const timer = setInterval(() => {
            const match = output.match(/ready in ([\d.]+) s/);
            if (match) { clearInterval(timer); resolve(performance.now() - launched); }
            if (child.exitCode !== null) { clearInterval(timer); reject(new Error(output)); }
        }, 50);
    });
    const pids = { supervisor: child.pid, cloud: Number(readFileSync(join(dataDir, 'run', 'cloud.pid'), 'utf8')), edge: Number(readFileSync(join(dataDir, 'run', 'edge.pid'), 'utf8')) };

    let first;
    let stored = 0;
    const deadline = Date.now() + 300_000;
    while (stored < total && Date.now() < deadline) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        stored = Number(text.match(/^ul_readings_stored_total (\d+)/m)?.[1] ?? 0);
        if (stored > 0 && first === undefined) first = { at: performance.now(), stored };
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const done = performance.now();
    const memory = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, peakRssMb(pid)]));
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
    // Readings stored before the first poll saw any are left out of both the count and the time.
    const rate = (stored - first.stored) / ((done - first.at) / 1000);
    return { stored, rate, readyMs, memory };
}

const total = FILES.reduce((sum, file) => sum + countReadings(file), 0);
console.log(`readings in the three replayed 3W files: ${total.toLocaleString('en')}`);
const base = await baseline(total);
console.log(`baseline  store.writeReadings, 2,000 per batch, fresh PGlite: ${Math.round(base).toLocaleString('en')} readings/s`);
const result = await pipeline(total);
console.log(`pipeline  replay → tag map → sign → MQTT → verify → normalize → store: ${Math.round(result.rate).toLocaleString('en')} readings/s (${result.stored.toLocaleString('en')} stored)`);
console.log(`ratio     pipeline / baseline: ${(result.rate / base).toFixed(2)}`);
console.log(`start-up  command to printed banner: ${(result.readyMs / 1000).toFixed(1)} s (fresh data folder)`);
console.log(`memory    peak RSS MB: supervisor+broker ${result.memory.supervisor}, cloud ${result.memory.cloud}, edge ${result.memory.edge}`);
