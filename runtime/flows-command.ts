// `upstream-live flows fmt|check|diff|show|new-site`: keeps the versioned flow files canonical and
// reviewable, and generates the edge flow of a new site from a template. The work is done by the pure modules in lib/flows/; this file reads and writes
// files, runs `git show` for `git:REV:PATH` arguments and sets the exit code.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { ConfigError } from '../lib/errors';
import { formatFlowText } from '../lib/flows/canonical';
import { checkFlowText, formatProblem } from '../lib/flows/check';
import { diffFlows, formatFlowDiff } from '../lib/flows/diff';
import { RUNTIME_ENV_NAMES, nodeTypesFromPackage } from '../lib/flows/known';
import { FlowFileError, parseFlowText } from '../lib/flows/model';
import { renderFlows } from '../lib/flows/show';
import { SiteParameterError, generateSiteFlow, listTemplates } from '../lib/flows/templates';
import { loadAssetRegistry } from '../lib/normalize/asset-registry';
import { DATA_DIR, PROJECT_ROOT } from '../lib/paths';
import { EXIT_USAGE, UsageError } from './options';

export interface FlowsIo {
    stdout(text: string): void;
    stderr(text: string): void;
    /** Folder that relative paths and `git show` start from. */
    cwd: string;
}

const processIo: FlowsIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
};

export const FLOWS_USAGE = [
    'Usage: upstream-live flows <command> ...',
    '',
    '  fmt FILE|DIR...                rewrite flow files in canonical form and list the files that changed',
    '  check FILE|DIR...              exit 1 when a flow file is not canonical, holds a credential, names an',
    '                                 undefined environment variable or an unknown node type, or has a wire or',
    '                                 config reference to a missing node',
    '  diff OLD NEW [--positions] [--json]',
    '                                 summarize the changes between two versions; OLD and NEW are files or',
    '                                 git:REV:PATH (read with `git show REV:PATH`, PATH from the repository root)',
    '  show FILE [--positions]        print a flow file as review text, one property per line (a git textconv filter)',
    '  new-site TEMPLATE --params FILE [--out FILE] [--assets FILE] [--force]',
    '                                 generate the edge flow of a new site from flows/templates/TEMPLATE.json and a',
    '                                 YAML or JSON parameters file (schemas/site-template.json); prints the flow, or',
    '                                 writes it to --out (an existing file only with --force); checks the assets against',
    '                                 --assets (default data/assets.json): another operator fails, a missing asset warns',
    '',
    'A DIR argument means every *.json file directly inside it, except *_cred.json credential files.',
].join('\n');

function parseArguments(args: string[], allowedFlags: string[]): { paths: string[]; flags: Set<string> } {
    const paths: string[] = [];
    const flags = new Set<string>();
    for (const arg of args) {
        if (!arg.startsWith('--')) {
            paths.push(arg);
        } else if (allowedFlags.includes(arg)) {
            flags.add(arg);
        } else {
            throw new UsageError(`Unknown option "${arg}" for flows; run \`upstream-live flows help\` for the list.`);
        }
    }
    return { paths, flags };
}

/** Expands directories into the flow files directly inside them, sorted by name. */
function expandPaths(paths: string[], io: FlowsIo): string[] {
    const files: string[] = [];
    for (const path of paths) {
        const absolute = resolve(io.cwd, path);
        if (!existsSync(absolute)) throw new UsageError(`${path} not found; name a flow file or a folder of flow files.`);
        if (!statSync(absolute).isDirectory()) {
            files.push(path);
            continue;
        }
        const names = readdirSync(absolute)
            .filter((name) => name.endsWith('.json') && !name.endsWith('_cred.json') && !name.startsWith('.'))
            .filter((name) => statSync(join(absolute, name)).isFile())
            .sort();
        files.push(...names.map((name) => join(path, name)));
    }
    return files;
}

function readText(path: string, io: FlowsIo, what = 'flow file'): string {
    const absolute = resolve(io.cwd, path);
    if (!existsSync(absolute)) throw new UsageError(`${path} not found; name an existing ${what}.`);
    return readFileSync(absolute, 'utf8');
}

function runFmt(args: string[], io: FlowsIo): number {
    const { paths } = parseArguments(args, []);
    if (paths.length === 0) throw new UsageError('Name the flow files to format: upstream-live flows fmt FILE|DIR...');
    const files = expandPaths(paths, io);
    let failed = 0;
    let changed = 0;
    for (const file of files) {
        const text = readText(file, io);
        let formatted: string;
        try {
            formatted = formatFlowText(text, file);
        } catch (err) {
            if (!(err instanceof FlowFileError)) throw err;
            io.stderr(`${err.message}\n`);
            failed++;
            continue;
        }
        if (formatted === text) continue;
        writeFileSync(resolve(io.cwd, file), formatted);
        io.stdout(`formatted ${file}\n`);
        changed++;
    }
    if (changed === 0 && failed === 0) io.stdout(`${files.length} flow file(s) already canonical\n`);
    return failed > 0 ? 1 : 0;
}

