// Loads sensor files in the Petrobras 3W layout for the evaluation: every column converted to its
// canonical unit, as the normalizer would store it, and the label of every second.
import { basename, dirname } from 'node:path';

import { METRICS } from '../../metrics';
import { readReplayFile } from '../../replay/reader';
import { TAG_MAP_PRESETS } from '../../tag-map/tag-map';
import { resolveConversion } from '../../units';

/** Label of an unlabelled second. */
export const UNLABELLED = -1;

export interface MetricSeries {
    metric: string;
    unit: string;
    /** Canonical values per row; NaN where the cell is empty. */
    values: Float64Array;
    /** 1 for rows whose value lies outside the metric's plausible range, which the normalizer flags BAD. */
    bad: Uint8Array;
    /** Rows with a value that is not BAD. */
    usable: number;
}

export interface WellFile {
    /** Path relative to the data folder, with forward slashes, such as `6/WELL-00004_20171031193025.csv`. */
    name: string;
    path: string;
    /** Asset id of the well, such as `3w-well-00004`. */
    assetId: string;
    /** Event type of the file: 0 for normal operation, N for event N. */
    eventClass: number;
    /** Epoch milliseconds of each row. */
    times: Float64Array;
    /** Label of each row: 0 normal, N steady state of event N, 100 + N transient, UNLABELLED for an empty cell. */
    labels: Int16Array;
    metrics: MetricSeries[];
    /** Data lines that could not be read (wrong column count, bad number or timestamp); they are left out. */
    invalidRows: number;
}

/** Asset id of a 3W file name: `WELL-00004_20171031193025.csv` gives `3w-well-00004`. */
export function assetIdOf(fileName: string): string {
    return `3w-${basename(fileName).split('_')[0].toLowerCase()}`;
}

/** Event type of a label: 0 normal, N for the steady state N or the transient 100 + N, undefined when unlabelled. */
export function eventOfLabel(label: number): number | undefined {
    if (label === UNLABELLED) return undefined;
    return label >= 100 ? label - 100 : label;
}

/** Reads one file. `name` is its path relative to the data folder. */
export async function loadWellFile(path: string, name: string): Promise<WellFile> {
    const columns = TAG_MAP_PRESETS['3w'];
    const conversions = columns.map((column) => resolveConversion(column.metric, column.unit));
    const times: number[] = [];
    const labels: number[] = [];
    const values: number[][] = columns.map(() => []);
    const bad: number[][] = columns.map(() => []);
    let invalidRows = 0;

    for await (const line of readReplayFile(path)) {
        if (!line.ok) {
            invalidRows++;
            continue;
        }
        const { row } = line;
        times.push(row.source_ms);
        labels.push(row.label === null ? UNLABELLED : Number(row.label));
        columns.forEach((column, index) => {
            const raw = row.values[column.tag];
            if (raw === undefined || raw === null) {
                values[index].push(Number.NaN);
                bad[index].push(0);
                return;
            }
            const value = conversions[index].convert(raw);
            const plausible = METRICS.get(column.metric)?.plausible;
            const outside = plausible !== undefined && (value < plausible[0] || value > plausible[1]);
            values[index].push(value);
            bad[index].push(outside ? 1 : 0);
        });
    }

    const folder = basename(dirname(path));
    const labelled = labels.filter((label) => label > 0).map((label) => eventOfLabel(label) as number);
    const eventClass = /^[0-9]+$/.test(folder) ? Number(folder) : (labelled[0] ?? 0);
    const metrics = columns.map((column, index): MetricSeries => {
        const series = Float64Array.from(values[index]);
        const flags = Uint8Array.from(bad[index]);
        let usable = 0;
        for (let row = 0; row < series.length; row++) if (!Number.isNaN(series[row]) && flags[row] === 0) usable++;
        return { metric: column.metric, unit: conversions[index].canonicalUnit, values: series, bad: flags, usable };
    });
    return {
        name,
        path,
        assetId: assetIdOf(path),
        eventClass,
        times: Float64Array.from(times),
        labels: Int16Array.from(labels),
        metrics: metrics.filter((series) => series.values.some((value) => !Number.isNaN(value))),
        invalidRows,
    };
}
