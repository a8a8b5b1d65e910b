// Request helpers shared by the API routes: authentication, role checks and JSON errors.
import type { NextFunction, Request, RequestHandler, Response } from 'express';

import type { Principal, Role, TokenVerifier } from '../../lib/auth/types';
import { AuthError } from '../auth/issuer';

export interface AuthedRequest extends Request {
    principal: Principal;
}

/** An error the API returns as `{ error: { code, message } }` with its HTTP status. */
export class ApiError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

export function sendError(res: Response, status: number, code: string, message: string): void {
    res.status(status).json({ error: { code, message } });
}

/** Query parameter that carries the bearer token of clients that cannot set headers. Every endpoint accepts it. */
export const TOKEN_PARAMETER = 'access_token';

/** Reads a bearer token from the Authorization header, or from `access_token` for WebSocket clients. */
export function bearerToken(authorization: string | undefined, query?: unknown): string | undefined {
    if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim();
    const fromQuery = (query as Record<string, unknown> | undefined)?.[TOKEN_PARAMETER];
    return typeof fromQuery === 'string' ? fromQuery : undefined;
}

/** Returns the query string of a request URL, without the leading question mark. */
function queryString(url: string): string {
    const start = url.indexOf('?');
    return start === -1 ? '' : url.slice(start + 1);
}

export function authenticate(verify: TokenVerifier): RequestHandler {
    return (req, res, next) => {
        const fromQuery = new URLSearchParams(queryString(req.originalUrl)).getAll(TOKEN_PARAMETER);
        if (fromQuery.length > 1) {
            sendError(res, 400, 'invalid_parameter', `Query parameter ${TOKEN_PARAMETER} is given more than once; give it once.`);
            return;
        }
        const token = bearerToken(req.headers.authorization, { [TOKEN_PARAMETER]: fromQuery[0] });
        if (!token) {
            sendError(res, 401, 'missing_token', 'No bearer token; send "Authorization: Bearer <token>" (get one from POST /auth/token).');
            return;
        }
        verify(token).then(
            (principal) => {
                (req as AuthedRequest).principal = principal;
                next();
            },
            (err: unknown) => {
                const status = err instanceof AuthError ? err.status : 401;
                sendError(res, status, 'invalid_token', (err as Error).message);
            },
        );
    };
}

export function requireRole(...roles: Role[]): RequestHandler {
    return (req, res, next) => {
        const principal = (req as AuthedRequest).principal;
        if (!principal.roles.some((role) => roles.includes(role))) {
            sendError(res, 403, 'forbidden', `This endpoint needs one of the roles ${roles.join(', ')}; the token has ${principal.roles.join(', ')}.`);
            return;
        }
        next();
    };
}

/** Names in a query string that an endpoint does not accept, and names given more than once. */
export interface QueryNameProblems {
    unknown: string[];
    repeated: string[];
}

/**
 * Checks the names of a query string against the names an endpoint accepts, and always accepts
 * access_token. Each name is listed once, in the order of its first occurrence.
 */
export function checkQueryNames(search: URLSearchParams, accepted: readonly string[]): QueryNameProblems {
    const counts = new Map<string, number>();
    for (const name of search.keys()) counts.set(name, (counts.get(name) ?? 0) + 1);
    const names = [...counts.keys()];
    return {
        unknown: names.filter((name) => name !== TOKEN_PARAMETER && !accepted.includes(name)),
        repeated: names.filter((name) => (counts.get(name) ?? 0) > 1),
    };
}

/**
 * Rejects a request with 400 when its query string has a name outside `accepted` (code
 * unknown_parameter) or a name given more than once (code invalid_parameter).
 * The check reads the raw query string, so the bracket forms of Express's query parser
 * (`limit[]=1`, `limit[max]=1`) count as unknown names instead of turning into arrays or objects.
 */
export function allowQuery(...accepted: string[]): RequestHandler {
    const acceptedText = accepted.length > 0
        ? `this endpoint accepts ${accepted.join(', ')}`
        : `this endpoint accepts no query parameters other than ${TOKEN_PARAMETER}`;
    return (req, res, next) => {
        const { unknown, repeated } = checkQueryNames(new URLSearchParams(queryString(req.originalUrl)), accepted);
        if (unknown.length > 0) {
            const quoted = unknown.map((name) => `"${name}"`).join(', ');
            const noun = unknown.length === 1 ? 'parameter' : 'parameters';
            sendError(res, 400, 'unknown_parameter', `Unknown query ${noun} ${quoted}; ${acceptedText}.`);
            return;
        }
        if (repeated.length === 1) {
            sendError(res, 400, 'invalid_parameter', `Query parameter ${repeated[0]} is given more than once; give it once.`);
            return;
        }
        if (repeated.length > 1) {
            sendError(res, 400, 'invalid_parameter', `Query parameters ${repeated.join(', ')} are given more than once; give each once.`);
            return;
        }
        next();
    };
}

/** Wraps an async route so that a rejected promise becomes a JSON error response. */
export function route(handler: (req: AuthedRequest, res: Response) => Promise<void>): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
        handler(req as AuthedRequest, res).catch((err: unknown) => {
            if (err instanceof ApiError) {
                sendError(res, err.status, err.code, err.message);
                return;
            }
            next(err);
        });
    };
}

/** Parses an optional ISO 8601 query parameter, naming it in the error. */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function isoParam(value: unknown, name: string): string | undefined {
    if (value === undefined || value === '') return undefined;
    const invalid = new ApiError(400, 'invalid_parameter', `Query parameter ${name}="${String(value)}" is not an ISO 8601 time; use a form like 2017-10-31T19:30:00Z or 2017-10-31.`);
    const match = typeof value === 'string' ? ISO_TIME.exec(value) : null;
    if (!match) throw invalid;

    // Date rolls 2026-02-30 over to March, so the calendar day is checked on its own.
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const parsed = new Date(value as string);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth || Number.isNaN(parsed.getTime())) throw invalid;
    return parsed.toISOString();
}

/** Reads a true/false query parameter; empty or absent is false. Anything else is a 400 naming the value. */
export function booleanParam(value: unknown, name: string): boolean {
    if (value === undefined || value === '' || value === 'false') return false;
    if (value === 'true') return true;
    throw new ApiError(400, 'invalid_parameter', `Query parameter ${name}="${String(value)}" is invalid; use true or false.`);
}

export function intParam(value: unknown, name: string, min: number, max: number): number | undefined {
    if (value === undefined || value === '') return undefined;
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(number) || number < min || number > max) {
        throw new ApiError(400, 'invalid_parameter', `Query parameter ${name}="${String(value)}" must be a whole number from ${min} to ${max}.`);
    }
    return number;
}
