// HTTP side of a dashboard page. Each path gets one express route per app, which dispatches to
// the page node that owns the path now, so redeploys never stack routes. The client handler
// serves the bundled browser client.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

import { ConfigError } from '../../lib/errors';

/** The part of an express app this module uses. */
export interface RouteHost {
    use(path: string, handler: RequestHandler): unknown;
}

interface Owner {
    id: string;
    handler: RequestHandler;
}

const ownersByApp = new WeakMap<RouteHost, Map<string, Owner | undefined>>();

/**
 * Routes requests under `path` to `handler` until the returned function is called. The express
 * route for a path is added on first use only. Throws a ConfigError when another page owns the path.
 */
export function mountPage(app: RouteHost, path: string, ownerId: string, handler: RequestHandler): () => void {
    const owners = ownersByApp.get(app) ?? new Map<string, Owner | undefined>();
    ownersByApp.set(app, owners);

    const current = owners.get(path);
    if (current && current.id !== ownerId) {
        throw new ConfigError(`Dashboard path ${path} is already served by page node ${current.id}; give this page another path.`, {
            context: { path, owner: current.id },
        });
    }
    if (!owners.has(path)) {
        app.use(path, (req, res, next) => {
            const owner = owners.get(path);
            if (owner) owner.handler(req, res, next);
            else next();
        });
    }
    const owner: Owner = { id: ownerId, handler };
    owners.set(path, owner);
    return () => {
        if (owners.get(path) === owner) owners.set(path, undefined);
    };
}

/** Normalizes a page path: leading slash, no trailing slash, at least one character after the slash. */
export function normalizePagePath(path: string): string | undefined {
    const trimmed = path.trim().replace(/\/+$/, '');
    if (!trimmed) return undefined;
    const withSlash = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
    return /^\/[A-Za-z0-9._~\-/]+$/.test(withSlash) && !withSlash.includes('//') ? withSlash : undefined;
}

/** Joins URL path parts with single slashes, for example the HTTP node root and a page path. */
export function joinUrlPath(...parts: string[]): string {
    const joined = parts
        .map((part) => part.replace(/^\/+|\/+$/g, ''))
        .filter((part) => part.length > 0)
        .join('/');
    return `/${joined}`;
}

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * Serves the client bundle from `clientDir`: index.html with the page title for `<path>/`, a
 * redirect from `<path>` to `<path>/` so that relative asset links resolve, and static files.
 * Responds with 503 while the bundle is missing.
 */
export function clientHandler(clientDir: string, title: string): RequestHandler {
    const files = express.static(clientDir, { index: false, fallthrough: true, maxAge: 0 });
    const indexFile = join(clientDir, 'index.html');
    let cached: { mtimeMs: number; html: string } | undefined;

    return (req: Request, res: Response, next: NextFunction) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
            next();
            return;
        }
        if (req.path !== '/') {
            files(req, res, next);
            return;
        }
        const [pathname, query] = req.originalUrl.split('?');
        if (!pathname.endsWith('/')) {
            res.redirect(301, `${pathname}/${query === undefined ? '' : `?${query}`}`);
            return;
        }
        if (!existsSync(indexFile)) {
            res.status(503).type('text/plain').send(`The dashboard client is not built (${indexFile} is missing); run npm run build.`);
            return;
        }
        const mtimeMs = statSync(indexFile).mtimeMs;
        if (!cached || cached.mtimeMs !== mtimeMs) {
            const template = readFileSync(indexFile, 'utf8');
            cached = { mtimeMs, html: template.replace(/<title>[^<]*<\/title>/, `<title>${escapeHtml(title)}</title>`) };
        }
        res.set('Cache-Control', 'no-cache').type('html').send(cached.html);
    };
}
