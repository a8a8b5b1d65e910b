import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadIssuer } from './issuer';
import { checkPassword, ensureDemoUsers, hashPassword, loadUsers, readDemoCredentials } from './users';

const dataDir = mkdtempSync(join(tmpdir(), 'ul-auth-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('demo users', () => {
    it('should create accounts once with private files', async () => {
        const first = await ensureDemoUsers(dataDir);
        const second = await ensureDemoUsers(dataDir);

        expect(Object.keys(first ?? {})).toEqual(['admin', 'analyst', 'petrobras-ops', 'equinor-ops', 'public']);
        expect(second).toBeUndefined();
        expect(statSync(join(dataDir, 'users.json')).mode & 0o077).toBe(0);
        expect(readDemoCredentials(dataDir)).toEqual(first);
        expect(readFileSync(join(dataDir, 'users.json'), 'utf8')).not.toContain(first?.admin);
    });

    it('should authenticate only the right password', async () => {
        const users = loadUsers(dataDir);
        const { admin } = readDemoCredentials(dataDir);

        expect((await users.authenticate('admin', admin))?.roles).toEqual(['regulator-admin']);
        expect(await users.authenticate('admin', admin + 'x')).toBeUndefined();
        expect(await users.authenticate('nobody', admin)).toBeUndefined();
        expect(await checkPassword('secret', await hashPassword('secret'))).toBe(true);
        expect(await checkPassword('secret', 'md5$abc')).toBe(false);
    });
});

describe('token issuer', () => {
    it('should issue tokens that verify to the principal', async () => {
        const issuer = await loadIssuer(dataDir);
        const token = await issuer.issue({ sub: 'equinor-ops', roles: ['operator'], operator: 'equinor' });

        expect(await issuer.verify(token)).toEqual({ sub: 'equinor-ops', roles: ['operator'], operator: 'equinor' });
    });

    it('should keep its key across restarts', async () => {
        const token = await (await loadIssuer(dataDir)).issue({ sub: 'admin', roles: ['regulator-admin'] });

        expect((await (await loadIssuer(dataDir)).verify(token)).sub).toBe('admin');
    });

    it('should reject tampered, foreign and expired tokens', async () => {
        const issuer = await loadIssuer(dataDir);
        const token = await issuer.issue({ sub: 'analyst', roles: ['analyst'] });
        const [header, payload, signature] = token.split('.');
        const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['regulator-admin'] })).toString('base64url');
        const otherDir = mkdtempSync(join(tmpdir(), 'ul-auth-other-'));
        const foreign = await (await loadIssuer(otherDir)).issue({ sub: 'analyst', roles: ['analyst'] });
        const expired = await issuer.issue({ sub: 'analyst', roles: ['analyst'] }, -10);
        rmSync(otherDir, { recursive: true, force: true });

        await expect(issuer.verify(`${header}.${forged}.${signature}`)).rejects.toThrow(/Invalid bearer token/);
        await expect(issuer.verify(foreign)).rejects.toThrow(/Invalid bearer token/);
        await expect(issuer.verify(expired)).rejects.toThrow(/Invalid bearer token/);
        await expect(issuer.verify('not-a-jwt')).rejects.toThrow(/log in again/);
    });

    it('should publish its public key as a JWKS', async () => {
        const jwks = await (await loadIssuer(dataDir)).jwks();

        expect(jwks.keys).toHaveLength(1);
        expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
        expect(jwks.keys[0]).not.toHaveProperty('d');
    });
});
