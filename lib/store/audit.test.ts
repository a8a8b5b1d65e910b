import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { closeAllStores, openStore } from './index';
import type { Store } from './types';

const folder = mkdtempSync(join(tmpdir(), 'ul-audit-'));
let store: Store;

beforeAll(async () => {
    store = await openStore({ engine: 'pglite', dataDir: join(folder, 'db') });
}, 60_000);

afterAll(async () => {
    await closeAllStores();
    rmSync(folder, { recursive: true, force: true });
});

describe('audit log', () => {
    it('should chain each entry to the one before', async () => {
        const first = await store.appendAudit({ actor: 'admin', action: 'flows.deploy', subject: 'flows/cloud.json', details: { changed: 1 } });
        const second = await store.appendAudit({ actor: 'petrobras-ops', action: 'alert.ack', subject: 'event-1' });
        const listed = await store.listAudit();

        expect(first.prev_hash).toBeNull();
        expect(second.prev_hash).toBe(first.hash);
        expect(listed.map((entry) => entry.action)).toEqual(['alert.ack', 'flows.deploy']);
        expect(await store.verifyAudit()).toBeUndefined();
    });

    it('should find a changed entry', async () => {
        const third = await store.appendAudit({ actor: 'admin', action: 'user.change', details: { user: 'analyst' } });
        const entries = await store.listAudit();
        const target = entries[entries.length - 1];
        await store.query(`UPDATE audit_log SET details = '{"changed": 5}'::jsonb WHERE id = $1`, [target.id]);

        expect(third.id).toBeGreaterThan(target.id);
        expect(await store.verifyAudit()).toBe(target.id);
    });
});
