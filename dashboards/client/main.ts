// Dashboard client: signs in, keeps the live connection, and builds the widget panels the page
// announces in `hello`.
import 'leaflet/dist/leaflet.css';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

import type { Principal } from '../../lib/auth/types';
import { CLOSE_FORBIDDEN, type HelloMessage, type ServerMessage, type WidgetKind } from '../lib/protocol';
import { ApiClient, loginForm, TokenStore } from './auth';
import { LiveConnection, type ConnectionState } from './connection';
import { h } from './dom';
import { createAlerts } from './widgets/alerts';
import { createMap } from './widgets/map';
import { createOverview } from './widgets/overview';
import { createTrend } from './widgets/trend';
import type { ClientWidget, WidgetContext } from './widgets/widget';

const FACTORIES: Record<WidgetKind, (context: WidgetContext) => ClientWidget> = {
    overview: createOverview,
    map: createMap,
    trend: createTrend,
    alerts: createAlerts,
};

const tokens = new TokenStore();
tokens.adoptFragmentToken();

const title = h('h1', null, document.title);
const indicator = h('span', { class: 'indicator', role: 'status' });
const user = h('span', { class: 'user' });
const logout = h('button', { type: 'button', class: 'logout', hidden: true }, 'Log out');
const grid = h('main', { class: 'grid' });
const overlayHost = h('div');
document.getElementById('app')?.append(h('header', { class: 'topbar' }, title, indicator, h('span', { class: 'spacer' }), user, logout), grid, overlayHost);

const widgets = new Map<string, ClientWidget>();
const pageEvents = new EventTarget();
let retryTicker: number | undefined;

const wsUrl = new URL('ws', window.location.href);
wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
wsUrl.hash = '';
wsUrl.search = '';

const connection = new LiveConnection(wsUrl.href, () => tokens.get(), {
    message: handleMessage,
    state: showConnectionState,
    rejected: (code, reason) => {
        if (code === CLOSE_FORBIDDEN) {
            showForbidden(reason);
            return;
        }
        const hadToken = tokens.get() !== '';
        tokens.clear();
        showLogin(hadToken ? reason || 'Your session has ended; sign in again.' : '');
    },
});

logout.addEventListener('click', () => {
    tokens.clear();
    connection.stop();
    clearWidgets();
    user.textContent = '';
    logout.hidden = true;
    showLogin('You are signed out.');
});

function showConnectionState(state: ConnectionState): void {
    window.clearInterval(retryTicker);
    indicator.className = `indicator indicator-${state.kind}`;
    if (state.kind === 'connecting') indicator.textContent = 'connecting…';
    else if (state.kind === 'live') indicator.textContent = 'live';
    else if (state.kind === 'stopped') indicator.textContent = 'offline';
    else {
        const tick = (): void => {
            const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
            indicator.textContent = `disconnected, retrying in ${seconds} s`;
        };
        tick();
        retryTicker = window.setInterval(tick, 1000);
    }
}

function showLogin(message: string): void {
    overlayHost.replaceChildren(
        loginForm(message, (token, expiresIn) => {
            tokens.save(token, expiresIn);
            overlayHost.replaceChildren();
            connection.start();
        }),
    );
}

function showForbidden(reason: string): void {
    const back = h('button', { type: 'button', class: 'primary' }, 'Sign in as someone else');
    back.addEventListener('click', () => {
        tokens.clear();
        showLogin('');
    });
    overlayHost.replaceChildren(h('div', { class: 'overlay' }, h('div', { class: 'login' }, h('h2', null, 'No access'), h('p', null, reason), back)));
}

function describePrincipal(principal: Principal, authenticated: boolean): string {
    if (!authenticated) return 'sign-in disabled on this server';
    const roles = principal.roles.join(', ');
    return principal.operator ? `${principal.sub} · ${roles} (${principal.operator})` : `${principal.sub} · ${roles}`;
}

function clearWidgets(): void {
    for (const widget of widgets.values()) widget.destroy();
    widgets.clear();
    grid.replaceChildren();
}

/** Places the panels: overview on top, map and trend on the left, alerts on the right. */
function layout(hello: HelloMessage): void {
    clearWidgets();
    const areas: Record<WidgetKind, HTMLElement> = {
        overview: h('div', { class: 'area area-overview' }),
        map: h('div', { class: 'area area-map' }),
        trend: h('div', { class: 'area area-trend' }),
        alerts: h('div', { class: 'area area-alerts' }),
    };
    const present = new Set(hello.widgets.map((config) => config.kind));
    grid.className = ['grid', ...[...present].map((kind) => `has-${kind}`)].join(' ');
    for (const kind of Object.keys(areas) as WidgetKind[]) if (present.has(kind)) grid.append(areas[kind]);
    if (present.size === 0) grid.append(h('p', { class: 'empty' }, 'This page has no widgets yet; add dashboard widget nodes in the flow editor.'));

    const apiClient = new ApiClient(hello.apiBase, tokens, () => {
        tokens.clear();
        connection.stop();
        showLogin('Your session has expired; sign in again.');
    });
    for (const config of hello.widgets) {
        const factory = FACTORIES[config.kind];
        if (!factory) continue;
        const widget = factory({ config, principal: hello.principal, api: apiClient, send: (message) => connection.send(message), events: pageEvents });
        areas[config.kind].append(widget.element);
        widgets.set(config.id, widget);
    }
}

function handleMessage(message: ServerMessage): void {
    switch (message.type) {
        case 'hello':
            document.title = message.title;
            title.textContent = message.title;
            user.textContent = describePrincipal(message.principal, message.auth);
            logout.hidden = !message.auth;
            overlayHost.replaceChildren();
            layout(message);
            break;
        case 'state':
            for (const { widget, data } of message.widgets) widgets.get(widget)?.setState(data);
            break;
        case 'update':
            for (const { widget, data } of message.updates) widgets.get(widget)?.update(data);
            break;
        case 'series':
            widgets.get(message.widget)?.series?.(message.data);
            break;
        case 'error':
            console.warn(`dashboard server: ${message.message}`);
            break;
    }
}

connection.start();
