// Benchmark of the state a cloud runtime keeps per reading: the rules of flows/rules.yaml and the
// live trend widget. Simulated 1 Hz readings of many wells go through each in process, as fast as
// they can, and every simulated minute the benchmark prints the CPU time per reading, the
// garbage-collection pauses and the heap. Beside them, in the same run, a baseline keeps the same
// rule windows as one object per reading, the way the rules kept them before they moved to
// number deques, so the two heaps can be compared.
//
//   npm run bench:state -- [--wells 5000] [--minutes 10]
//
// Needs no services. Prints its figures and asserts nothing, so it is not a test.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { parseWholeNumberOptions, WELL_METRICS } from './well-load.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { RulesEngine } = require(join(root, 'dist/lib/rules/engine.js'));
const { loadRulesFile } = require(join(root, 'dist/lib/rules/load.js'));
const { TrendStore } = require(join(root, 'dist/dashboards/lib/trend-store.js'));

const METRICS = WELL_METRICS;

const USAGE = [
    'Usage: npm run bench:state -- [options]',
    '  --wells N     wells, each with 8 metrics at 1 Hz (default 5000)',
    '  --minutes N   simulated minutes per part (default 10)',
    'Runs three parts one after the other in this process: the rules of flows/rules.yaml, the trend widget',
    '(900 points per series), and the baseline of rule windows kept as one object per reading.',
].join('\n');

/**
 * The rule windows of flows/rules.yaml kept as one object per reading: three 5-minute windows
 * and one 90-minute window per well, each reading a { ts, iso, value } object in an array.
 */
class ObjectWindows {
    constructor() {
        this.windows = new Map();
    }

    process(readings) {
        for (const reading of readings) {
            const spans = WINDOWED.get(reading.metric);
            if (!spans) continue;
            const ts = Date.parse(reading.ts);
            for (const [rule, spanMs] of spans) {
                const key = `${rule}\u0001${reading.asset_id}\u0001${reading.metric}`;
                let window = this.windows.get(key);
                if (!window) {
                    window = { items: [], head: 0 };
                    this.windows.set(key, window);
                }
                window.items.push({ ts, iso: reading.ts, value: reading.value });
                while (window.items[window.head].ts < ts - spanMs) window.head++;
                if (window.head >= 1024 && window.head * 2 >= window.items.length) {
                    window.items = window.items.slice(window.head);
                    window.head = 0;
                }
            }
        }
    }
}

const MINUTE = 60_000;
const WINDOWED = new Map([
    ['pressure_upstream_choke', [['choke-upstream-pressure-rise', 5 * MINUTE]]],
    ['pressure_tpt', [['tpt-pressure-collapse', 5 * MINUTE], ['tpt-pressure-stuck', 90 * MINUTE]]],
    ['temp_tpt', [['tpt-temperature-drop', 5 * MINUTE]]],
]);

let gcMs = 0;
new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

/** Feeds `minutes` of 1 Hz readings of `wells` wells to `sink` in batches of 50 wells, printing a line per minute. */
async function run(name, sink, wells, minutes) {
    const start = Date.parse('2026-12-01T00:00:00Z');
    const lines = [];
    let cpuBefore = process.cpuUsage();
    let gcBefore = gcMs;
    for (let second = 0; second < minutes * 60; second++) {
        const iso = new Date(start + second * 1000).toISOString();
        for (let first = 0; first < wells; first += 50) {
            const readings = [];
            for (let well = first; well < Math.min(wells, first + 50); well++) {
                // Each reading gets its own copy of the time text, as JSON.parse gives it.
                for (const [metric, unit, base] of METRICS) {
                    readings.push({ asset_id: `well-${well}`, metric, value: base + ((second + well) % 17), unit, ts: (' ' + iso).slice(1), quality_flag: 'GOOD' });
                }
            }
            sink(readings);
        }
        if ((second + 1) % 60 !== 0) continue;
        // gc entries arrive on a later turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
        const cpu = process.cpuUsage(cpuBefore);
        const cpuMs = (cpu.user + cpu.system) / 1000;
        const memory = process.memoryUsage();
        lines.push({
            minute: (second + 1) / 60,
            perReading: (cpuMs * 1000) / (60 * wells * METRICS.length),
            gcMs: gcMs - gcBefore,
            heapMb: memory.heapUsed / 2 ** 20,
            externalMb: memory.arrayBuffers / 2 ** 20,
        });
        const line = lines[lines.length - 1];
        console.log(`  ${name}, minute ${line.minute}: ${line.perReading.toFixed(2)} µs CPU per reading, GC pauses ${Math.round(line.gcMs)} ms, `
            + `heap ${Math.round(line.heapMb)} MB, array buffers ${Math.round(line.externalMb)} MB`);
        cpuBefore = process.cpuUsage();
        gcBefore = gcMs;
    }
    return lines;
}

async function main() {
    const options = parseWholeNumberOptions(process.argv.slice(2), ['wells', 'minutes'], USAGE);
    const wells = options.get('wells') ?? 5000;
    const minutes = options.get('minutes') ?? 10;
    console.log(`load: ${wells.toLocaleString('en-US')} wells x ${METRICS.length} metrics at 1 Hz = ${(wells * METRICS.length).toLocaleString('en-US')} readings per simulated second, ${minutes} simulated minutes per part`);

    // Each part builds its state inside its own function, so that the next part starts without it.
    const rulesLines = await run('rules', (() => {
        const rules = new RulesEngine(loadRulesFile(join(root, 'flows/rules.yaml')), { assets: () => ({ type: 'well', operator: 'petrobras' }) });
        return (readings) => rules.process(readings);
    })(), wells, minutes);

    const trendLines = await run('trend', (() => {
        const trend = new TrendStore('trend', 'trend', { points: 900, metric: 'pressure_tpt' });
        let batches = 0;
        // The page pushes about once a second, which is every wells/50 batches here.
        return (readings) => {
            trend.addReadings(readings);
            if (++batches % Math.ceil(wells / 50) === 0) trend.drain({ visible: () => true });
        };
    })(), wells, minutes);

    const objectLines = await run('baseline, rule windows as objects', (() => {
        const objects = new ObjectWindows();
        return (readings) => objects.process(readings);
    })(), wells, minutes);

    const last = (lines) => lines[lines.length - 1];
    const summary = (lines) => `heap ${Math.round(last(lines).heapMb)} MB, GC pauses ${Math.round(last(lines).gcMs)} ms in the last minute, ${last(lines).perReading.toFixed(2)} µs per reading`;
    console.log(`after ${minutes} simulated minutes:`);
    console.log(`  rules (number deques): ${summary(rulesLines)}`);
    console.log(`  trend widget: ${summary(trendLines)}`);
    console.log(`  baseline, rule windows only, one object per reading: ${summary(objectLines)}`);
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
