// Loads an asset registry file of the form `{ "assets": [Asset, ...] }` (see data/assets.json),
// validates every asset against schemas/asset.json and indexes the assets by asset_id.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { ConfigError } from '../errors';
import { PROJECT_ROOT } from '../paths';
import { compileSchema } from '../schemas';
import { watchFile } from '../watch-file';
import type { Asset } from '../types';

/** Assets by asset_id. */
export type AssetIndex = ReadonlyMap<string, Asset>;

/** Number of asset problems listed in one error message. Only the count of the rest is given. */
const MAX_LISTED_PROBLEMS = 5;

/** Resolves a registry path: absolute paths stay, relative ones resolve against the project root. */
export function resolveRegistryPath(path: string, root: string = PROJECT_ROOT): string {
    return isAbsolute(path) ? path : resolve(root, path);
}

/**
 * Parses and validates the text of an asset registry file. `origin` names the file in messages.
 * Throws a ConfigError that lists the invalid assets, or names the duplicated asset_id.
 */
export function parseAssetRegistry(text: string, origin: string): Map<string, Asset> {
    let document: unknown;
    try {
        document = JSON.parse(text);
    } catch (err) {
        const reason = text.trim() === '' ? 'the file is empty' : (err as Error).message;
        throw new ConfigError(`Asset registry ${origin} is not valid JSON (${reason}); fix the file, or point --assets-file at a registry shaped like data/assets.json.`, {
            cause: err,
            context: { file: origin },
        });
    }
    const assets = (document as { assets?: unknown } | null)?.assets;
    if (!Array.isArray(assets)) {
        throw new ConfigError(`Asset registry ${origin} has no "assets" array; the file must look like { "assets": [ ... ] }.`, {
            context: { file: origin },
        });
    }

    const validator = compileSchema<Asset>('asset');
    const problems: string[] = [];
    const index = new Map<string, Asset>();
    const positions = new Map<string, number>();
    assets.forEach((asset: unknown, position) => {
        const assetProblems = validator.check(asset);
        if (assetProblems.length > 0) {
            const id = (asset as { asset_id?: unknown } | null)?.asset_id;
            const named = typeof id === 'string' && id !== '' ? ` (asset_id '${id}')` : '';
            problems.push(`assets[${position}]${named}: ${assetProblems.map((p) => p.message).join(' ')}`);
            return;
        }
        const valid = asset as Asset;
        const first = positions.get(valid.asset_id);
        if (first !== undefined) {
            problems.push(`assets[${position}]: asset_id '${valid.asset_id}' is listed twice, first at assets[${first}].`);
            return;
        }
        index.set(valid.asset_id, valid);
        positions.set(valid.asset_id, position);
    });

    if (problems.length > 0) {
        const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join(' ');
        const more = problems.length > MAX_LISTED_PROBLEMS ? ` (${problems.length - MAX_LISTED_PROBLEMS} more problems)` : '';
        const message = `Asset registry ${origin} has ${problems.length} invalid asset(s): ${listed}${more} Correct the file.`;
        throw new ConfigError(message, { context: { file: origin } });
    }
    return index;
}

/** Reads, validates and indexes an asset registry file. Throws a ConfigError naming the file. */
export function loadAssetRegistry(path: string): Map<string, Asset> {
    let text: string;
    try {
        text = readFileSync(path, 'utf8');
    } catch (err) {
        const message = `Asset registry ${path} could not be read: ${(err as Error).message}. Check the assets file path.`;
        throw new ConfigError(message, {
            cause: err,
            context: { file: path },
        });
    }
    return parseAssetRegistry(text, path);
}

/** Calls `listener` whenever the registry file changes (see lib/watch-file); returns the stop function. */
export function watchRegistryFile(path: string, intervalMs: number, listener: () => void): () => void {
    return watchFile(path, listener, intervalMs);
}
