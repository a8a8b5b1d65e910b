// Command line of the anomaly evaluation: scores the detectors, the rule set, an ensemble and a
// naive baseline on labelled sensor files in the Petrobras 3W layout, tuning detector thresholds
// on the files given with --tune-on and reporting the others.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { DATA_DIR, FLOWS_DIR } from '../../paths';
import { loadRulesFile } from '../../rules/load';
import type { AssetLookup } from '../../rules/types';
import type { Asset } from '../../types';
import { loadWellFile, type WellFile } from './dataset';
import { defaultEvaluationSettings, evaluateFile, methodNames, summarise, type EvaluationSettings, type FileReport } from './evaluate';
import { listCsvFiles, selectFiles, splitPatterns } from './files';
import { LEARN_SHARE, STEP_MS, WINDOW_MS } from './protocol';
import { classTable, fileTables, settingsTable, summaryTable, targetTable, tuningTable } from './report';
import { tune, type TuningChoice } from './tune';

export const USAGE = `Usage: node dist/lib/anomaly/evaluation/cli.js --data DIR [options]

Scores the anomaly detectors (mad, iforest, forecast), the isolation forest without its range
check (iforest-plain), an ensemble of the three, a fixed ±3σ band (band) and the rule set on
labelled files in the Petrobras 3W layout, and prints Markdown tables.

Per file, detectors learn from the first ${LEARN_SHARE * 100} % of the normal (class 0) rows before
the event and are scored on every later row, in ${WINDOW_MS / 1000}-second windows every ${STEP_MS / 1000} seconds.
A window is abnormal when most of its labelled seconds are event seconds (transient 100+N or
steady state N); unlabelled seconds are ignored. A window counts as alerted when an alert of the
method is open during any of its seconds.

Options:
  --data DIR         folder of the files, with one subfolder per event class
                     (default: ${join('data', 'petrobras-3w')} in the project)
  --files LIST       comma-separated globs relative to DIR (default: **/*.csv)
  --tune-on LIST     comma-separated globs of the files to tune thresholds on; they are
                     reported separately from the others. Without it, the default thresholds
                     are used and every file is reported.
  --rules FILE       rules file for the rule set (default: flows/rules.yaml)
  --assets FILE      asset registry for rule scopes (default: data/assets.json); wells missing
                     from it count as wells of the operator petrobras, the 3W publisher
  --json             print the reports as JSON instead of Markdown
  --help             print this help`;

export interface CliOptions {
    data: string;
    files: string[];
    tuneOn: string[];
    rulesFile: string;
    assetsFile: string;
    json: boolean;
}

/** Parses the arguments; returns undefined for --help. Throws a TypeError for invalid arguments. */
export function parseCliArguments(argv: readonly string[]): CliOptions | undefined {
    const { values } = parseArgs({
        args: [...argv],
        options: {
            data: { type: 'string' },
            files: { type: 'string' },
            'tune-on': { type: 'string' },
            rules: { type: 'string' },
            assets: { type: 'string' },
            json: { type: 'boolean' },
            help: { type: 'boolean' },
        },
        strict: true,
        allowPositionals: false,
    });
    if (values.help) return undefined;
    const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(process.cwd(), path));
    return {
        data: absolute(values.data ?? join(DATA_DIR, 'petrobras-3w')),
        files: splitPatterns(values.files ?? '**/*.csv'),
        tuneOn: splitPatterns(values['tune-on'] ?? ''),
        rulesFile: absolute(values.rules ?? join(FLOWS_DIR, 'rules.yaml')),
        assetsFile: absolute(values.assets ?? join(DATA_DIR, 'assets.json')),
        json: values.json ?? false,
    };
}

/** Asset lookup from a registry file; wells missing from it are Petrobras wells, as every 3W file is. */
export function assetLookup(path: string): AssetLookup {
    const registry = JSON.parse(readFileSync(path, 'utf8')) as { assets?: Asset[] };
    const facts = new Map((registry.assets ?? []).map((asset) => [asset.asset_id, { type: asset.type, operator: asset.operator }]));
    return (assetId) => facts.get(assetId) ?? { type: 'well', operator: 'petrobras' };
}

export interface EvaluationResult {
    settings: EvaluationSettings;
    choices: TuningChoice[];
    tuning: FileReport[];
    report: FileReport[];
    methods: string[];
    seconds: number;
}

/** Loads the files, tunes on the tuning files when there are any, and scores every file. */
export async function runEvaluation(options: CliOptions): Promise<EvaluationResult> {
    const started = Date.now();
    const names = selectFiles(listCsvFiles(options.data), options.files);
    if (names.length === 0) throw new Error(`No CSV file under ${options.data} matches ${options.files.join(', ')}; check --data and --files.`);
    const tuneNames = new Set(selectFiles(names, options.tuneOn));
    if (options.tuneOn.length > 0 && tuneNames.size === 0) {
        throw new Error(`No selected file matches --tune-on ${options.tuneOn.join(', ')}; give paths relative to ${options.data}.`);
    }

    const files: WellFile[] = [];
    for (const name of names) files.push(await loadWellFile(join(options.data, name), name));

    const ruleSet = loadRulesFile(options.rulesFile);
    let settings = defaultEvaluationSettings({ ruleSet, assets: assetLookup(options.assetsFile) });
    let choices: TuningChoice[] = [];
    const tuningFiles = files.filter((file) => tuneNames.has(file.name));
    if (tuningFiles.length > 0) ({ settings, choices } = tune(tuningFiles, settings));

    const methods = methodNames(settings);
    const tuning: FileReport[] = [];
    const report: FileReport[] = [];
    for (const file of files) (tuneNames.has(file.name) ? tuning : report).push(evaluateFile(file, settings, methods));
    return { settings, choices, tuning, report, methods, seconds: (Date.now() - started) / 1000 };
}

/** Formats a result as Markdown. */
export function formatMarkdown(result: EvaluationResult, command: string): string {
    const { methods } = result;
    const sections: string[] = [
        `Command: \`${command}\``,
        `Files: ${result.report.length} reported, ${result.tuning.length} for tuning. Run time ${result.seconds.toFixed(1)} s.`,
        '## Settings',
        settingsTable(result.settings),
    ];
    if (result.choices.length > 0) sections.push('## Tuning choices', tuningTable(result.choices));
    const block = (title: string, reports: FileReport[]): void => {
        if (reports.length === 0) return;
        sections.push(`## ${title}: per file`, fileTables(reports, methods));
        sections.push(`## ${title}: means per method`, summaryTable(summarise(reports, methods)));
        sections.push(`## ${title}: mean balanced accuracy per event class`, classTable(reports, methods));
        sections.push(`## ${title}: targets`, targetTable(reports, methods));
    };
    block('Reported files', result.report);
    block('Tuning files', result.tuning);
    sections.push('A delay marked * is an alert that opened before the first transient second and was still open at it.');
    return sections.join('\n\n');
}

/** Runs the command; returns the exit code. */
export async function main(argv: readonly string[], write: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
    let options: CliOptions | undefined;
    try {
        options = parseCliArguments(argv);
    } catch (err) {
        write(`${(err as Error).message}\n\n${USAGE}\n`);
        return 2;
    }
    if (!options) {
        write(`${USAGE}\n`);
        return 0;
    }
    const result = await runEvaluation(options);
    const command = ['node dist/lib/anomaly/evaluation/cli.js', ...argv].join(' ');
    write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatMarkdown(result, command)}\n`);
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
