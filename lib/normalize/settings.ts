// Settings of the ul-normalize node, parsed from its editor configuration.
import { ConfigError } from '../errors';
import { resolveRegistryPath } from './asset-registry';
import { DEFAULT_DEDUP_SIZE, DEFAULT_MAX_FUTURE_MS } from './normalize';

export interface NormalizeNodeConfig {
    /** Path of the asset registry file, relative to the project root unless absolute. Empty skips the asset check. */
    assetsFile?: string;
    /** Maximum seconds a reading's ts may lie ahead of the server clock. Default 300. */
    maxFutureSeconds?: string | number;
    /** Maximum age in days of a reading's ts; empty or 0 accepts any age. */
    maxAgeDays?: string | number;
    /** Number of keys remembered for duplicate suppression. Default 100000, and 0 turns suppression off. */
    dedupSize?: string | number;
}

export interface NormalizeSettings {
    /** Absolute path of the asset registry, or undefined when assets are not checked. */
    assetsPath?: string;
    maxFutureMs: number;
    maxAgeMs?: number;
    dedupSize: number;
}

/** Returns the number in a config field, or `fallback` when the field is empty. */
function numberField(raw: string | number | undefined, fallback: number): number {
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return fallback;
    return typeof raw === 'number' ? raw : Number(raw.trim());
}

/** Parses and checks the node configuration. Throws a ConfigError naming the invalid field. */
export function parseNormalizeSettings(config: NormalizeNodeConfig, root?: string): NormalizeSettings {
    const maxFutureSeconds = numberField(config.maxFutureSeconds, DEFAULT_MAX_FUTURE_MS / 1000);
    if (!Number.isFinite(maxFutureSeconds) || maxFutureSeconds < 0) {
        const given = String(config.maxFutureSeconds);
        const message = `Max future of ${given} s is invalid; enter a number of seconds of 0 or more, such as 300.`;
        throw new ConfigError(message, { context: { field: 'maxFutureSeconds' } });
    }
    const dedupSize = numberField(config.dedupSize, DEFAULT_DEDUP_SIZE);
    if (!Number.isInteger(dedupSize) || dedupSize < 0) {
        const given = String(config.dedupSize);
        const message = `Duplicate cache size ${given} is invalid; enter a whole number of 0 or more, such as 100000.`;
        throw new ConfigError(message, { context: { field: 'dedupSize' } });
    }
    const maxAgeDays = numberField(config.maxAgeDays, 0);
    if (!Number.isFinite(maxAgeDays) || maxAgeDays < 0) {
        const message = `Max age of ${String(config.maxAgeDays)} days is invalid; enter a number of days, or 0 to accept any age.`;
        throw new ConfigError(message, { context: { field: 'maxAgeDays' } });
    }
    const assetsFile = (config.assetsFile ?? '').trim();
    return {
        assetsPath: assetsFile ? resolveRegistryPath(assetsFile, root) : undefined,
        maxFutureMs: maxFutureSeconds * 1000,
        maxAgeMs: maxAgeDays > 0 ? maxAgeDays * 86_400_000 : undefined,
        dedupSize,
    };
}
