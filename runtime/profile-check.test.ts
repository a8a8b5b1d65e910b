// Starting a runtime whose flow file needs what its profile lacks fails at start-up with exit
// code 2 and a message naming the node, before Node-RED or any server starts.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { FLOWS_DIR, PROJECT_ROOT } from '../lib/paths';

const folder = mkdtempSync(join(tmpdir(), 'ul-profile-'));

afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
});

describe('profile capability check at start-up', () => {
    it('should refuse the cloud flow on the edge profile', () => {
        const flows = join(folder, 'flows');
        mkdirSync(flows, { recursive: true });
        copyFileSync(join(FLOWS_DIR, 'cloud.json'), join(flows, 'edge.json'));

        const started = Date.now();
        const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/upstream-live.js'), 'start', '--profile', 'edge', '--data-dir', join(folder, 'data'), '--edge-port', '0'], {
            env: { ...process.env, UL_FLOWS_DIR: flows },
            encoding: 'utf8',
            timeout: 60_000,
        });

        expect(result.status).toBe(2);
        expect(result.stdout + result.stderr).toContain('cannot run on the edge profile');
        expect(result.stdout + result.stderr).toContain('(ul-mqtt-ingest, ingest-mqtt-in)');
        expect(result.stdout + result.stderr).toContain('move the node to the cloud flow, or start this flow with --profile cloud');
        // Refused before Node-RED loaded, which takes seconds.
        expect(Date.now() - started).toBeLessThan(30_000);
    });
});
