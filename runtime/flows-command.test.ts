import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { PROJECT_ROOT } from '../lib/paths';
import { FLOWS_USAGE, runFlowsCommand, type FlowsIo } from './flows-command';
import { UsageError } from './options';

const BIN = join(PROJECT_ROOT, 'bin', 'upstream-live.js');
const CLOUD = join(PROJECT_ROOT, 'flows', 'cloud.json');

const folders: string[] = [];

function tempFolder(): string {
    const folder = mkdtempSync(join(tmpdir(), 'ul-flows-'));
    folders.push(folder);
    return folder;
}

afterEach(() => {
    while (folders.length > 0) rmSync(folders.pop() as string, { recursive: true, force: true });
});

function capture(cwd: string): FlowsIo & { out: string; err: string } {
    const io = {
        out: '',
        err: '',
        cwd,
        stdout: (text: string) => {
            io.out += text;
        },
        stderr: (text: string) => {
            io.err += text;
        },
    };
    return io;
}

type FlowEntry = Record<string, unknown> & { id: string };

function editCloud(folder: string, name: string, edit: (nodes: FlowEntry[]) => void): string {
    const nodes = JSON.parse(readFileSync(CLOUD, 'utf8')) as FlowEntry[];
    edit(nodes);
    const path = join(folder, name);
    writeFileSync(path, JSON.stringify(nodes, null, 4) + '\n');
    return path;
}

function entry(nodes: FlowEntry[], id: string): FlowEntry {
    const found = nodes.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`test setup: node ${id} not in flows/cloud.json`);
    return found;
}

function git(cwd: string, ...args: string[]): string {
    return execFileSync('git', ['-c', 'user.name=Flow Test', '-c', 'user.email=flows@example.invalid', ...args], { cwd, encoding: 'utf8' });
}

describe('flows usage', () => {
    it('should fail without a subcommand', () => {
        const io = capture(tempFolder());

        expect(runFlowsCommand([], io)).toBe(2);
        expect(io.out).toBe('');
        expect(io.err).toContain('upstream-live flows: missing command');
        expect(io.err).toContain(FLOWS_USAGE);
    });

    it('should print help to stdout on request', () => {
        const io = capture(tempFolder());

        expect(runFlowsCommand(['help'], io)).toBe(0);
        expect(io.out).toBe(`${FLOWS_USAGE}\n`);
        expect(io.err).toBe('');
    });
});

describe('flows fmt', () => {
    it('should rewrite and list changed files', () => {
        const folder = tempFolder();
        copyFileSync(CLOUD, join(folder, 'cloud.json'));
        editCloud(folder, 'shuffled.json', (nodes) => nodes.reverse());
        const io = capture(folder);

        expect(runFlowsCommand(['fmt', 'cloud.json', 'shuffled.json'], io)).toBe(0);
        expect(io.out).toBe('formatted shuffled.json\n');
        expect(readFileSync(join(folder, 'shuffled.json'), 'utf8')).not.toBe(readFileSync(join(folder, 'cloud.json'), 'utf8'));

        const again = capture(folder);
        expect(runFlowsCommand(['fmt', '.'], again)).toBe(0);
        expect(again.out).toBe('2 flow file(s) already canonical\n');
    });

    it('should keep and reject invalid JSON', () => {
        const folder = tempFolder();
        writeFileSync(join(folder, 'broken.json'), '[{"id": "a",');
        const io = capture(folder);
        expect(runFlowsCommand(['fmt', 'broken.json'], io)).toBe(1);
        expect(io.err).toContain('broken.json: invalid JSON');
        expect(readFileSync(join(folder, 'broken.json'), 'utf8')).toBe('[{"id": "a",');
    });
});

describe('flows check', () => {
    it('should skip credential files in a folder', () => {
        const folder = tempFolder();
        copyFileSync(CLOUD, join(folder, 'cloud.json'));
        writeFileSync(join(folder, 'cloud_cred.json'), '{"$": "encrypted"}');
        const io = capture(folder);
        expect(runFlowsCommand(['check', '.'], io)).toBe(0);
        expect(io.out).toBe('flows check: 1 file(s) passed\n');
    });

    it('should reject a path that does not exist', () => {
        expect(() => runFlowsCommand(['check', 'missing.json'], capture(tempFolder()))).toThrow(UsageError);
    });
});

describe('flows diff', () => {
    it('should print JSON with --json', () => {
        const folder = tempFolder();
        const edited = editCloud(folder, 'cloud.json', (nodes) => {
            entry(nodes, 'alerts-router').severities = 'P1';
        });
        const io = capture(folder);
        expect(runFlowsCommand(['diff', CLOUD, edited, '--json'], io)).toBe(0);
        const diff = JSON.parse(io.out);
        expect(diff.after).toBe(edited);
        expect(diff.nodes.changed[0].node.id).toBe('alerts-router');
        expect(diff.nodes.changed[0].properties).toEqual([{ property: 'severities', before: 'P1,P2', after: 'P1' }]);
    });

    it('should read git:REV:PATH with git show', () => {
        const folder = tempFolder();
        mkdirSync(join(folder, 'flows'));
        copyFileSync(CLOUD, join(folder, 'flows', 'cloud.json'));
        git(folder, 'init', '--quiet');
        git(folder, 'add', '.');
        git(folder, 'commit', '--quiet', '-m', 'flows');
        editCloud(join(folder, 'flows'), 'cloud.json', (nodes) => {
            entry(nodes, 'ingest-normalize').maxFutureSeconds = 600;
        });
        const io = capture(join(folder, 'flows'));

        expect(runFlowsCommand(['diff', 'git:HEAD:flows/cloud.json', 'cloud.json'], io)).toBe(0);
        expect(io.out.split('\n')).toEqual([
            'Flow changes from flows/cloud.json at HEAD to cloud.json',
            'Nodes',
            '  changed  normalize (ul-normalize, ingest-normalize) on Ingest and store',
            '      maxFutureSeconds: 300 → 600',
            '',
        ]);
        expect(() => runFlowsCommand(['diff', 'git:HEAD~5:flows/cloud.json', 'cloud.json'], capture(folder))).toThrow(/git show HEAD~5:flows\/cloud.json failed/);
    });

    it('should need two existing operands', () => {
        expect(() => runFlowsCommand(['diff', CLOUD], capture(tempFolder()))).toThrow(UsageError);
        expect(() => runFlowsCommand(['diff', CLOUD, 'missing.json'], capture(tempFolder()))).toThrow('missing.json not found; name an existing flow file.');
        expect(() => runFlowsCommand(['diff', CLOUD, CLOUD, '--colour'], capture(tempFolder()))).toThrow(/Unknown option "--colour"/);
    });
});

