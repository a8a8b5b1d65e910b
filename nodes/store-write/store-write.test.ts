import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Node } from 'node-red';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { metricValue } from '../../lib/observability/counters';
import { closeAllStores, openStore, type StoreHandle } from '../../lib/store';
import type { Reading } from '../../lib/types';
import storeNode, { type StoreConfigNode } from '../store/store';
import storeWriteNode from './store-write';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

// The flows name the data folder relative to the runtime data folder. The test opens the same
// database by its absolute path, which keeps it open between flows and checks the resolution.
const runtimeDir = mkdtempSync(join(tmpdir(), 'ul-store-write-test-'));
let store: StoreHandle;

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    helper.settings({ upstreamLive: { dataDir: runtimeDir } });
    store = await openStore({ engine: 'pglite', dataDir: join(runtimeDir, 'db') });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await closeAllStores();
    rmSync(runtimeDir, { recursive: true, force: true });
});

function readings(asset: string, count: number, firstSecond = 0): Reading[] {
    return Array.from({ length: count }, (_, i) => ({
        asset_id: asset,
        metric: 'oil_rate',
        value: 100 + i,
        unit: 'bopd',
        ts: new Date(Date.UTC(2017, 2, 20, 0, 0, firstSecond + i)).toISOString(),
    }));
}

function flow(settings: Record<string, unknown> = {}): unknown[] {
    return [
        { id: 'store-1', type: 'ul-store', engine: 'pglite', dataDir: 'db', connection: '' },
        { id: 'write-1', type: 'ul-store-write', store: 'store-1', batchSize: 10, maxWaitMs: 60_000, maxBuffered: 1_000, ...settings, wires: [['stored'], ['rejected']] },
        { id: 'stored', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ];
}

/** Collects the next `count` messages that reach a helper node. */
function collect(id: string, count: number, log?: string[]): Promise<Record<string, unknown>[]> {
    const messages: Record<string, unknown>[] = [];
    return new Promise((resolve) => {
        helper.getNode(id).on('input', (msg: Record<string, unknown>) => {
            log?.push(`output ${String(msg.topic)}`);
            messages.push(msg);
            if (messages.length === count) resolve(messages);
        });
    });
}

describe('ul-store-write batching', () => {
    it('should batch messages and forward after commit', async () => {
        await helper.load([storeNode, storeWriteNode], flow());
        const log: string[] = [];
        const config = helper.getNode('store-1') as StoreConfigNode;
        const shared = await config.getStore();
        const write = shared.writeReadings.bind(shared);
        const spy = vi.spyOn(shared, 'writeReadings').mockImplementation(async (batch) => {
            const result = await write(batch);
            log.push(`commit ${batch.length}`);
            return result;
        });
        const node = helper.getNode('write-1') as Node & { _complete: (msg: unknown, error?: unknown) => void };
        const complete = vi.spyOn(node, '_complete');
        const outputs = collect('stored', 3, log);
        const batchesBefore = metricValue('ul_store_batches_total') ?? 0;
        const secondsBefore = metricValue('ul_store_batch_seconds_total') ?? 0;

        node.receive({ topic: 'batch-a', payload: readings('batch-a', 4) });
        node.receive({ topic: 'batch-b', payload: readings('batch-b', 4) });
        node.receive({ topic: 'batch-c', payload: readings('batch-c', 2) });
        const messages = await outputs;

        expect(spy).toHaveBeenCalledTimes(1);
        expect(log).toEqual(['commit 10', 'output batch-a', 'output batch-b', 'output batch-c']);
        expect(messages.map((msg) => msg.stored)).toEqual([
            { inserted: 4, duplicates: 0 },
            { inserted: 4, duplicates: 0 },
            { inserted: 2, duplicates: 0 },
        ]);
        expect(messages[0].payload).toEqual(readings('batch-a', 4));
        expect(complete).toHaveBeenCalledTimes(3);
        expect(complete.mock.calls.every((call) => call[1] === undefined)).toBe(true);
        expect(await store.countReadings({ asset_id: 'batch-b' })).toBe(4);
        expect(metricValue('ul_store_batches_total')).toBe(batchesBefore + 1);
        expect(metricValue('ul_store_batch_seconds_total')).toBeGreaterThan(secondsBefore);
        spy.mockRestore();
    });

    it('should hold a message until the maximum wait has passed', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ maxWaitMs: 50 }));
        const node = helper.getNode('write-1');
        const outputs = collect('stored', 1);
        const started = Date.now();

        node.receive({ topic: 'wait-well', payload: readings('wait-well', 2) });
        const [msg] = await outputs;

        expect(Date.now() - started).toBeGreaterThanOrEqual(45);
        expect(msg.stored).toEqual({ inserted: 2, duplicates: 0 });
    });

    it('should report a redelivered message as duplicates', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ batchSize: 1 }));
        const node = helper.getNode('write-1');
        const outputs = collect('stored', 2);

        node.receive({ topic: 'redelivered', payload: readings('redelivered', 3) });
        node.receive({ topic: 'redelivered', payload: readings('redelivered', 3) });
        const messages = await outputs;

        expect(messages.map((msg) => msg.stored)).toEqual([{ inserted: 3, duplicates: 0 }, { inserted: 0, duplicates: 3 }]);
        expect(await store.countReadings({ asset_id: 'redelivered' })).toBe(3);
    });

    it('should pass on only new readings when set to new', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ batchSize: 1, passOn: 'new' }));
        const node = helper.getNode('write-1');
        const outputs = collect('stored', 2);

        node.receive({ topic: 'first', payload: readings('reimported', 3) });
        node.receive({ topic: 'again', payload: readings('reimported', 3) });
        node.receive({ topic: 'partly', payload: readings('reimported', 5) });
        const messages = await outputs;
        await new Promise((resolve) => setTimeout(resolve, 100));

        expect(messages.map((msg) => msg.topic)).toEqual(['first', 'partly']);
        expect((messages[1].payload as Reading[]).map((reading) => reading.ts)).toEqual(readings('reimported', 5).slice(3).map((reading) => reading.ts));
        expect(messages[1].stored).toEqual({ inserted: 2, duplicates: 3 });
    });

    it('should report an invalid pass on setting at deploy', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ passOn: 'some' }));
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors).toHaveLength(1);
    });

    it('should accept a single reading', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ batchSize: 1 }));
        const outputs = collect('stored', 1);

        helper.getNode('write-1').receive({ topic: 'single', payload: readings('single', 1)[0] });
        const [msg] = await outputs;

        expect(msg.stored).toEqual({ inserted: 1, duplicates: 0 });
    });
});

