// Runs the edge's local safety rules (flows/edge-rules.yaml) over real labelled 3W well files, in
// the units the edge's tag map emits (Pa and degC). A P1 alert must open during every spurious
// DHSV closure, and the normal-operation files must raise none.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import { DATA_DIR, FLOWS_DIR } from '../paths';
import type { Reading } from '../types';
import { RulesEngine } from './engine';
import { loadRulesFile } from './load';

const ruleSet = loadRulesFile(join(FLOWS_DIR, 'edge-rules.yaml'));

interface Replayed {
    labels: string[];
    /** Row of each opened alert, with its rule. */
    opened: { row: number; rule: string; severity: string }[];
}

/** Replays the TPT pressure (Pa) and temperature (degC) of a 3W file through a fresh engine. */
function replay(relativePath: string): Replayed {
    const path = join(DATA_DIR, 'petrobras-3w', relativePath);
    const records = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    const assetId = `3w-${basename(path).split('_')[0].toLowerCase()}`;
    // No asset registry: the edge rules scope by metric only.
    const engine = new RulesEngine(ruleSet, { assets: () => undefined });
    const startMs = Date.parse(`${records[0].timestamp.slice(0, 10)}T${records[0].timestamp.slice(11, 19)}.000Z`);
    const opened: Replayed['opened'] = [];
    for (const record of records) {
        const ts = `${record.timestamp.slice(0, 10)}T${record.timestamp.slice(11, 19)}.000Z`;
        const readings: Reading[] = [];
        if (record['P-TPT'] !== '') readings.push({ asset_id: assetId, metric: 'pressure_tpt', value: Number(record['P-TPT']), unit: 'Pa', ts, quality_flag: 'GOOD' });
        if (record['T-TPT'] !== '') readings.push({ asset_id: assetId, metric: 'temp_tpt', value: Number(record['T-TPT']), unit: 'degC', ts, quality_flag: 'GOOD' });
        for (const event of engine.process(readings)) {
            if (event.state === 'open') opened.push({ row: (Date.parse(event.opened_at) - startMs) / 1000, rule: event.rule_id, severity: event.severity });
        }
    }
    return { labels: records.map((record) => record.class), opened };
}

describe('edge safety rules on real 3W events', () => {
    it.each([
        '2/WELL-00003_20180206182917.csv',
        '2/WELL-00009_20170313160804.csv',
        '2/WELL-00010_20171218200131.csv',
        '2/WELL-00011_20140606230115.csv',
        '2/WELL-00011_20140824000118.csv',
        '2/WELL-00012_20170320143144.csv',
    ])('should raise a P1 alert during the DHSV closure in %s', (name) => {
        const { labels, opened } = replay(name);
        const transient = labels.findIndex((label) => label !== '' && Number(label) >= 100);

        expect(transient).toBeGreaterThan(0);
        expect(opened.filter(({ row }) => labels[row] === '0')).toEqual([]);
        const during = opened.filter(({ row, severity }) => row >= transient && severity === 'P1');
        expect(during.length).toBeGreaterThan(0);
    });

    it.each([
        '0/WELL-00001_20170201020207.csv',
        '0/WELL-00003_20170807100000.csv',
        '0/WELL-00004_20140807100112.csv',
        '0/WELL-00005_20170331060014.csv',
        '0/WELL-00007_20170801180000.csv',
        '0/WELL-00008_20170612040000.csv',
    ])('should raise nothing on the normal file %s', (name) => {
        expect(replay(name).opened).toEqual([]);
    });
});
