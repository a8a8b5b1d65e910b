import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../errors';
import { describeStoreSpec, storeSpecFromSettings } from './spec';

describe('storeSpecFromSettings', () => {
    it('should resolve a relative data folder against the base folder', () => {
        const spec = storeSpecFromSettings({ engine: 'pglite', dataDir: 'db' }, '/srv/upstream');

        expect(spec).toEqual({ engine: 'pglite', dataDir: join('/srv/upstream', 'db') });
    });

    it('should keep an absolute data folder', () => {
        const spec = storeSpecFromSettings({ engine: 'pglite', dataDir: '/var/lib/ul/../ul/db' }, '/srv/upstream');

        expect(spec).toEqual({ engine: 'pglite', dataDir: resolve('/var/lib/ul/db') });
    });

    it('should use the embedded engine when the engine variable is not set', () => {
        const spec = storeSpecFromSettings({ engine: '${UL_STORE_ENGINE}', dataDir: 'db' }, '/srv');

        expect(spec.engine).toBe('pglite');
    });

    it('should name the variable of a missing connection string', () => {
        const build = () => storeSpecFromSettings({ engine: 'postgres', connection: '${UL_DATABASE_URL}' }, '/srv');

        expect(build).toThrow(ConfigError);
        expect(build).toThrow(/set the environment variable UL_DATABASE_URL/);
    });

    it('should reject an unknown engine', () => {
        expect(() => storeSpecFromSettings({ engine: 'mysql' }, '/srv')).toThrow(/Unknown store engine "mysql"/);
    });

    it('should accept a connection string', () => {
        const spec = storeSpecFromSettings({ engine: 'postgres', connection: 'postgres://ul:secret@127.0.0.1:5432/upstream' }, '/srv');

        expect(spec).toEqual({ engine: 'postgres', connectionString: 'postgres://ul:secret@127.0.0.1:5432/upstream' });
    });
});

describe('describeStoreSpec', () => {
    it('should leave the password out', () => {
        const text = describeStoreSpec({ engine: 'postgres', connectionString: 'postgres://ul:secret@db.example:5432/upstream' });

        expect(text).toBe('PostgreSQL at db.example:5432/upstream');
    });
});
