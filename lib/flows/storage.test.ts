import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FLOWS_DIR } from '../paths';
import { formatFlowText } from './canonical';
import { lineEdits } from './line-diff';
import type { FlowNode } from './model';
import { canonicalFlowStorage, resolveFlowPath } from './storage';

const CLOUD_TEXT = readFileSync(join(FLOWS_DIR, 'cloud.json'), 'utf8');

/**
 * Returns a copy of the flows with the keys of every node reversed and every entry except the
 * tabs in a fixed shuffled order. Tabs stay in order because the canonical form keeps the tab
 * order of the editor.
 */
function shuffled(nodes: FlowNode[], seed: number): FlowNode[] {
    const copy = nodes.map((node) => Object.fromEntries(Object.entries(node).reverse()) as FlowNode);
    const tabs = copy.filter((node) => node.type === 'tab');
    const others = copy.filter((node) => node.type !== 'tab');
    let state = seed;
    for (let index = others.length - 1; index > 0; index--) {
        state = (state * 1103515245 + 12345) % 2147483648;
        const other = state % (index + 1);
        [others[index], others[other]] = [others[other], others[index]];
    }
    return [...others.slice(0, 3), ...tabs, ...others.slice(3)];
}

function changedLines(before: string, after: string): number {
    return lineEdits(before.split('\n'), after.split('\n')).filter((edit) => edit.kind !== ' ').length;
}

const tempDir = mkdtempSync(join(tmpdir(), 'ul-flow-storage-'));
const userDir = join(tempDir, 'user');
const flowFile = join(tempDir, 'project', 'flows', 'cloud.json');

beforeAll(async () => {
    mkdirSync(join(tempDir, 'project', 'flows'), { recursive: true });
    writeFileSync(flowFile, CLOUD_TEXT);
    await canonicalFlowStorage.init({ userDir, flowFile, editorTheme: { projects: { enabled: false } } }, {});
});

afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

describe('canonical flow storage', () => {
    it('should read the flow file', async () => {
        const flows = await canonicalFlowStorage.getFlows();

        expect(flows).toEqual(JSON.parse(CLOUD_TEXT));
    });

    it('should save shuffled flows as fmt output', async () => {
        const input = shuffled(JSON.parse(CLOUD_TEXT) as FlowNode[], 7);
        const expected = formatFlowText(JSON.stringify(input), 'input');
        await canonicalFlowStorage.saveFlows(input);

        expect(readFileSync(flowFile, 'utf8')).toBe(expected);
        expect(readFileSync(flowFile, 'utf8')).toBe(CLOUD_TEXT);
        expect(existsSync(join(tempDir, 'project', 'flows', '.cloud.json.backup'))).toBe(true);
    });

    it('should change two lines for one property', async () => {
        await canonicalFlowStorage.saveFlows(JSON.parse(CLOUD_TEXT) as FlowNode[]);
        const before = readFileSync(flowFile, 'utf8');
        const input = shuffled(JSON.parse(CLOUD_TEXT) as FlowNode[], 11);
        const moved = input.find((node) => typeof node.x === 'number' && node.z !== undefined) as FlowNode;
        moved.x = (moved.x as number) + 20;
        await canonicalFlowStorage.saveFlows(input);
        const after = readFileSync(flowFile, 'utf8');

        expect(changedLines(before, after)).toBe(2);
        expect(after.split('\n').length).toBe(before.split('\n').length);
        expect(after).toContain(`"x": ${moved.x as number},`);
    });

    it('should change fewer lines than Node-RED', async () => {
        // Node-RED's own storage writes the entries and keys in the order the editor sends them.
        const input = shuffled(JSON.parse(CLOUD_TEXT) as FlowNode[], 11);
        const plain = JSON.stringify(input, null, 4);
        await canonicalFlowStorage.saveFlows(input);
        const canonical = readFileSync(flowFile, 'utf8');

        expect(changedLines(CLOUD_TEXT, canonical)).toBe(0);
        expect(changedLines(CLOUD_TEXT, plain)).toBeGreaterThan(100);
    });

    it('should keep settings in userDir', async () => {
        await canonicalFlowStorage.saveSettings({ telemetryChecked: true });

        expect(await canonicalFlowStorage.getSettings()).toEqual({ telemetryChecked: true });
        expect(existsSync(join(userDir, '.config.runtime.json'))).toBe(true);
    });
});

describe('canonical flow storage in Node-RED', () => {
    it('should save a deploy through the storage interface', async () => {
        // The storage layer that Node-RED 4.1's runtime calls on deploy; it selects the module
        // from the `storageModule` setting.
        const storage = createRequire(import.meta.url)('@node-red/runtime/lib/storage');
        const settings = { userDir, flowFile, storageModule: canonicalFlowStorage, editorTheme: { projects: { enabled: false } } };
        await storage.init({ settings });
        const input = shuffled(JSON.parse(CLOUD_TEXT) as FlowNode[], 3);
        await storage.saveFlows({ flows: input, credentials: {}, credentialsDirty: false });
        const loaded = await storage.getFlows();

        expect(readFileSync(flowFile, 'utf8')).toBe(CLOUD_TEXT);
        expect(loaded.flows).toEqual(JSON.parse(CLOUD_TEXT));
    });
});

describe('resolveFlowPath', () => {
    it('should keep an absolute path', () => {
        expect(resolveFlowPath({ userDir: '/u', flowFile: '/p/flows.json' })).toBe('/p/flows.json');
    });

    it('should resolve ./ from the working folder', () => {
        expect(resolveFlowPath({ userDir: '/u', flowFile: './f.json' }, '/cwd')).toBe('/cwd/f.json');
    });

    it('should fall back to userDir', () => {
        expect(resolveFlowPath({ userDir: '/u', flowFile: 'absent-flows.json' }, tempDir)).toBe('/u/absent-flows.json');
    });
});
