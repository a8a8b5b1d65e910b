// The event-loop watchdog of an unsupervised runtime: a process whose main thread spins is killed
// by its watchdog thread, and one whose loop runs is left alone. Runs the built module in dist/.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../support/demo-process';

const MODULE = join(ROOT, 'dist', 'lib', 'observability', 'loop-watchdog.js');

/** Runs a script with the watchdog at a 1.5 s limit; resolves with its exit signal, code and stderr. */
function run(body: string): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string; ms: number }> {
    const script = `const { startLoopWatchdog } = require(${JSON.stringify(MODULE)}); startLoopWatchdog(1500, 'test'); ${body}`;
    const started = Date.now();
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
    });
    return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ signal, code, stderr, ms: Date.now() - started })));
}

describe('event loop watchdog', () => {
    it('should kill a process whose loop is blocked', async () => {
        const result = await run('setTimeout(() => { const end = Date.now() + 30000; while (Date.now() < end) {} }, 100);');

        expect(result.signal).toBe('SIGKILL');
        expect(result.stderr).toContain('test runtime: event loop blocked for');
        expect(result.ms).toBeLessThan(15_000);
    }, 30_000);

    it('should leave a responsive process alone', async () => {
        const result = await run('setTimeout(() => process.exit(0), 4000);');

        expect(result.signal).toBeNull();
        expect(result.code).toBe(0);
        expect(result.stderr).toBe('');
    }, 30_000);
});
