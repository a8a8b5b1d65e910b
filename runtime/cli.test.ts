import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';

import { main } from './cli';

let stderr: MockInstance;
let stdout: MockInstance;
const folders: string[] = [];

beforeEach(() => {
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(() => {
    vi.restoreAllMocks();
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function written(spy: MockInstance): string {
    return spy.mock.calls.map((call) => String(call[0])).join('');
}

describe('upstream-live command', () => {
    it('should reject a stray argument of start', async () => {
        expect(await main(['start', 'extra'])).toBe(2);
        expect(written(stderr)).toContain('Unexpected argument "extra"');
        expect(written(stderr)).toContain('upstream-live --help');
    });

    it('should exit 2 for flows without a subcommand', async () => {
        expect(await main(['flows'])).toBe(2);
        expect(written(stderr)).toContain('Usage: upstream-live flows <command>');
        expect(written(stdout)).toBe('');
    });

    it('should show help for token --help', async () => {
        expect(await main(['token', '--help'])).toBe(0);
        expect(written(stdout)).toContain('Usage: upstream-live token USER [--data-dir DIR]');
        expect(written(stderr)).toBe('');
    });

    it('should show help for flows check --help', async () => {
        expect(await main(['flows', 'check', '--help'])).toBe(0);
        expect(written(stdout)).toContain('Usage: upstream-live flows <command>');
        expect(written(stderr)).toBe('');
    });

    it('should read the token user after options', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'ul-cli-'));
        folders.push(dataDir);

        expect(await main(['token', '--data-dir', dataDir, 'admin'])).toBe(2);
        expect(written(stderr)).toContain(`No demo accounts in ${dataDir};`);
    });

    it('should reject a second token user', async () => {
        expect(await main(['token', 'admin', 'analyst'])).toBe(2);
        expect(written(stderr)).toContain('Unexpected argument "analyst"');
    });
});
