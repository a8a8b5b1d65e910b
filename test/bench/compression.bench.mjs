// Benchmark of edge compression on every Petrobras 3W sensor file in data/petrobras-3w.
//
//   node test/bench/compression.bench.mjs
//
// Each mapped column of each file is one series, converted to the canonical unit as the cloud
// normalizer does (Pa to psi, degC kept, sm3/s to mmscfd). Columns without any value are skipped.
// The maximum error of a series is 0.5 % of its span (maximum minus minimum in that file). The run
// prints, per metric and overall, the compression ratio (readings in / readings archived) and the
// largest reconstruction error, as a fraction of the series' span, of linear interpolation between
// archived readings. The baseline, measured in the same run, is a deadband alone with the deadband
// equal to the same bound, read back by holding the last archived value (the reconstruction that
// bounds a deadband archive). It bundles the TypeScript sources with esbuild, so no build is needed.
// Prints its figures; it asserts nothing, so it is not part of `npm test`.
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const BOUND_PERCENT = 0.5;
const HEARTBEAT_S = 60;

async function loadSources() {
    const entry = [
        "export * from './lib/compression';",
        "export { readReplayFile } from './lib/replay/reader';",
        "export { TAG_MAP_PRESETS } from './lib/tag-map/tag-map';",
        "export { toCanonical } from './lib/units';",
    ].join('\n');
    const result = await build({
        stdin: { contents: entry, resolveDir: root, loader: 'ts' },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        write: false,
        logLevel: 'error',
    });
    const module = { exports: {} };
    new Function('module', 'exports', 'require', result.outputFiles[0].text)(module, module.exports, require);
    return module.exports;
}

function listCsvFiles(folder) {
    const files = [];
    for (const entry of readdirSync(folder).sort()) {
        const path = join(folder, entry);
        if (statSync(path).isDirectory()) files.push(...listCsvFiles(path));
        else if (entry.endsWith('.csv')) files.push(path);
    }
    return files;
}

/** Reads one file into series of canonical readings, one per mapped column with at least one value. */
async function readSeries(lib, path) {
    const mappings = lib.TAG_MAP_PRESETS['3w'];
    const asset = relative(join(root, 'data'), path);
    const series = new Map(mappings.map((mapping) => [mapping.tag, { metric: mapping.metric, unit: mapping.unit, readings: [], values: 0 }]));
    for await (const line of lib.readReplayFile(path)) {
        if (!line.ok) continue;
        for (const [tag, entry] of series) {
            const raw = line.row.values[tag];
            if (raw === undefined) continue;
            let value = null;
            let unit = entry.unit;
            if (raw !== null) {
                ({ value, unit } = lib.toCanonical(entry.metric, raw, entry.unit));
                entry.values++;
            } else {
                unit = lib.toCanonical(entry.metric, 0, entry.unit).unit;
            }
            entry.readings.push({ asset_id: asset, metric: entry.metric, value, unit, ts: line.row.source_ts, quality_flag: 'GOOD' });
        }
    }
    const result = [];
    for (const entry of series.values()) {
        if (entry.values === 0) continue;
        let min = Infinity;
        let max = -Infinity;
        for (const reading of entry.readings) {
            if (reading.value === null) continue;
            min = Math.min(min, reading.value);
            max = Math.max(max, reading.value);
        }
        result.push({ asset, metric: entry.metric, readings: entry.readings, span: max - min });
    }
    return result;
}

/**
 * Returns the largest absolute difference between each non-null original reading and the archive
 * read back at its time: linearly between archived readings, or holding the last archived value.
 */
function reconstructionError(original, archived, mode) {
    const points = archived.map((r) => ({ t: Date.parse(r.ts), v: r.value })).sort((a, b) => a.t - b.t);
    let worst = 0;
    let j = 0;
    for (const reading of original) {
        if (reading.value === null) continue;
        const t = Date.parse(reading.ts);
        while (j + 1 < points.length && points[j + 1].t <= t) j++;
        const before = points[j];
        if (before === undefined || before.t > t || before.v === null) return Infinity;
        let estimate = before.v;
        if (mode === 'linear' && before.t < t) {
            const after = points[j + 1];
            if (after === undefined || after.v === null) return Infinity;
            estimate = before.v + ((after.v - before.v) * (t - before.t)) / (after.t - before.t);
        }
        worst = Math.max(worst, Math.abs(estimate - reading.value));
    }
    return worst;
}

