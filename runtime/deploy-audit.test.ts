import { describe, expect, it } from 'vitest';

import type { FlowNode } from '../lib/flows/model';
import { DeployAuditor, type DeployRecord } from './deploy-audit';
import { createLogger } from './logging';

const tab = { id: 't1', type: 'tab', label: 'Ingest' } as FlowNode;
const verify = { id: 'v1', type: 'ul-verify', z: 't1', name: 'verify', registryFile: 'devices.json', x: 100, y: 100, wires: [['n1']] } as unknown as FlowNode;
const normalize = { id: 'n1', type: 'ul-normalize', z: 't1', name: 'normalize', maxFutureSeconds: 300, x: 300, y: 100, wires: [[]] } as unknown as FlowNode;

function auditor() {
    const records: DeployRecord[] = [];
    const lines: string[] = [];
    const logger = createLogger({}, { write: (line) => lines.push(line), format: 'json' });
    return { records, lines, instance: new DeployAuditor({ role: 'cloud', logger, record: async (record) => void records.push(record) }) };
}

describe('DeployAuditor', () => {
    it('should take the runtime start as the baseline', async () => {
        const { records, instance } = auditor();

        expect(await instance.flowsStarted({ config: { flows: [tab, verify, normalize] }, type: 'full' })).toBeUndefined();
        expect(records).toEqual([]);
    });

    it('should record who deployed what', async () => {
        const { records, lines, instance } = auditor();
        await instance.flowsStarted({ config: { flows: [tab, verify, normalize] } });
        instance.noteAudit({ event: 'flows.set', type: 'nodes', user: { username: 'admin' } });
        const changed = { ...normalize, maxFutureSeconds: 600 } as unknown as FlowNode;
        const added = { id: 'd1', type: 'debug', z: 't1', name: 'tap', x: 500, y: 100, wires: [] } as unknown as FlowNode;

        const record = await instance.flowsStarted({ config: { flows: [tab, verify, changed, added] } });

        expect(record?.actor).toBe('admin');
        expect(record?.type).toBe('nodes');
        expect(record?.summary).toMatchObject({ added: 1, removed: 0, changed: 1 });
        expect(record?.nodes.changed).toEqual(['normalize (ul-normalize, n1)']);
        expect(record?.nodes.added).toEqual(['tap (debug, d1)']);
        expect(records).toHaveLength(1);
        expect(lines.some((line) => line.includes('"msg":"flows deployed"') && line.includes('"actor":"admin"'))).toBe(true);
    });

    it('should ignore a restart without a deploy request', async () => {
        const { records, instance } = auditor();
        await instance.flowsStarted({ config: { flows: [tab, verify] } });
        instance.noteAudit({ event: 'flows.get', user: { username: 'analyst' } });

        expect(await instance.flowsStarted({ config: { flows: [tab, verify, normalize] } })).toBeUndefined();
        expect(records).toEqual([]);
    });
});