describe('ul-store-write rejections', () => {
    it('should send invalid readings to the rejected output and store the rest', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ batchSize: 1 }));
        const rejected = collect('rejected', 1);
        const stored = collect('stored', 1);
        const bad = { ...readings('mixed', 1)[0], ts: '2017-03-20 00:00:00' };

        helper.getNode('write-1').receive({ topic: 'mixed', payload: [...readings('mixed', 2, 10), bad] });
        const [rejectedMsg] = await rejected;
        const [storedMsg] = await stored;

        expect(rejectedMsg.payload).toMatchObject([{ code: 'invalid_reading', field: 'ts', payload: bad }]);
        expect(storedMsg.stored).toEqual({ inserted: 2, duplicates: 0 });
    });

    it('should reject an oversized value', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ batchSize: 1 }));
        const rejected = collect('rejected', 1);
        const stored = collect('stored', 1);
        const huge = { ...readings('huge', 1, 5)[0], value: 1e200 };

        helper.getNode('write-1').receive({ topic: 'huge', payload: [...readings('huge', 1), huge] });
        const [rejectedMsg] = await rejected;
        const [storedMsg] = await stored;

        expect(rejectedMsg.payload).toMatchObject([{ code: 'invalid_reading', field: 'value', value: 1e200, payload: huge }]);
        expect(storedMsg.stored).toEqual({ inserted: 1, duplicates: 0 });
    });
});

describe('ul-store-write settings', () => {
    it('should report invalid settings at deploy', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ batchSize: 100, maxBuffered: 10 }));
        const errors = helper.log().args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20);

        expect(errors.map((call: unknown[]) => (call[0] as { msg: string }).msg)).toEqual(['ul-store-write.errors.invalid-settings']);
    });

    it('should write buffered readings when the flow stops', async () => {
        await helper.load([storeNode, storeWriteNode], flow({ batchSize: 1_000 }));
        helper.getNode('write-1').receive({ topic: 'flushed', payload: readings('flushed', 5) });

        await helper.unload();

        expect(await store.countReadings({ asset_id: 'flushed' })).toBe(5);
    });
});
