import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Node } from 'node-red';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { closeAllStores, openStore, type StoreHandle } from '../../lib/store';
import type { Rejection } from '../../lib/types';
import storeNode, { type StoreConfigNode } from '../store/store';
import quarantineNode from './quarantine';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const folder = mkdtempSync(join(tmpdir(), 'ul-quarantine-test-'));
const dataDir = join(folder, 'db');
let store: StoreHandle;

beforeAll(async () => {
    helper.init(require.resolve('node-red'));
    store = await openStore({ engine: 'pglite', dataDir });
});

afterEach(async () => {
    await helper.unload();
});

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

const flow = [
    { id: 'store-1', type: 'ul-store', engine: 'pglite', dataDir, connection: '' },
    { id: 'quarantine-1', type: 'ul-quarantine', store: 'store-1' },
];

type CompletingNode = Node & { _complete: (msg: unknown, error?: unknown) => void };

/** Sends a message and resolves with the error passed to done(), or undefined. */
function receive(node: CompletingNode, payload: unknown, log?: string[]): Promise<unknown> {
    return new Promise((resolve) => {
        const original = node._complete;
        node._complete = (msg, error) => {
            node._complete = original;
            log?.push('done');
            original.call(node, msg, error);
            resolve(error);
        };
        node.receive({ payload });
    });
}

function rejection(ref: string): Rejection {
    return {
        source: 'report:volve-daily.csv',
        code: 'unknown_metric',
        reason: 'Column "BORE_XYZ_VOL" is not a known metric; map it in the report profile.',
        field: 'BORE_XYZ_VOL',
        value: 12.5,
        ref,
        received_at: '2016-06-02T08:00:00.000Z',
    };
}

describe('ul-quarantine', () => {
    it('should store rejections before completing the message', async () => {
        await helper.load([storeNode, quarantineNode], flow);
        const node = helper.getNode('quarantine-1') as CompletingNode;
        const shared = await (helper.getNode('store-1') as StoreConfigNode).getStore();
        const write = shared.writeQuarantine.bind(shared);
        const log: string[] = [];
        vi.spyOn(shared, 'writeQuarantine').mockImplementation(async (rows) => {
            const stored = await write(rows);
            log.push('commit');
            return stored;
        });

        const error = await receive(node, [rejection('row 2'), rejection('row 3')], log);

        expect(error).toBeUndefined();
        expect(log).toEqual(['commit', 'done']);
        expect(await store.listQuarantine({ source: 'report:volve-daily.csv' })).toHaveLength(2);
        vi.restoreAllMocks();
    });

    it('should keep a redelivered rejection once and count only new ones', async () => {
        await helper.load([storeNode, quarantineNode], flow);
        const node = helper.getNode('quarantine-1') as CompletingNode;
        const statuses = vi.spyOn(node, 'status');

        await receive(node, rejection('row 7'));
        await receive(node, rejection('row 7'));

        expect((await store.listQuarantine({ source: 'report:volve-daily.csv' })).filter((r) => r.ref === 'row 7')).toHaveLength(1);
        expect(statuses).toHaveBeenLastCalledWith({ fill: 'green', shape: 'dot', text: 'ul-quarantine.status.count' });
    });

    it('should fill in a missing receive time', async () => {
        await helper.load([storeNode, quarantineNode], flow);
        const node = helper.getNode('quarantine-1') as CompletingNode;
        const { received_at: _dropped, ...withoutTime } = rejection('row 9');

        await receive(node, { ...withoutTime, source: 'api:ingest' });
        const [row] = await store.listQuarantine({ source: 'api:ingest' });

        expect(Date.now() - Date.parse(row.received_at)).toBeLessThan(60_000);
    });

    it('should shorten a long offending value', async () => {
        await helper.load([storeNode, quarantineNode], flow);
        const node = helper.getNode('quarantine-1') as CompletingNode;
        const pad = 'p'.repeat(5_000);

        const error = await receive(node, { ...rejection('row 10'), source: 'mqtt:long-value', field: 'pad', value: pad, payload: { pad } });
        const [row] = await store.listQuarantine({ source: 'mqtt:long-value' });

        expect(error).toBeUndefined();
        expect(row.value).toBe(`"${'p'.repeat(1_023)}... (5002 characters in all)`);
        expect(row.payload).toEqual({ pad });
    });

    it('should store a note for an unserializable payload', async () => {
        await helper.load([storeNode, quarantineNode], flow);
        const node = helper.getNode('quarantine-1') as CompletingNode;
        const circular: Record<string, unknown> = {};
        circular.self = circular;

        const error = await receive(node, { ...rejection('row 11'), source: 'mqtt:circular', payload: circular });
        const [row] = await store.listQuarantine({ source: 'mqtt:circular' });

        expect(error).toBeUndefined();
        expect(String((row.payload as { not_serializable: string }).not_serializable)).toMatch(/circular/i);
    });

    it('should fail a message that holds no rejections', async () => {
        await helper.load([storeNode, quarantineNode], flow);
        const node = helper.getNode('quarantine-1') as CompletingNode;

        const error = await receive(node, [{ asset_id: 'well-1', value: 3 }]);

        expect(String(error)).toMatch(/Item 0 of msg.payload has no source string/);
    });
});