describe('flows show', () => {
    it('should print invalid JSON unchanged', () => {
        const folder = tempFolder();
        writeFileSync(join(folder, 'conflict.json'), '<<<<<<< ours\n[]\n');
        const io = capture(folder);
        expect(runFlowsCommand(['show', 'conflict.json'], io)).toBe(0);
        expect(io.out).toBe('<<<<<<< ours\n[]\n');
        expect(io.err).toContain('Showing the file as it is.');
    });
});

describe('compiled upstream-live flows command', () => {
    beforeAll(() => {
        if (!existsSync(join(PROJECT_ROOT, 'dist', 'runtime', 'flows-command.js'))) {
            throw new Error('dist/runtime/flows-command.js is missing; run `npm run build` before this test.');
        }
    });

    function run(args: string[], cwd = PROJECT_ROOT): { status: number | null; stdout: string; stderr: string } {
        const result = spawnSync(process.execPath, [BIN, 'flows', ...args], { cwd, encoding: 'utf8' });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    it('should pass the repository flows', () => {
        const result = run(['check', 'flows/']);
        expect(result.stderr).toBe('');
        expect(result.stdout).toBe('flows check: 2 file(s) passed\n');
        expect(result.status).toBe(0);
    });

    it('should exit 1 with one line per problem', () => {
        const folder = tempFolder();
        editCloud(folder, 'cloud.json', (nodes) => {
            entry(nodes, 'alerts-router').password = 'hunter2';
            entry(nodes, 'ingest-verify').wires = [['ingest-normalize'], ['nowhere']];
        });
        const result = run(['check', folder]);
        const lines = result.stderr.trim().split('\n');
        expect(result.status).toBe(1);
        expect(lines).toHaveLength(4);
        expect(lines[0]).toMatch(/cloud\.json: node .*: keys are not in canonical order/);
        expect(lines[1]).toContain('node verify signature (ul-verify, ingest-verify): output 2 is wired to "nowhere"');
        expect(lines[2]).toContain('node alert router (ul-alert-router, alerts-router): property "password" contains a literal credential. Fix: ');
        expect(lines[3]).toBe('flows check: 3 problem(s) in 1 file(s)');
    });

    it('should exit 2 on a usage error', () => {
        const result = run(['check']);
        expect(result.status).toBe(2);
        expect(result.stderr).toContain('Name the flow files to check');
    });

    it('should exit 2 without a subcommand', () => {
        const result = run([]);
        expect(result.status).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain('Usage: upstream-live flows <command>');
    });

    it('should work as a git textconv diff driver', () => {
        const folder = tempFolder();
        mkdirSync(join(folder, 'flows'));
        const nodes = JSON.parse(readFileSync(CLOUD, 'utf8')) as FlowEntry[];
        nodes.push({ id: 'alerts-flag', type: 'function', z: 'cloud-alerts', name: 'flag', func: 'const limit = 100;\nreturn msg;', outputs: 1, x: 260, y: 160, wires: [[]] });
        writeFileSync(join(folder, 'flows', 'cloud.json'), JSON.stringify(nodes, null, 4) + '\n');
        // The recipe of the README, in a repository whose bin/upstream-live.js is this project's.
        mkdirSync(join(folder, 'bin'));
        symlinkSync(BIN, join(folder, 'bin', 'upstream-live.js'));
        writeFileSync(join(folder, '.gitattributes'), 'flows/*.json diff=nodered\n');
        git(folder, 'init', '--quiet');
        git(folder, 'config', 'diff.nodered.textconv', 'node bin/upstream-live.js flows show');
        git(folder, 'config', 'diff.nodered.xfuncname', '^((tab|subflow|config|node) .*)$');
        git(folder, 'add', '.');
        git(folder, 'commit', '--quiet', '-m', 'flows');

        entry(nodes, 'alerts-flag').func = 'const limit = 120;\nreturn msg;';
        entry(nodes, 'ingest-verify').x = 400;
        const tabs = nodes.filter((node) => node.type === 'tab');
        const reordered = [...nodes.filter((node) => node.type !== 'tab').reverse(), ...tabs];
        writeFileSync(join(folder, 'flows', 'cloud.json'), JSON.stringify(reordered, null, 4) + '\n');
        // Git runs the filter from the top of the work tree, so a subfolder works too.
        const diff = git(join(folder, 'flows'), 'diff');

        const changed = diff.split('\n').filter((line) => /^[-+][^-+]/.test(line));
        expect(changed).toEqual(['-        const limit = 100;', '+        const limit = 120;']);
        expect(diff).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@ node .+ \(.+, .+\) on .+$/m);
        expect(git(folder, 'diff', '--no-textconv')).toContain('-        "func": "const limit = 100;\\nreturn msg;",');
    });
});
