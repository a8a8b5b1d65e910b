import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Finds the project root: the nearest folder above this file that contains package.json.
 * Works both from the TypeScript sources (tests) and from the compiled files in dist/.
 */
function findProjectRoot(start: string): string {
    let folder = start;
    while (!existsSync(join(folder, 'package.json'))) {
        const parent = dirname(folder);
        if (parent === folder) throw new Error(`package.json not found above ${start}`);
        folder = parent;
    }
    return folder;
}

export const PROJECT_ROOT = findProjectRoot(__dirname);
export const SCHEMAS_DIR = join(PROJECT_ROOT, 'schemas');
export const DATA_DIR = join(PROJECT_ROOT, 'data');
export const FLOWS_DIR = join(PROJECT_ROOT, 'flows');
