// Helpers for the dashboard node tests: a WebSocket client that queues server messages, fake
// runtime identities, and readings and alert events built from the demo asset registry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import WebSocket from 'ws';

import type { Principal } from '../../lib/auth/types';
import { DATA_DIR } from '../../lib/paths';
import type { RuntimeContext } from '../../lib/runtime-context';
import type { AlertEvent, Asset, Reading } from '../../lib/types';
import type { HelloMessage, ServerMessage, StateMessage } from '../lib/protocol';

/** Bearer tokens the fake verifier accepts, and whom they stand for. */
export const PRINCIPALS: Record<string, Principal> = {
    'admin-token': { sub: 'ada', roles: ['regulator-admin'] },
    'analyst-token': { sub: 'ana', roles: ['analyst'] },
    'petrobras-token': { sub: 'paulo', roles: ['operator'], operator: 'petrobras' },
    'equinor-token': { sub: 'eva', roles: ['operator'], operator: 'equinor' },
    'public-token': { sub: 'pub', roles: ['public'] },
};

export function demoAssets(): Asset[] {
    return (JSON.parse(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8')) as { assets: Asset[] }).assets;
}

/** Returns a runtime context with a token verifier over PRINCIPALS and the demo asset registry. */
export function fakeRuntime(extra: Partial<RuntimeContext> = {}): RuntimeContext {
    return {
        verifyToken: async (token) => {
            const principal = PRINCIPALS[token];
            if (!principal) throw new Error('token signature is invalid');
            return principal;
        },
        listAssets: async () => demoAssets(),
        apiBase: '/v1',
        ...extra,
    };
}

export function reading(assetId: string, metric: string, value: number | null, ts: string, unit?: string): Reading {
    const units: Record<string, string> = { oil_rate: 'bopd', gas_rate: 'mmscfd', pressure_tpt: 'psi' };
    return { asset_id: assetId, metric, value, unit: unit ?? units[metric] ?? 'psi', ts, quality_flag: 'GOOD' };
}

export function alertEvent(eventId: string, assetId: string, severity: AlertEvent['severity'], state: AlertEvent['state'], openedAt: string): AlertEvent {
    return {
        event_id: eventId,
        rule_id: 'high-pressure',
        asset_id: assetId,
        metric: 'pressure_tpt',
        severity,
        state,
        message: `Pressure above limit on ${assetId}`,
        runbook: '/runbooks/high-pressure',
        opened_at: openedAt,
        evidence: { value: 1 },
    };
}

/** A WebSocket client that keeps every server message in order, for tests to wait on. */
export class TestClient {
    readonly messages: ServerMessage[] = [];
    readonly closed: Promise<{ code: number; reason: string }>;
    private cursor = 0;
    private waiters: (() => void)[] = [];

    private constructor(readonly socket: WebSocket) {
        socket.on('message', (data) => {
            this.messages.push(JSON.parse(data.toString()) as ServerMessage);
            for (const wake of this.waiters.splice(0)) wake();
        });
        // Errors surface through `closed` and the failing expectations.
        socket.on('error', () => undefined);
        this.closed = new Promise((resolve) => {
            socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        });
    }

    /** Opens a connection to `url` (http or ws scheme) and waits until it is open. */
    static async open(url: string): Promise<TestClient> {
        const socket = new WebSocket(url.replace(/^http/, 'ws'));
        const client = new TestClient(socket);
        await new Promise<void>((resolve, reject) => {
            socket.once('open', () => resolve());
            socket.once('error', reject);
        });
        return client;
    }

    send(message: unknown): void {
        this.socket.send(JSON.stringify(message));
    }

    /** Returns the next unread message of the given type, waiting up to `timeoutMs`. */
    async next<T extends ServerMessage['type']>(type: T, timeoutMs = 3_000): Promise<Extract<ServerMessage, { type: T }>> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            while (this.cursor < this.messages.length) {
                const message = this.messages[this.cursor];
                this.cursor += 1;
                if (message.type === type) return message as Extract<ServerMessage, { type: T }>;
            }
            const remaining = deadline - Date.now();
            if (remaining <= 0) throw new Error(`No "${type}" message within ${timeoutMs} ms; received ${JSON.stringify(this.messages.map((m) => m.type))}`);
            await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, remaining);
                this.waiters.push(() => {
                    clearTimeout(timer);
                    resolve();
                });
            });
        }
    }

    close(): void {
        this.socket.close();
    }
}

/** Connects, sends the token and returns the `hello` and `state` messages. */
export async function signIn(url: string, token: string): Promise<{ client: TestClient; hello: HelloMessage; state: StateMessage }> {
    const client = await TestClient.open(url);
    client.send({ type: 'auth', token });
    const hello = await client.next('hello');
    const state = await client.next('state');
    return { client, hello, state };
}

/** Returns the data of one widget from a `state` message. */
export function widgetState<T>(state: StateMessage, widget: string): T {
    const entry = state.widgets.find((candidate) => candidate.widget === widget);
    if (!entry) throw new Error(`Widget ${widget} is not in the state message`);
    return entry.data as T;
}

/**
 * Flow nodes that report when `widgetId` finishes a message: a complete node wired to helper
 * node `<widgetId>-done` and a catch node wired to `<widgetId>-failed`.
 */
export function completionNodes(widgetId: string): Record<string, unknown>[] {
    return [
        { id: `${widgetId}-complete`, type: 'complete', scope: [widgetId], uncaught: false, wires: [[`${widgetId}-done`]] },
        { id: `${widgetId}-done`, type: 'helper' },
        { id: `${widgetId}-catch`, type: 'catch', scope: [widgetId], uncaught: false, wires: [[`${widgetId}-failed`]] },
        { id: `${widgetId}-failed`, type: 'helper' },
    ];
}

interface HelperNode {
    once(event: 'input', listener: (msg: { error?: { message: string } }) => void): void;
    receive(msg: unknown): void;
}

/**
 * Sends msg.payload to a widget that has completionNodes in its flow and waits until it is done.
 * Resolves with undefined on success and with the error message on failure.
 */
export function deliver(helper: { getNode(id: string): HelperNode }, widgetId: string, payload: unknown): Promise<string | undefined> {
    return new Promise((resolve) => {
        helper.getNode(`${widgetId}-done`).once('input', () => resolve(undefined));
        helper.getNode(`${widgetId}-failed`).once('input', (msg) => resolve(msg.error?.message ?? 'failed without a message'));
        helper.getNode(widgetId).receive({ payload });
    });
}
