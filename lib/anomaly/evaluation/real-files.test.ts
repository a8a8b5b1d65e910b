// The evaluation on real labelled 3W files of the tuning set. The whole evaluation over all files
// runs from the command line (cli.ts), and BENCHMARKS.md records its results.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DATA_DIR } from '../../paths';
import { main } from './cli';
import { loadWellFile, UNLABELLED } from './dataset';
import { defaultEvaluationSettings, evaluateFile, type MethodScore } from './evaluate';

const THREE_W = join(DATA_DIR, 'petrobras-3w');
const CHOKE = '6/WELL-00004_20171031181509.csv';
const DHSV = '2/WELL-00009_20170313160804.csv';
const NORMAL = '0/WELL-00003_20170807100000.csv';

function count(labels: Int16Array, label: number): number {
    return labels.filter((value) => value === label).length;
}

function score(scores: MethodScore[], method: string): MethodScore {
    const found = scores.find((entry) => entry.method === method);
    if (!found) throw new Error(`no score for ${method}`);
    return found;
}

describe('loadWellFile', () => {
    it('should read rows, labels and canonical values', async () => {
        const file = await loadWellFile(join(THREE_W, CHOKE), CHOKE);

        expect(file.assetId).toBe('3w-well-00004');
        expect(file.eventClass).toBe(6);
        expect(file.times.length).toBe(3586);
        expect(file.times[1] - file.times[0]).toBe(1000);
        expect([count(file.labels, 0), count(file.labels, 106), count(file.labels, 6), count(file.labels, UNLABELLED)]).toEqual([2630, 613, 245, 98]);
        expect(file.metrics.map((series) => series.metric)).toEqual(['pressure_downhole', 'pressure_tpt', 'temp_tpt', 'pressure_upstream_choke', 'temp_downstream_choke']);
        const choke = file.metrics.find((series) => series.metric === 'pressure_upstream_choke');
        // The first row contains about 5.245e6 Pa, which is about 761 psi.
        expect(choke?.unit).toBe('psi');
        expect(choke?.values[0]).toBeGreaterThan(755);
        expect(choke?.values[0]).toBeLessThan(765);
    });

    it('should flag values outside the plausible range', async () => {
        const name = '8/WELL-00019_20170301182317.csv';
        const file = await loadWellFile(join(THREE_W, name), name);
        const gasLift = file.metrics.find((series) => series.metric === 'pressure_gas_lift');

        // P-JUS-CKGL is about 1.8e9 Pa (260,000 psi) in this file, far above 20,000 psi.
        expect(gasLift?.usable).toBe(0);
        expect(gasLift?.bad.every((flag) => flag === 1)).toBe(true);
    });
});

describe('evaluation on real files', () => {
    const settings = defaultEvaluationSettings();

    it('should detect the quick choke restriction within two minutes', async () => {
        const report = evaluateFile(await loadWellFile(join(THREE_W, CHOKE), CHOKE), settings);

        expect(report.learnRows).toBe(1578);
        expect(report.eventRow).toBe(2706);
        for (const method of ['mad', 'iforest', 'forecast', 'ensemble']) {
            expect(score(report.methods, method).delaySeconds).toBeLessThanOrEqual(120);
            expect(score(report.methods, method).balancedAccuracy).toBeGreaterThan(0.9);
        }
        // The ±3σ band of the learning part already alarms in the normal part.
        expect(score(report.methods, 'band').falseAlerts).toBeGreaterThan(0);
    });

    it('should detect the DHSV closure within two minutes', async () => {
        const report = evaluateFile(await loadWellFile(join(THREE_W, DHSV), DHSV), settings);

        for (const method of ['mad', 'iforest', 'forecast', 'ensemble']) {
            expect(score(report.methods, method).delaySeconds).toBeLessThanOrEqual(120);
            expect(score(report.methods, method).falseAlerts).toBe(0);
        }
    });

    it('should stay silent on a normal file', async () => {
        const report = evaluateFile(await loadWellFile(join(THREE_W, NORMAL), NORMAL), settings);

        expect(report.abnormalWindows).toBe(0);
        for (const method of ['mad', 'iforest', 'forecast', 'ensemble']) {
            expect(score(report.methods, method).falseAlerts).toBe(0);
            expect(score(report.methods, method).silenceRate).toBe(1);
        }
    });
});

describe('evaluation command', () => {
    function capture(): { write: (text: string) => void; text: () => string } {
        let output = '';
        return { write: (text) => (output += text), text: () => output };
    }

    it('should print the help', async () => {
        const out = capture();

        expect(await main(['--help'], out.write)).toBe(0);
        expect(out.text()).toContain('Usage: node dist/lib/anomaly/evaluation/cli.js --data DIR');
    });

    it('should reject an unknown option', async () => {
        const out = capture();

        expect(await main(['--speed', '2'], out.write)).toBe(2);
        expect(out.text()).toContain("Unknown option '--speed'");
    });

    it('should tune on one file and report the other', async () => {
        const out = capture();
        const code = await main(['--data', THREE_W, '--files', `${CHOKE},6/WELL-00004_20171031193025.csv`, '--tune-on', CHOKE, '--json'], out.write);
        const result = JSON.parse(out.text()) as { tuning: { name: string }[]; report: { name: string }[]; choices: { method: string }[] };

        expect(code).toBe(0);
        expect(result.tuning.map((report) => report.name)).toEqual([CHOKE]);
        expect(result.report.map((report) => report.name)).toEqual(['6/WELL-00004_20171031193025.csv']);
        expect(result.choices.map((choice) => choice.method)).toEqual(['mad', 'iforest', 'iforest-plain', 'forecast', 'ensemble']);
    });

    it('should fail on a tuning pattern that matches nothing', async () => {
        await expect(main(['--data', THREE_W, '--files', CHOKE, '--tune-on', '9/*.csv'], capture().write)).rejects.toThrow('No selected file matches --tune-on 9/*.csv');
    });
});