function runCompressor(lib, series, options) {
    const compressor = new lib.ReadingCompressor({
        resolveBound: () => ({ maxError: (BOUND_PERCENT / 100) * series.span, source: 'percent-of-span' }),
        ...options,
    });
    const archived = compressor.addAll(series.readings);
    archived.push(...compressor.flush());
    return archived;
}

function runDeadband(lib, series) {
    const filter = new lib.DeadbandFilter({ deadband: (BOUND_PERCENT / 100) * series.span, passPrevious: false });
    const archived = [];
    let last;
    for (const reading of series.readings) {
        // A gap (empty cell) is archived as it is and restarts the filter, as the compressor does.
        if (reading.value === null) {
            archived.push(...filter.flush().map((p) => p.reading), reading);
            filter.reset();
            continue;
        }
        for (const point of filter.add({ t: Date.parse(reading.ts), v: reading.value, reading })) archived.push(point.reading);
        last = reading;
    }
    archived.push(...filter.flush().map((p) => p.reading));
    if (last && archived[archived.length - 1] !== last) archived.push(last);
    return archived;
}

const METHODS = [
    { name: `swinging door, heartbeat ${HEARTBEAT_S} s`, run: (lib, s) => runCompressor(lib, s, { heartbeatMs: HEARTBEAT_S * 1000 }), mode: 'linear' },
    { name: 'swinging door, no heartbeat', run: (lib, s) => runCompressor(lib, s, {}), mode: 'linear' },
    { name: `deadband 20 % + door, heartbeat ${HEARTBEAT_S} s`, run: (lib, s) => runCompressor(lib, s, { heartbeatMs: HEARTBEAT_S * 1000, deadbandFraction: 0.2 }), mode: 'linear' },
    { name: 'baseline: deadband alone (hold)', run: runDeadband, mode: 'hold' },
];

function ratio(received, archived) {
    return archived === 0 ? '∞' : `${(received / archived).toFixed(1)}:1`;
}

function percent(fraction) {
    return `${(fraction * 100).toFixed(4)} %`;
}

const lib = await loadSources();
const files = listCsvFiles(join(root, 'data', 'petrobras-3w'));
const allSeries = [];
for (const file of files) allSeries.push(...(await readSeries(lib, file)));
const totalReadings = allSeries.reduce((sum, s) => sum + s.readings.length, 0);
const constant = allSeries.filter((series) => series.span === 0).length;
console.log(`${files.length} files, ${allSeries.length} series (${constant} constant), ${totalReadings.toLocaleString('en-US')} readings; bound ${BOUND_PERCENT} % of each series' span\n`);

for (const method of METHODS) {
    const perMetric = new Map();
    let received = 0;
    let archivedTotal = 0;
    let worstFraction = 0;
    let overBound = 0;
    const varying = { received: 0, archived: 0 };
    const started = performance.now();
    const results = allSeries.map((series) => ({ series, archived: method.run(lib, series) }));
    const seconds = (performance.now() - started) / 1000;
    for (const { series, archived } of results) {
        const error = reconstructionError(series.readings, archived, method.mode);
        let fraction = 0;
        if (series.span > 0) fraction = error / series.span;
        else if (error > 0) fraction = Infinity;
        if (error > (BOUND_PERCENT / 100) * series.span) overBound++;
        if (series.span > 0) {
            varying.received += series.readings.length;
            varying.archived += archived.length;
        }
        const entry = perMetric.get(series.metric) ?? { series: 0, received: 0, archived: 0, worst: 0 };
        entry.series++;
        entry.received += series.readings.length;
        entry.archived += archived.length;
        entry.worst = Math.max(entry.worst, fraction);
        perMetric.set(series.metric, entry);
        received += series.readings.length;
        archivedTotal += archived.length;
        worstFraction = Math.max(worstFraction, fraction);
    }
    console.log(`${method.name}: ${(received / seconds).toLocaleString('en-US', { maximumFractionDigits: 0 })} readings/s`);
    console.log('| metric | series | readings | archived | ratio | max error / span |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [metric, entry] of [...perMetric].sort()) {
        console.log(`| ${metric} | ${entry.series} | ${entry.received} | ${entry.archived} | ${ratio(entry.received, entry.archived)} | ${percent(entry.worst)} |`);
    }
    console.log(`| overall | ${allSeries.length} | ${received} | ${archivedTotal} | ${ratio(received, archivedTotal)} | ${percent(worstFraction)} |`);
    console.log(`overall without the constant series: ${ratio(varying.received, varying.archived)}`);
    console.log(`series whose largest error exceeds the bound: ${overBound}\n`);
}
