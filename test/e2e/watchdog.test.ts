// The supervisor's watchdog: a cloud runtime that stops sending heartbeats (here frozen with
// SIGSTOP) is killed and started again, and the API responds afterwards.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { startDemo, type DemoProcess } from '../support/demo-process';

describe('supervisor watchdog', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ul-watchdog-'));
    let demo: DemoProcess | undefined;
    let frozenPid: number | undefined;

    afterAll(async () => {
        // A frozen process would survive the test, so it is continued and killed if still there.
        if (frozenPid !== undefined) {
            try {
                process.kill(frozenPid, 'SIGCONT');
                process.kill(frozenPid, 'SIGKILL');
            } catch {
                // Already gone: the watchdog killed it.
            }
        }
        await demo?.stop();
        rmSync(dataDir, { recursive: true, force: true });
    });

    it('should restart a frozen cloud runtime', async () => {
        demo = await startDemo(dataDir, ['--import-demo-report', 'false'], { UL_WATCHDOG_SECONDS: '3' });
        await demo.waitFor('Press Ctrl-C to stop.', 90_000);
        frozenPid = Number(readFileSync(join(dataDir, 'run', 'cloud.pid'), 'utf8'));

        process.kill(frozenPid, 'SIGSTOP');
        await demo.waitFor(/cloud runtime sent no heartbeat for \d+ s; killing it so that it restarts/, 20_000);
        await demo.waitFor(/cloud runtime ready[\s\S]*cloud runtime ready/, 60_000);

        const restartedPid = Number(readFileSync(join(dataDir, 'run', 'cloud.pid'), 'utf8'));
        expect(restartedPid).not.toBe(frozenPid);
        expect((await fetch(`${demo.baseUrl}/healthz`)).status).toBe(200);
    }, 150_000);
});
