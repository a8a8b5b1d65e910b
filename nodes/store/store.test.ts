import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { closeAllStores, openStore } from '../../lib/store';
import storeNode, { type StoreConfigNode } from './store';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const runtimeDir = mkdtempSync(join(tmpdir(), 'ul-store-node-test-'));

beforeAll(() => {
    helper.init(require.resolve('node-red'));
    helper.settings({ upstreamLive: { dataDir: runtimeDir } });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await closeAllStores();
    rmSync(runtimeDir, { recursive: true, force: true });
});

function errorMessages(): string[] {
    return helper.log().args
        .filter((call: unknown[]) => (call[0] as { level: number }).level === 20)
        .map((call: unknown[]) => String((call[0] as { msg: unknown }).msg));
}

describe('ul-store', () => {
    it('should report a missing connection string at deploy', async () => {
        await helper.load([storeNode], [{ id: 'store-1', type: 'ul-store', engine: 'postgres', dataDir: 'db', connection: '' }]);
        const node = helper.getNode('store-1') as StoreConfigNode;

        expect(errorMessages()).toEqual([expect.stringMatching(/No PostgreSQL connection string is set/)]);
        await expect(node.getStore()).rejects.toThrow(/No PostgreSQL connection string/);
    });

    it('should open the database in the runtime data folder and share it', async () => {
        await helper.load([storeNode], [{ id: 'store-1', type: 'ul-store', engine: '${UL_STORE_ENGINE}', dataDir: 'db', connection: '' }]);
        const node = helper.getNode('store-1') as StoreConfigNode;
        const fromNode = await node.getStore();
        await fromNode.writeReadings([{ asset_id: 'shared', metric: 'oil_rate', value: 1, unit: 'bopd', ts: '2017-03-20T00:00:00.000Z' }]);

        const direct = await openStore({ engine: 'pglite', dataDir: join(runtimeDir, 'db') });

        expect(node.spec).toEqual({ engine: 'pglite', dataDir: join(runtimeDir, 'db') });
        expect(await direct.countReadings({ asset_id: 'shared' })).toBe(1);
        await direct.close();
    });

    it('should close its handle when the flow stops', async () => {
        await helper.load([storeNode], [{ id: 'store-1', type: 'ul-store', engine: 'pglite', dataDir: 'db', connection: '' }]);
        const handle = await (helper.getNode('store-1') as StoreConfigNode).getStore();

        await helper.unload();

        await expect(handle.countReadings()).rejects.toThrow(/handle is closed/);
    });
});
