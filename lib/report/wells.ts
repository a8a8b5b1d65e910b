// Lookup of report well bores in the asset registry, by the NPD well-bore name.
import { readFile } from 'node:fs/promises';
import { relative, isAbsolute } from 'node:path';

import { ConfigError, toError } from '../errors';
import { PROJECT_ROOT } from '../paths';
import type { Asset } from '../types';

export interface WellRegistry {
    /** Registry file as shown in messages, relative to the project root when inside it. */
    file: string;
    /** Returns the asset id of a well bore, or undefined when the registry does not list it. */
    assetId(wellBoreName: string): string | undefined;
    size: number;
}

/** Normalizes a well-bore name for comparison: trimmed, single spaces, upper case. */
function wellKey(name: string): string {
    return name.trim().replace(/\s+/g, ' ').toUpperCase();
}

/** Shows a path relative to the project root when it lies inside the project. */
export function displayPath(path: string): string {
    const inside = relative(PROJECT_ROOT, path);
    return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

/** Builds a registry from assets. Wells are matched on `attributes.npd_well_bore_name`. */
export function wellRegistry(assets: Asset[], file: string): WellRegistry {
    const byName = new Map<string, string>();
    for (const asset of assets) {
        const name = asset.attributes?.npd_well_bore_name;
        if (asset.type === 'well' && typeof name === 'string' && name.trim()) {
            byName.set(wellKey(name), asset.asset_id);
        }
    }
    return {
        file,
        size: byName.size,
        assetId: (wellBoreName) => byName.get(wellKey(wellBoreName)),
    };
}

/**
 * Reads an asset registry file (an object with an `assets` array, or a plain array of assets).
 * Throws ConfigError when the file cannot be read or contains no well with an NPD well-bore name.
 */
export async function loadWellRegistry(path: string): Promise<WellRegistry> {
    const file = displayPath(path);
    let parsed: unknown;
    try {
        parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
        const message = `Reading the asset registry ${file} failed: ${toError(err).message}. Check the assets file setting.`;
        throw new ConfigError(message, {
            cause: err,
            badge: 'assets file unreadable',
            context: { file: path },
        });
    }
    const assets = Array.isArray(parsed) ? parsed : (parsed as { assets?: unknown })?.assets;
    if (!Array.isArray(assets)) {
        const message =
            `The asset registry ${file} has no "assets" array. ` +
            'Point the assets file setting to a registry such as data/assets.json.';
        throw new ConfigError(message, {
            badge: 'assets file invalid',
            context: { file: path },
        });
    }
    const registry = wellRegistry(assets as Asset[], file);
    if (registry.size === 0) {
        const message =
            `The asset registry ${file} lists no well with attributes.npd_well_bore_name, ` +
            'so no report row could be matched. Add the NPD well-bore names to the wells.';
        throw new ConfigError(message, {
            badge: 'no wells in registry',
            context: { file: path },
        });
    }
    return registry;
}