function projectNodeTypes(): string[] {
    return nodeTypesFromPackage(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')));
}

function runCheck(args: string[], io: FlowsIo): number {
    const { paths } = parseArguments(args, []);
    if (paths.length === 0) throw new UsageError('Name the flow files to check: upstream-live flows check FILE|DIR...');
    const files = expandPaths(paths, io);
    const options = { nodeTypes: projectNodeTypes(), envNames: RUNTIME_ENV_NAMES };
    let problemCount = 0;
    for (const file of files) {
        const problems = checkFlowText(readText(file, io), file, options);
        for (const problem of problems) io.stderr(formatProblem(problem) + '\n');
        problemCount += problems.length;
    }
    if (problemCount > 0) {
        io.stderr(`flows check: ${problemCount} problem(s) in ${files.length} file(s)\n`);
        return 1;
    }
    io.stdout(`flows check: ${files.length} file(s) passed\n`);
    return 0;
}

/** Reads a diff operand: a file, or `git:REV:PATH` read from the repository with `git show`. */
function readOperand(operand: string, io: FlowsIo): { text: string; label: string } {
    if (!operand.startsWith('git:')) return { text: readText(operand, io), label: operand };
    const rest = operand.slice('git:'.length);
    const separator = rest.indexOf(':');
    if (separator <= 0 || separator === rest.length - 1) {
        throw new UsageError(`Invalid git operand "${operand}"; write git:REV:PATH, for example git:HEAD~1:flows/cloud.json.`);
    }
    const revision = rest.slice(0, separator);
    const path = rest.slice(separator + 1);
    try {
        const text = execFileSync('git', ['show', `${revision}:${path}`], { cwd: io.cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
        return { text, label: `${path} at ${revision}` };
    } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
        throw new UsageError(`git show ${revision}:${path} failed (${stderr || (err as Error).message}); check the revision and give PATH from the repository root.`);
    }
}

function runDiff(args: string[], io: FlowsIo): number {
    const { paths, flags } = parseArguments(args, ['--positions', '--json']);
    if (paths.length !== 2) throw new UsageError('Name two versions: upstream-live flows diff OLD NEW, each a file or git:REV:PATH.');
    const before = readOperand(paths[0], io);
    const after = readOperand(paths[1], io);
    const options = { positions: flags.has('--positions') };
    let diff;
    try {
        diff = diffFlows(parseFlowText(before.text, before.label), parseFlowText(after.text, after.label), options);
    } catch (err) {
        if (!(err instanceof FlowFileError)) throw err;
        io.stderr(`${err.message}\n`);
        return 1;
    }
    if (flags.has('--json')) {
        io.stdout(JSON.stringify({ before: before.label, after: after.label, ...diff }, null, 2) + '\n');
    } else {
        io.stdout(formatFlowDiff(diff, { before: before.label, after: after.label }, options));
    }
    return 0;
}

function runShow(args: string[], io: FlowsIo): number {
    const { paths, flags } = parseArguments(args, ['--positions']);
    if (paths.length !== 1) throw new UsageError('Name one flow file: upstream-live flows show FILE.');
    const text = readText(paths[0], io);
    try {
        io.stdout(renderFlows(parseFlowText(text, paths[0]), { positions: flags.has('--positions') }));
    } catch (err) {
        if (!(err instanceof FlowFileError)) throw err;
        // As a textconv filter this must still print something diffable, such as a file with
        // merge conflict markers, so the raw text goes out unchanged.
        io.stderr(`${err.message} Showing the file as it is.\n`);
        io.stdout(text);
    }
    return 0;
}

function parseNewSiteArguments(args: string[]): { template: string; params: string; out?: string; assets?: string; force: boolean } {
    const positional: string[] = [];
    let params: string | undefined;
    let out: string | undefined;
    let assets: string | undefined;
    let force = false;
    for (let index = 0; index < args.length; index++) {
        const arg = args[index];
        if (arg === '--params' || arg === '--out' || arg === '--assets') {
            const value = args[index + 1];
            if (value === undefined || value.startsWith('--')) throw new UsageError(`Option ${arg} needs a file name, for example ${arg} site.yaml.`);
            if (arg === '--params') params = value;
            else if (arg === '--assets') assets = value;
            else out = value;
            index++;
        } else if (arg === '--force') {
            force = true;
        } else if (arg.startsWith('--')) {
            throw new UsageError(`Unknown option "${arg}" for flows new-site; use --params, --out, --assets or --force.`);
        } else {
            positional.push(arg);
        }
    }
    if (positional.length !== 1) {
        throw new UsageError(`Name one template: upstream-live flows new-site TEMPLATE --params FILE; templates: ${listTemplates().join(', ')}.`);
    }
    if (params === undefined) throw new UsageError('Name the parameters file: upstream-live flows new-site TEMPLATE --params site.yaml.');
    return { template: positional[0], params, out, assets, force };
}

/**
 * Compares the site's assets with the asset registry. Returns errors for assets registered under
 * another operator, whose readings the cloud would reject, and warnings for assets not registered.
 */
function registryProblems(parameters: unknown, registryFile: string): { errors: string[]; warnings: string[] } {
    const site = parameters as { operator?: unknown; assets?: { assetId?: unknown }[] };
    const registry = loadAssetRegistry(registryFile);
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const entry of Array.isArray(site.assets) ? site.assets : []) {
        if (typeof entry?.assetId !== 'string') continue;
        const asset = registry.get(entry.assetId);
        if (!asset) {
            warnings.push(`warning: asset ${entry.assetId} is not in the asset registry ${registryFile}; add it there and to the cloud's --assets-file, or the cloud rejects its readings as unknown.`);
        } else if (asset.operator !== site.operator) {
            errors.push(`Asset ${entry.assetId} belongs to operator ${asset.operator} in ${registryFile}, not ${String(site.operator)}; correct operator or assetId in the parameters.`);
        }
    }
    return { errors, warnings };
}

function runNewSite(args: string[], io: FlowsIo): number {
    const { template, params, out, assets, force } = parseNewSiteArguments(args);
    const paramsText = readText(params, io, 'parameters file, such as flows/templates/replay-site.example.yaml');

    let parameters: unknown;
    try {
        parameters = parseYaml(paramsText);
    } catch (err) {
        io.stderr(`${params}: invalid YAML (${(err as Error).message}); fix the syntax.\n`);
        return 1;

    }
    let text: string;
    try {
        text = generateSiteFlow(template, parameters);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const fix = err instanceof SiteParameterError ? `\nFix the parameters in ${params}; schemas/site-template.json describes each one.` : '';
        io.stderr(`${err.message}${fix}\n`);
        return 1;

    }
    const registryFile = resolve(io.cwd, assets ?? join(DATA_DIR, 'assets.json'));
    const { errors, warnings } = registryProblems(parameters, registryFile);
    for (const warning of warnings) io.stderr(warning + '\n');
    if (errors.length > 0) {
        for (const error of errors) io.stderr(error + '\n');
        return 1;
    }
    const label = out ?? `${template} flow`;
    const problems = checkFlowText(text, label, { nodeTypes: projectNodeTypes(), envNames: RUNTIME_ENV_NAMES });
    if (problems.length > 0) {
        for (const problem of problems) io.stderr(formatProblem(problem) + '\n');
        io.stderr(`flows new-site: the generated flow has ${problems.length} problem(s), so it was not written; fix the template ${template}.\n`);
        return 1;

    }
    if (out === undefined) {
        io.stdout(text);
        return 0;

    }
    const target = resolve(io.cwd, out);
    if (existsSync(target) && !force) {
        throw new UsageError(`${out} already exists; choose another --out file or add --force to replace it.`);
    }
    if (!existsSync(dirname(target))) {
        throw new UsageError(`The folder of --out ${out} does not exist; create ${dirname(target)} first or choose another --out file.`);
    }
    writeFileSync(target, text);
    io.stdout(`wrote ${out} from template ${template}\n`);
    return 0;
}

/**
 * Runs `upstream-live flows ...` and returns the exit code; throws UsageError for bad arguments.
 * Without a subcommand it prints the usage to stderr and returns the usage exit code.
 */
export function runFlowsCommand(args: string[], io: FlowsIo = processIo): number {
    if (args.length === 0) {
        io.stderr(`upstream-live flows: missing command; name one of the commands below.\n\n${FLOWS_USAGE}\n`);
        return EXIT_USAGE;
    }
    const [subcommand, ...rest] = args;
    // `flows check --help` shows the same text as `flows help`.
    if (subcommand !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
        io.stdout(FLOWS_USAGE + '\n');
        return 0;
    }
    switch (subcommand) {
        case 'fmt':
            return runFmt(rest, io);
        case 'check':
            return runCheck(rest, io);
        case 'diff':
            return runDiff(rest, io);
        case 'show':
            return runShow(rest, io);
        case 'new-site':
            return runNewSite(rest, io);
        case 'help':
        case '--help':
        case '-h':
            io.stdout(FLOWS_USAGE + '\n');
            return 0;
        default:
            throw new UsageError(`Unknown flows command "${subcommand}"; use fmt, check, diff, show or new-site.`);
    }
}
