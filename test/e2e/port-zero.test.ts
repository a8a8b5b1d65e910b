import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { startDemo, type DemoProcess } from '../support/demo-process';

describe('start with port 0', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ul-port-zero-'));
    let demo: DemoProcess | undefined;

    afterAll(async () => {
        await demo?.stop();
        rmSync(dataDir, { recursive: true, force: true });
    });

    it('should print the ports the system chose in the banner', async () => {
        demo = await startDemo(dataDir, ['--port', '0', '--edge-port', '0', '--mqtt-port', '0', '--import-demo-report', 'false']);
        await demo.waitFor('Press Ctrl-C to stop.', 90_000);

        const dashboard = /Dashboard\s+http:\/\/127\.0\.0\.1:(\d+)\/dashboard\//.exec(demo.output());
        const edge = /Edge editor\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(demo.output());
        expect(dashboard).not.toBeNull();
        expect(edge).not.toBeNull();
        const cloudPort = Number(dashboard?.[1]);
        const edgePort = Number(edge?.[1]);
        expect(cloudPort).toBeGreaterThan(0);
        expect(edgePort).toBeGreaterThan(0);

        expect((await fetch(`http://127.0.0.1:${cloudPort}/healthz`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${edgePort}/`)).status).toBeLessThan(500);
    }, 120_000);
});
