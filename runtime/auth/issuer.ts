// Built-in token issuer for the embedded default: EdDSA-signed JWTs whose key lives in the data
// folder. Resource servers verify tokens with the public key (also served as a JWKS).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { JWK } from 'jose' with { 'resolution-mode': 'import' };

import { ROLES, type Principal, type Role, type TokenVerifier } from '../../lib/auth/types';
import { UpstreamError } from '../../lib/errors';

export const ISSUER = 'upstream-live';
export const AUDIENCE = 'upstream-live-api';
const ALGORITHM = 'EdDSA';

export class AuthError extends UpstreamError {
    constructor(
        message: string,
        readonly status: 401 | 403,
    ) {
        super(message, { badge: status === 401 ? 'unauthorised' : 'forbidden' });
    }
}

export interface Issuer {
    issue(principal: Principal, ttlSeconds?: number): Promise<string>;
    verify: TokenVerifier;
    jwks(): Promise<{ keys: JWK[] }>;
}

/** Loads the issuer key pair from `<dataDir>/issuer/`, creating it on first start. */
export async function loadIssuer(dataDir: string): Promise<Issuer> {
    // jose is published as an ES module only, so this CommonJS build loads it dynamically.
    const { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, jwtVerify, SignJWT } = await import('jose');
    const folder = join(dataDir, 'issuer');
    const privateFile = join(folder, 'issuer.key');
    const publicFile = join(folder, 'issuer.pub');

    if (!existsSync(privateFile)) {
        const pair = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
        mkdirSync(folder, { recursive: true });
        writeFileSync(privateFile, await exportPKCS8(pair.privateKey), { mode: 0o600 });
        writeFileSync(publicFile, await exportSPKI(pair.publicKey));
    }
    const privateKey = await importPKCS8(readFileSync(privateFile, 'utf8'), ALGORITHM, { extractable: false });
    const publicKey = await importSPKI(readFileSync(publicFile, 'utf8'), ALGORITHM, { extractable: true });

    return {
        async issue(principal, ttlSeconds = 12 * 3600) {
            return new SignJWT({ roles: principal.roles, ...(principal.operator ? { operator: principal.operator } : {}) })
                .setProtectedHeader({ alg: ALGORITHM, kid: 'upstream-live-1' })
                .setSubject(principal.sub)
                .setIssuer(ISSUER)
                .setAudience(AUDIENCE)
                .setIssuedAt()
                .setExpirationTime(`${ttlSeconds}s`)
                .sign(privateKey);
        },
        async verify(token) {
            let payload;
            try {
                ({ payload } = await jwtVerify(token, publicKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: [ALGORITHM] }));
            } catch (err) {
                throw new AuthError(`Invalid bearer token: ${(err as Error).message}; log in again for a new token.`, 401);
            }
            const roles = (Array.isArray(payload.roles) ? payload.roles : []).filter((r): r is Role => ROLES.includes(r as Role));
            if (!payload.sub || roles.length === 0) throw new AuthError('Bearer token has no subject or no known role; log in again.', 401);
            if (roles.includes('operator') && typeof payload.operator !== 'string') {
                throw new AuthError('Operator token names no operator; ask an administrator to fix the account.', 401);
            }
            return { sub: payload.sub, roles, operator: typeof payload.operator === 'string' ? payload.operator : undefined };
        },
        async jwks() {
            return { keys: [{ ...(await exportJWK(publicKey)), kid: 'upstream-live-1', alg: ALGORITHM, use: 'sig' }] };
        },
    };
}
