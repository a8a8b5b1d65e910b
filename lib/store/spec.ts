// Validates store specifications and builds them from node configuration.
import { isAbsolute, resolve } from 'node:path';

import { ConfigError } from '../errors';
import type { StoreSpec } from './types';

/** Settings of the ul-store config node, after Node-RED substituted environment variables. */
export interface StoreSettings {
    /** 'pglite' or 'postgres'; empty or an unset environment variable means 'pglite'. */
    engine?: string;
    /** Data folder of the embedded engine; relative paths are resolved against `baseDir`. */
    dataDir?: string;
    /** PostgreSQL connection string. */
    connection?: string;
}

/** Matches `${NAME}` left in a setting, which means the environment variable was not substituted. */
const UNSET_VARIABLE = /^\$\{(\w+)\}$/;

/**
 * Returns the spec with an absolute data folder, or throws a ConfigError naming the missing
 * or invalid setting.
 */
export function resolveStoreSpec(spec: StoreSpec, baseDir = process.cwd()): StoreSpec {
    if (spec.engine === 'pglite') {
        const dataDir = (spec.dataDir ?? '').trim();
        const unset = UNSET_VARIABLE.exec(dataDir);
        if (!dataDir || unset) {
            const fix = unset ? `set the environment variable ${unset[1]}` : 'set dataDir, for example to "db"';
            throw new ConfigError(`No data folder is set for the embedded database; ${fix}.`);
        }
        return { engine: 'pglite', dataDir: isAbsolute(dataDir) ? resolve(dataDir) : resolve(baseDir, dataDir) };
    }
    if (spec.engine === 'postgres') {
        const connectionString = (spec.connectionString ?? '').trim();
        const unset = UNSET_VARIABLE.exec(connectionString);
        if (!connectionString || unset) {
            const variable = unset ? `the environment variable ${unset[1]}` : 'an environment variable such as UL_DATABASE_URL';
            throw new ConfigError(
                `No PostgreSQL connection string is set; set ${variable} to a URL such as `
                    + 'postgres://user:password@127.0.0.1:5432/upstream.',
            );
        }
        return { engine: 'postgres', connectionString };
    }
    const engine = (spec as { engine?: unknown }).engine;
    throw new ConfigError(`Unknown store engine "${String(engine)}"; use "pglite" (embedded) or "postgres".`);
}

/** Builds a resolved store spec from the config node's settings. */
export function storeSpecFromSettings(settings: StoreSettings, baseDir: string): StoreSpec {
    const setting = (settings.engine ?? '').trim();
    const engine = setting === '' || UNSET_VARIABLE.test(setting) ? 'pglite' : setting;
    if (engine === 'pglite') return resolveStoreSpec({ engine, dataDir: settings.dataDir ?? '' }, baseDir);
    if (engine === 'postgres') return resolveStoreSpec({ engine, connectionString: settings.connection ?? '' }, baseDir);
    return resolveStoreSpec({ engine } as unknown as StoreSpec, baseDir);
}

/** Describes a spec for logs and badges without the password of a connection string. */
export function describeStoreSpec(spec: StoreSpec): string {
    if (spec.engine === 'pglite') return `embedded database in ${spec.dataDir}`;
    try {
        const url = new URL(spec.connectionString);
        return `PostgreSQL at ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
    } catch {
        // Not a URL (a key=value connection string): name no part of it, since it may hold a password.
        return 'PostgreSQL';
    }
}
