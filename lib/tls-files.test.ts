import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from './errors';
import { readTlsFiles } from './tls-files';

const folder = mkdtempSync(join(tmpdir(), 'ul-tls-files-'));
writeFileSync(join(folder, 'ca.crt'), 'CA');
writeFileSync(join(folder, 'client.crt'), 'CERT');
writeFileSync(join(folder, 'client.key'), 'KEY');

describe('readTlsFiles', () => {
    it('should read relative paths from the base folder', () => {
        const files = readTlsFiles({ caFile: 'ca.crt', certFile: 'client.crt', keyFile: join(folder, 'client.key') }, folder);

        expect(files.ca?.toString()).toBe('CA');
        expect(files.cert?.toString()).toBe('CERT');
        expect(files.key?.toString()).toBe('KEY');
    });

    it('should return nothing for empty settings', () => {
        expect(readTlsFiles({ caFile: ' ', certFile: '' }, folder)).toEqual({});
    });

    it('should name the field and file that cannot be read', () => {
        expect(() => readTlsFiles({ caFile: 'missing.crt' }, folder)).toThrow(new RegExp(`TLS file caFile \\(${join(folder, 'missing.crt')}\\) failed`));
        expect(() => readTlsFiles({ caFile: 'missing.crt' }, folder)).toThrow(ConfigError);
    });

    it('should reject a certificate without its key', () => {
        expect(() => readTlsFiles({ certFile: 'client.crt' }, folder)).toThrow(/needs its key/);
        expect(() => readTlsFiles({ keyFile: 'client.key' }, folder)).toThrow(/needs its key/);
    });
});
