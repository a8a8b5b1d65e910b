// Token endpoint of the built-in issuer: username and password in, bearer token out.
import express, { type Router } from 'express';

import type { Issuer } from '../auth/issuer';
import type { UserStore } from '../auth/users';
import type { Logger } from '../logging';
import { sendError } from './http';

const TOKEN_TTL_SECONDS = 12 * 3600;

export function createAuthRouter(issuer: Issuer, users: UserStore, logger: Logger): Router {
    const router = express.Router();
    const failures = new Map<string, { count: number; until: number }>();

    router.post('/token', express.json({ limit: '10kb' }), async (req, res, next) => {
        try {
            const { username, password } = (req.body ?? {}) as { username?: unknown; password?: unknown };
            if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
                sendError(res, 400, 'invalid_request', 'Send JSON {"username": "...", "password": "..."}.');
                return;
            }
            const lock = failures.get(username);
            if (lock && lock.until > Date.now()) {
                sendError(res, 429, 'too_many_attempts', `Too many failed logins for "${username}"; try again in a minute.`);
                return;
            }
            const user = await users.authenticate(username, password);
            if (!user) {
                const count = (lock?.count ?? 0) + 1;
                failures.set(username, { count, until: count >= 5 ? Date.now() + 60_000 : 0 });
                logger.warn('login failed', { username, attempts: count });
                sendError(res, 401, 'invalid_credentials', 'Unknown username or wrong password.');
                return;
            }
            failures.delete(username);
            const token = await issuer.issue({ sub: user.username, roles: user.roles, operator: user.operator }, TOKEN_TTL_SECONDS);
            logger.info('login', { username, roles: user.roles });
            res.json({ access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL_SECONDS, roles: user.roles, operator: user.operator ?? null });
        } catch (err) {
            next(err);
        }
    });

    router.get('/jwks.json', async (_req, res, next) => {
        try {
            res.json(await issuer.jwks());
        } catch (err) {
            next(err);
        }
    });

    return router;
}
