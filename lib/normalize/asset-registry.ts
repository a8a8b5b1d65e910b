// Loads an asset registry file of the form `{ "assets": [Asset, ...] }` (see data/assets.json),
// validates every asset against schemas/asset.json and indexes the assets by asset_id.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import { ConfigError } from '../errors';
import { findJsonSyntaxError } from '../json-syntax';
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

/** Builds the error for registry text that JSON.parse rejected, with the line and column of the first error. */
function invalidJson(text: string, origin: string, cause: unknown): ConfigError {
    const fix = 'or point --assets-file at a registry shaped like data/assets.json.';
    if (text.trim() === '') {
        return new ConfigError(`Asset registry ${origin} is not valid JSON (the file is empty); fill it in, ${fix}`, { cause, context: { file: origin } });
    }
    const problem = findJsonSyntaxError(text);
    if (problem === undefined) {
        // Not expected, because the scanner follows RFC 8259 as JSON.parse does. The parser's message is kept.
        return new ConfigError(`Asset registry ${origin} is not valid JSON (${(cause as Error).message}); fix the file, ${fix}`, { cause, context: { file: origin } });
    }
    const { line, column, reason } = problem;
    const message = `Asset registry ${origin} is not valid JSON at line ${line}, column ${column}: ${reason}. Fix the file there, ${fix}`;
    return new ConfigError(message, { cause, context: { file: origin, line, column } });
}

/**
 * Parses and validates the text of an asset registry file. `origin` names the file in messages.
 * Throws a ConfigError that lists the invalid assets, or names the duplicated asset_id.
 */
export function parseAssetRegistry(text: string, origin: string): Map<string, Asset> {
    // RFC 8259 lets a parser ignore a byte order mark, which some Windows editors write.
    const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
    let document: unknown;
    try {
        document = JSON.parse(json);
    } catch (err) {
        throw invalidJson(json, origin, err);
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
