import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { PROJECT_ROOT } from '../paths';
import { OPTION_SPECS } from '../../runtime/options';
import { CONTRIB_NODE_TYPES, CORE_NODE_TYPES, FORBIDDEN_NODE_TYPES, RUNTIME_ENV_NAMES, nodeTypesFromPackage } from './known';

describe('RUNTIME_ENV_NAMES', () => {
    it('should list every option variable', () => {
        for (const spec of OPTION_SPECS) expect(RUNTIME_ENV_NAMES, spec.flag).toContain(spec.env);
    });

    it('should list every flow default of the runtime', () => {
        // flowEnvironment is private to runtime/process.ts, so its keys are read from the source.
        const source = readFileSync(join(PROJECT_ROOT, 'runtime', 'process.ts'), 'utf8');
        const body = source.slice(source.indexOf('function flowEnvironment'), source.indexOf('export async function runRole'));
        const names = [...body.matchAll(/^\s+(UL_[A-Z0-9_]+):/gm)].map((match) => match[1]);
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) expect(RUNTIME_ENV_NAMES, name).toContain(name);
    });

    it('should list nothing else', () => {
        const source = readFileSync(join(PROJECT_ROOT, 'runtime', 'process.ts'), 'utf8');
        const known = new Set([...OPTION_SPECS.map((spec) => spec.env), ...[...source.matchAll(/(UL_[A-Z0-9_]+):/g)].map((match) => match[1])]);
        expect(RUNTIME_ENV_NAMES.filter((name) => !known.has(name))).toEqual([]);
    });
});

describe('nodeTypesFromPackage', () => {
    it('should read the node types of package.json', () => {
        const types = nodeTypesFromPackage(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')));
        expect(types).toContain('ul-verify');
        expect(types).toContain('ul-ui-page');
        expect(types.every((type) => type.startsWith('ul-'))).toBe(true);
    });

    it('should return nothing without a node-red key', () => {
        expect(nodeTypesFromPackage({ name: 'x' })).toEqual([]);
        expect(nodeTypesFromPackage(null)).toEqual([]);
    });
});

describe('CORE_NODE_TYPES', () => {
    it('should contain every installed core type', () => {
        // The core node set of the installed Node-RED; a newer release may register more types.
        const coreDir = join(PROJECT_ROOT, 'node_modules', '@node-red', 'nodes', 'core');
        const registered = new Set<string>();
        for (const folder of ['common', 'function', 'network', 'parsers', 'sequence', 'storage']) {
            for (const file of readdirSync(join(coreDir, folder))) {
                if (!file.endsWith('.js')) continue;
                const source = readFileSync(join(coreDir, folder, file), 'utf8');
                for (const match of source.matchAll(/registerType\(\s*["']([^"']+)["']/g)) registered.add(match[1]);
            }
        }
        registered.delete('unknown');
        expect(registered.size).toBeGreaterThan(40);
        expect([...registered].filter((type) => !CORE_NODE_TYPES.includes(type))).toEqual([]);
    });
});

describe('CONTRIB_NODE_TYPES', () => {
    it('should split every installed Modbus type into allowed and forbidden', () => {
        const folder = join(PROJECT_ROOT, 'node_modules', 'node-red-contrib-modbus', 'modbus');
        const registered = new Set<string>();
        for (const file of readdirSync(folder)) {
            if (!file.endsWith('.js')) continue;
            const source = readFileSync(join(folder, file), 'utf8');
            for (const match of source.matchAll(/registerType\(\s*["']([^"']+)["']/g)) registered.add(match[1]);
        }
        const listed = [...CONTRIB_NODE_TYPES, ...Object.keys(FORBIDDEN_NODE_TYPES)];

        expect(registered.size).toBeGreaterThan(10);
        expect([...registered].sort()).toEqual([...listed].sort());
    });

    it('should forbid the vm2 flex server only', () => {
        expect(Object.keys(FORBIDDEN_NODE_TYPES)).toEqual(['modbus-flex-server']);
        expect(CONTRIB_NODE_TYPES).not.toContain('modbus-flex-server');
        expect(FORBIDDEN_NODE_TYPES['modbus-flex-server']).toContain('vm2');
    });
});
