// Config node for one dashboard page: serves the browser client under its path, runs the
// WebSocket endpoint <path>/ws, and pushes the state of the widgets that register with it.
import type { IncomingMessage, Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

import type { Node, NodeAPI, NodeDef } from 'node-red';

import { toError } from '../../lib/errors';
import { PROJECT_ROOT } from '../../lib/paths';
import { runtimeContext, type RuntimeContext } from '../../lib/runtime-context';
import { AssetRegistry } from '../lib/access';
import { clientHandler, joinUrlPath, mountPage, normalizePagePath } from '../lib/http';
import { DashboardHub } from '../lib/hub';
import type { WidgetStore } from '../lib/widget-store';

/** Output folder of the bundled browser client, written by `npm run build`. */
export const CLIENT_DIR = join(PROJECT_ROOT, 'dist', 'dashboards', 'client');

/** Refresh the asset registry from the runtime at most this often, in milliseconds. */
const ASSET_REFRESH_MS = 60_000;

interface UiPageConfig extends NodeDef {
    path: string;
    title: string;
    /** Milliseconds between pushes to the browsers. */
    interval: string | number;
}

export interface UiPageNode extends Node {
    runtime: RuntimeContext;
    registry: AssetRegistry;
    addWidget(store: WidgetStore): void;
    removeWidget(id: string): void;
    /** Refreshes the asset registry when an asset id is not in it, at most once a minute. */
    noteAssets(assetIds: Iterable<string>): void;
}

/** Paths for which the missing-authentication warning was logged, so each is logged once per process. */
const warnedWithoutAuth = new Set<string>();

/** Reads settings.httpNodeRoot: '/' when unset, false when HTTP nodes are disabled. */
function httpNodeRoot(settings: unknown): string | false {
    try {
        const root = (settings as { httpNodeRoot?: unknown }).httpNodeRoot;
        if (root === false) return false;
        return typeof root === 'string' ? root : '/';
    } catch {
        return '/';
    }
}

export default function register(RED: NodeAPI): void {
    function UiPageConfigNode(this: UiPageNode, config: UiPageConfig): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const runtime = runtimeContext(RED.settings);
        node.runtime = runtime;
        node.registry = new AssetRegistry();
        node.addWidget = () => undefined;
        node.removeWidget = () => undefined;
        node.noteAssets = () => undefined;

        const path = normalizePagePath(config.path || '/dashboard');
        const title = (config.title || '').trim() || 'Upstream Live';
        const interval = Number(config.interval === '' || config.interval === undefined ? 250 : config.interval);
        const root = httpNodeRoot(RED.settings);
        if (!path) {
            node.error(RED._('ul-ui-page.errors.invalid-path', { path: String(config.path) }));
            return;
        }
        if (!Number.isFinite(interval) || interval < 20 || interval > 10_000) {
            node.error(RED._('ul-ui-page.errors.invalid-interval', { interval: String(config.interval) }));
            return;
        }
        if (root === false) {
            node.error(RED._('ul-ui-page.errors.http-disabled'));
            return;
        }

        // Failed attempts count too, so that a failing store is queried at most once a minute.
        let lastAttempt = 0;
        let refreshing: Promise<void> | undefined;
        const refreshAssets = (): Promise<void> => {
            const listAssets = runtime.listAssets;
            if (!listAssets) return Promise.resolve();
            if (refreshing) return refreshing;
            if (lastAttempt > 0 && Date.now() - lastAttempt < ASSET_REFRESH_MS) return Promise.resolve();
            lastAttempt = Date.now();
            refreshing = listAssets()
                .then((assets) => node.registry.upsert(assets))
                .finally(() => {
                    refreshing = undefined;
                });
            return refreshing;
        };
        const refreshInBackground = (): void => {
            refreshAssets().catch((err: unknown) => node.warn(RED._('ul-ui-page.warnings.assets-failed', { error: toError(err).message })));
        };

        const hub = new DashboardHub({
            title,
            apiBase: runtime.apiBase ?? '/v1',
            verifyToken: runtime.verifyToken,
            registry: node.registry,
            refreshAssets,
            intervalMs: interval,
            log: { info: (text) => node.log(text), warn: (text) => node.warn(text), debug: (text) => node.debug(text) },
        });
        node.addWidget = (store) => hub.addWidget(store);
        node.removeWidget = (id) => hub.removeWidget(id);
        node.noteAssets = (assetIds) => {
            for (const assetId of assetIds) {
                if (node.registry.has(assetId)) continue;
                refreshInBackground();
                return;
            }
        };

        let unmount: (() => void) | undefined;
        try {
            unmount = mountPage(RED.httpNode, path, node.id, clientHandler(CLIENT_DIR, title));
        } catch (err) {
            node.error(toError(err).message);
        }

        const wsPath = joinUrlPath(root, path, 'ws');
        const server = RED.server as unknown as Server | undefined;
        const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
            // Other endpoints share the server's upgrade event, so requests for other paths are left alone.
            const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
            if (pathname === wsPath) hub.handleUpgrade(request, socket, head);
        };
        if (server && unmount) server.on('upgrade', onUpgrade);
        else if (!server) node.warn(RED._('ul-ui-page.warnings.no-server'));

        if (!runtime.verifyToken && !warnedWithoutAuth.has(path)) {
            warnedWithoutAuth.add(path);
            node.warn(RED._('ul-ui-page.warnings.no-auth', { path }));
        }
        if (!existsSync(join(CLIENT_DIR, 'index.html'))) node.warn(RED._('ul-ui-page.warnings.not-built', { dir: CLIENT_DIR }));
        refreshInBackground();
        node.log(RED._('ul-ui-page.log.serving', { path: joinUrlPath(root, path) + '/', ws: wsPath }));

        node.on('close', (_removed: boolean, done: () => void) => {
            server?.off('upgrade', onUpgrade);
            unmount?.();
            hub.close().then(
                () => done(),
                (err: unknown) => {
                    node.warn(RED._('ul-ui-page.warnings.close-failed', { error: toError(err).message }));
                    done();
                },
            );
        });
    }

    RED.nodes.registerType('ul-ui-page', UiPageConfigNode);
}
