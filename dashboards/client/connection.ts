// The live connection: opens the page's WebSocket, authenticates, and reconnects with
// exponential backoff and jitter unless the server rejected the token.
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, type ClientMessage, type ServerMessage } from '../lib/protocol';

export type ConnectionState = { kind: 'connecting' } | { kind: 'live' } | { kind: 'waiting'; retryAt: number } | { kind: 'stopped' };

export interface ConnectionHandlers {
    message(message: ServerMessage): void;
    state(state: ConnectionState): void;
    /** The server closed with 4401 or 4403; the connection stays stopped until `start` is called. */
    rejected(code: number, reason: string): void;
}

const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

export class LiveConnection {
    private socket: WebSocket | undefined;
    private retryTimer: number | undefined;
    private attempts = 0;
    private running = false;

    constructor(
        private readonly url: string,
        private readonly token: () => string,
        private readonly handlers: ConnectionHandlers,
    ) {}

    start(): void {
        this.running = true;
        this.attempts = 0;
        this.open();
    }

    stop(): void {
        this.running = false;
        window.clearTimeout(this.retryTimer);
        this.socket?.close(1000, 'signed out');
        this.socket = undefined;
        this.handlers.state({ kind: 'stopped' });
    }

    send(message: ClientMessage): void {
        if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
    }

    private open(): void {
        window.clearTimeout(this.retryTimer);
        this.handlers.state({ kind: 'connecting' });
        const socket = new WebSocket(this.url);
        this.socket = socket;

        socket.addEventListener('open', () => {
            socket.send(JSON.stringify({ type: 'auth', token: this.token() }));
        });
        socket.addEventListener('message', (event) => {
            let message: ServerMessage;
            try {
                message = JSON.parse(String(event.data)) as ServerMessage;
            } catch {
                return;
            }
            if (message.type === 'hello') {
                this.attempts = 0;
                this.handlers.state({ kind: 'live' });
            }
            this.handlers.message(message);
        });
        socket.addEventListener('close', (event) => {
            if (this.socket !== socket) return;
            this.socket = undefined;
            if (!this.running) return;
            if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
                this.running = false;
                this.handlers.state({ kind: 'stopped' });
                this.handlers.rejected(event.code, event.reason);
                return;
            }
            this.scheduleRetry();
        });
    }

    private scheduleRetry(): void {
        const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempts);
        const delay = base / 2 + Math.random() * (base / 2);
        this.attempts += 1;
        this.handlers.state({ kind: 'waiting', retryAt: Date.now() + delay });
        this.retryTimer = window.setTimeout(() => this.open(), delay);
    }
}
