import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { DATA_DIR, PROJECT_ROOT } from '../paths';
import { loadAssetRegistry, parseAssetRegistry, resolveRegistryPath, watchRegistryFile } from './asset-registry';
import { parseNormalizeSettings } from './settings';

const demoText = readFileSync(join(DATA_DIR, 'assets.json'), 'utf8');
const demoAssets = (JSON.parse(demoText) as { assets: { asset_id: string }[] }).assets;
const folders: string[] = [];

afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(): string {
    const folder = mkdtempSync(join(tmpdir(), 'ul-assets-'));
    folders.push(folder);
    return folder;
}

describe('parseAssetRegistry', () => {
    it('should index every demo asset', () => {
        const index = parseAssetRegistry(demoText, 'data/assets.json');

        expect(index.size).toBe(demoAssets.length);
        expect(index.get('volve-15-9-f-12')?.operator).toBe('equinor');
    });

    it('should reject text that is not JSON', () => {
        expect(() => parseAssetRegistry('{ assets: ', 'bad.json')).toThrow(/Asset registry bad.json is not valid JSON/);
        expect(() => parseAssetRegistry(' \n', 'empty.json')).toThrow(/empty.json is not valid JSON \(the file is empty\)/);
    });

    it('should give line and column of a syntax error', () => {
        // The demo registry with the comma after the first asset's "name" removed.
        const lines = demoText.split('\n');
        const nameLine = lines.findIndex((line) => line.includes('"name": "3W WELL-00001"'));
        lines[nameLine] = lines[nameLine].replace(/,$/, '');
        const column = lines[nameLine + 1].indexOf('"') + 1;

        let error: unknown;
        try {
            parseAssetRegistry(lines.join('\n'), '/srv/assets.json');
        } catch (caught) {
            error = caught;
        }

        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toBe(
            `Asset registry /srv/assets.json is not valid JSON at line ${nameLine + 2}, column ${column}: expected ',' or '}' after the property value; `
            + `a comma may be missing at the end of line ${nameLine + 1}. `
            + 'Fix the file there, or point --assets-file at a registry shaped like data/assets.json.',
        );
        expect((error as ConfigError).context).toEqual({ file: '/srv/assets.json', line: nameLine + 2, column });
    });

    it('should name the end of a cut-off file', () => {
        const cut = demoText.slice(0, demoText.indexOf('"3w-well-00004"'));
        const lastLine = cut.split('\n').length;

        expect(() => parseAssetRegistry(cut, 'cut.json')).toThrow(
            `cut.json is not valid JSON at line ${lastLine}, column ${cut.length - cut.lastIndexOf('\n')}: unexpected end of input; 2 object(s) and 1 array(s) not closed.`,
        );
    });

    it('should accept a byte order mark', () => {
        expect(parseAssetRegistry(`\uFEFF${demoText}`, 'bom.json').size).toBe(demoAssets.length);
    });

    it('should require an assets array', () => {
        expect(() => parseAssetRegistry('[]', 'list.json')).toThrow(/has no "assets" array/);
    });

    it('should name the invalid asset and field', () => {
        const document = JSON.parse(demoText) as { assets: Record<string, unknown>[] };
        document.assets[2] = { ...document.assets[2], type: 'platform' };
        const id = String(document.assets[2].asset_id);

        expect(() => parseAssetRegistry(JSON.stringify(document), 'edited.json')).toThrow(
            new RegExp(`assets\\[2\\] \\(asset_id '${id}'\\): Field 'type' must be one of "well", "pipeline", "facility", but is the string "platform"\\.`),
        );
    });

    it('should reject a duplicated asset_id', () => {
        const document = { assets: [demoAssets[0], demoAssets[0]] };

        expect(() => parseAssetRegistry(JSON.stringify(document), 'twice.json')).toThrow(
            new RegExp(`assets\\[1\\]: asset_id '${demoAssets[0].asset_id}' is listed twice, first at assets\\[0\\]`),
        );
    });
});

describe('loadAssetRegistry', () => {
    it('should resolve relative paths against the project root', () => {
        expect(resolveRegistryPath('data/assets.json')).toBe(join(PROJECT_ROOT, 'data', 'assets.json'));
        expect(resolveRegistryPath('/etc/assets.json')).toBe('/etc/assets.json');
    });

    it('should name a missing file', () => {
        const path = join(tempFolder(), 'missing.json');

        expect(() => loadAssetRegistry(path)).toThrow(ConfigError);
        expect(() => loadAssetRegistry(path)).toThrow(path);
    });

    it('should call the listener when the file changes', async () => {
        const path = join(tempFolder(), 'assets.json');
        writeFileSync(path, JSON.stringify({ assets: [demoAssets[0]] }));
        let stop: (() => void) | undefined;
        const changed = new Promise<void>((resolve) => {
            stop = watchRegistryFile(path, 50, resolve);
        });

        // Let the first poll record the original state before the file changes.
        await new Promise((resolve) => setTimeout(resolve, 150));
        writeFileSync(path, JSON.stringify({ assets: demoAssets.slice(0, 2) }));
        await changed;
        stop?.();

        expect(loadAssetRegistry(path).size).toBe(2);
    });
});

describe('parseNormalizeSettings', () => {
    it('should apply defaults to empty fields', () => {
        expect(parseNormalizeSettings({ assetsFile: '', maxFutureSeconds: '', dedupSize: '' })).toEqual({
            assetsPath: undefined,
            maxFutureMs: 300_000,
            dedupSize: 100_000,
        });
    });

    it('should parse numbers given as text', () => {
        const settings = parseNormalizeSettings({ assetsFile: ' data/assets.json ', maxFutureSeconds: '60', dedupSize: '500' });

        expect(settings).toEqual({ assetsPath: join(PROJECT_ROOT, 'data', 'assets.json'), maxFutureMs: 60_000, dedupSize: 500 });
    });

    it('should reject invalid numbers', () => {
        expect(() => parseNormalizeSettings({ maxFutureSeconds: '-5' })).toThrow(/Max future of -5 s is invalid/);
        expect(() => parseNormalizeSettings({ maxFutureSeconds: 'soon' })).toThrow(/Max future of soon s is invalid/);
        expect(() => parseNormalizeSettings({ dedupSize: '10.5' })).toThrow(/Duplicate cache size 10.5 is invalid/);
    });
});
