// Asset registry facts for rule scopes, refreshed in the background from a registry source.
import { readFile } from 'node:fs/promises';

import type { Asset } from '../types';
import type { AssetFacts, AssetLookup } from './types';

export interface AssetRegistry {
    /** Synchronous lookup over the last loaded asset list. */
    lookup: AssetLookup;
    /** Loads the asset list again; keeps the previous list when loading fails and rethrows. */
    refresh(): Promise<number>;
    /** Settles after the first load, whether it succeeded or not. */
    ready: Promise<void>;
}

/** Builds a registry over `load`; the first load starts at once. */
export function createAssetRegistry(load: () => Promise<Asset[]>, onError: (err: unknown) => void = () => undefined): AssetRegistry {
    let facts = new Map<string, AssetFacts>();

    async function refresh(): Promise<number> {
        const assets = await load();
        facts = new Map(assets.map((asset) => [asset.asset_id, { type: asset.type, operator: asset.operator, field: asset.field }]));
        return facts.size;
    }

    const ready = refresh().then(
        () => undefined,
        (err: unknown) => onError(err),
    );
    return { lookup: (assetId) => facts.get(assetId), refresh, ready };
}

/** Reads an asset registry file shaped like data/assets.json: `{ "assets": [ ... ] }`. */
export async function readAssetsFile(path: string): Promise<Asset[]> {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { assets?: unknown };
    if (!Array.isArray(parsed.assets)) throw new Error(`${path} has no "assets" list`);
    return parsed.assets as Asset[];
}
