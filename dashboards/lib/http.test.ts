import type { RequestHandler } from 'express';
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../lib/errors';
import { joinUrlPath, mountPage, normalizePagePath, type RouteHost } from './http';

/** A route host that records its routes and dispatches a request path to them. */
class FakeApp implements RouteHost {
    readonly routes: [string, RequestHandler][] = [];

    use(path: string, handler: RequestHandler): void {
        this.routes.push([path, handler]);
    }

    /** Returns 'handled' when a route handled the request, or 'next' when every route passed it on. */
    dispatch(path: string): string {
        let answer = 'next';
        for (const [route, handler] of this.routes) {
            if (route !== path) continue;
            let passed = false;
            handler({} as never, { locals: {} } as never, () => {
                passed = true;
            });
            if (!passed) {
                answer = 'handled';
                break;
            }
        }
        return answer;
    }
}

function named(calls: string[], name: string): RequestHandler {
    return () => {
        calls.push(name);
    };
}

describe('mountPage', () => {
    it('should add one route per path across remounts', () => {
        const app = new FakeApp();
        const calls: string[] = [];

        const unmount = mountPage(app, '/dashboard', 'page-1', named(calls, 'first'));
        unmount();
        mountPage(app, '/dashboard', 'page-2', named(calls, 'second'));
        app.dispatch('/dashboard');

        expect(app.routes.length).toBe(1);
        expect(calls).toEqual(['second']);
    });

    it('should pass requests on after unmount', () => {
        const app = new FakeApp();
        const unmount = mountPage(app, '/dashboard', 'page-1', named([], 'first'));

        unmount();

        expect(app.dispatch('/dashboard')).toBe('next');
    });

    it('should refuse a path owned by another page', () => {
        const app = new FakeApp();
        mountPage(app, '/dashboard', 'page-1', named([], 'first'));

        expect(() => mountPage(app, '/dashboard', 'page-2', named([], 'second'))).toThrow(ConfigError);
        expect(() => mountPage(new FakeApp(), '/dashboard', 'page-2', named([], 'second'))).not.toThrow();
    });
});

describe('page paths', () => {
    it('should normalize page paths', () => {
        expect(normalizePagePath('/dashboard')).toBe('/dashboard');
        expect(normalizePagePath('dashboard/')).toBe('/dashboard');
        expect(normalizePagePath(' /ops/north-sea ')).toBe('/ops/north-sea');
        expect(normalizePagePath('/')).toBeUndefined();
        expect(normalizePagePath('/a b')).toBeUndefined();
        expect(normalizePagePath('/a//b')).toBeUndefined();
        expect(normalizePagePath('/a?b')).toBeUndefined();
    });

    it('should join URL paths with single slashes', () => {
        expect(joinUrlPath('/', '/dashboard', 'ws')).toBe('/dashboard/ws');
        expect(joinUrlPath('/red/', '/dashboard', 'ws')).toBe('/red/dashboard/ws');
        expect(joinUrlPath('/')).toBe('/');
    });
});
