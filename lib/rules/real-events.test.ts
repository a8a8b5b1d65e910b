// Runs the demo rules (flows/rules.yaml) over real labelled 3W well files. Alerts must open during
// the labelled events, and the normal-operation files must raise none.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readWellFile, type WellFile } from '../../test/support/clean-well';
import { DATA_DIR, FLOWS_DIR } from '../paths';
import type { AlertEvent, Asset } from '../types';
import { RulesEngine } from './engine';
import { loadRulesFile } from './load';
import type { AssetLookup } from './types';

const registry = JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] };
const assets: AssetLookup = (assetId) => registry.assets.find((asset) => asset.asset_id === assetId);
const ruleSet = loadRulesFile(join(FLOWS_DIR, 'rules.yaml'));

interface Opened {
    row: number;
    event: AlertEvent;
}

/** Replays a file row by row through a fresh engine; returns the alerts that opened, with their row. */
function replay(file: WellFile): Opened[] {
    const engine = new RulesEngine(ruleSet, { assets });
    const opened: Opened[] = [];
    for (const readings of file.rows) {
        for (const event of engine.process(readings)) {
            if (event.state !== 'open') continue;
            opened.push({ row: (Date.parse(event.opened_at) - file.startMs) / 1000, event });
        }
    }
    return opened;
}

function firstTransientRow(file: WellFile): number {
    return file.labels.findIndex((label) => label !== '' && Number(label) >= 100);
}

const table: Record<string, unknown>[] = [];

function record(file: WellFile, opened: Opened[]): void {
    const transient = firstTransientRow(file);
    const first = opened[0];
    const inEvent = opened.find(({ row }) => transient >= 0 && row >= transient);
    table.push({
        file: file.name,
        'first alert row': first?.row ?? '-',
        rule: first ? `${first.event.rule_id} (${first.event.severity})` : '-',
        'first transient row': transient >= 0 ? transient : '-',
        'delay s': first && transient >= 0 ? first.row - transient : '-',
        'first alert in event': inEvent ? `${inEvent.event.rule_id}@${inEvent.row}` : '-',
        'alerts in normal rows': opened.filter(({ row }) => file.labels[row] === '0').map(({ row, event }) => `${event.rule_id}@${row}`).join(' ') || '-',
    });
}

describe('demo rules on real 3W events', () => {
    it('should raise the choke rule during the quick restriction and nothing before', () => {
        const file = readWellFile('6/WELL-00004_20171031193025.csv');
        const opened = replay(file);
        record(file, opened);
        const transient = firstTransientRow(file);

        expect(transient).toBe(420);
        expect(opened.filter(({ row }) => row < 414)).toEqual([]);
        const choke = opened.find(({ event }) => event.rule_id === 'choke-upstream-pressure-rise');
        expect(choke).toBeDefined();
        expect(choke?.event.severity).toBe('P2');
        expect(choke?.event.asset_id).toBe('3w-well-00004');
        expect(choke?.row).toBeGreaterThanOrEqual(transient);
        expect(opened[0].event.rule_id).toBe('choke-upstream-pressure-rise');
    });

    it.each(['6/WELL-00004_20171031181509.csv', '6/WELL-00004_20171031200059.csv'])('should raise the choke rule during the restriction in %s', (name) => {
        const file = readWellFile(name);
        const opened = replay(file);
        record(file, opened);
        const transient = firstTransientRow(file);

        expect(opened.filter(({ row }) => file.labels[row] === '0')).toEqual([]);
        const choke = opened.find(({ event }) => event.rule_id === 'choke-upstream-pressure-rise');
        expect(choke?.row).toBeGreaterThanOrEqual(transient);
    });

    it.each([
        '2/WELL-00003_20180206182917.csv',
        '2/WELL-00009_20170313160804.csv',
        '2/WELL-00010_20171218200131.csv',
        '2/WELL-00011_20140606230115.csv',
        '2/WELL-00011_20140824000118.csv',
        '2/WELL-00012_20170320143144.csv',
    ])('should raise a P1 alert during the DHSV closure in %s', (name) => {
        const file = readWellFile(name);
        const opened = replay(file);
        record(file, opened);
        const transient = firstTransientRow(file);

        expect(transient).toBeGreaterThan(0);
        const during = opened.filter(({ row, event }) => row >= transient && event.severity === 'P1');
        expect(during.map(({ event }) => event.rule_id)).toContain('tpt-temperature-drop');
    });

    it('should flag the frozen TPT pressure transmitter', () => {
        // P-TPT repeats 2.94e9 Pa (about 426 700 psi, flagged BAD) for the whole file.
        const file = readWellFile('5/WELL-00015_20170620160349.csv');
        const opened = replay(file);
        record(file, opened);
        const stuck = opened.filter(({ event }) => event.rule_id === 'stuck-tpt-pressure');

        expect(stuck.map(({ row }) => row)).toEqual([5400]);
        expect(stuck[0].event.severity).toBe('P3');
        expect(stuck[0].event.evidence).toMatchObject({ window: '90m', tolerance: 0.01 });
    });

    it.each([
        '0/WELL-00001_20170201020207.csv',
        '0/WELL-00003_20170807100000.csv',
        '0/WELL-00004_20140807100112.csv',
        '0/WELL-00005_20170331060014.csv',
        '0/WELL-00007_20170801180000.csv',
        '0/WELL-00008_20170612040000.csv',
    ])('should raise nothing on the normal file %s', (name) => {
        const file = readWellFile(name);
        const opened = replay(file);
        record(file, opened);

        expect(opened.map(({ row, event }) => `${event.rule_id}@${row}`)).toEqual([]);
    });
});

afterAll(() => {
    console.table(table);
});
