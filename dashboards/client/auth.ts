// The bearer token: taken from the URL fragment (#token=…) or the login form, kept in
// sessionStorage for this tab, and sent with REST calls.
import { h } from './dom';

const TOKEN_KEY = 'upstream-live.token';
const EXPIRES_KEY = 'upstream-live.token-expires';

export class TokenStore {
    /** Reads `#token=…` from the URL fragment into sessionStorage and removes it from the address bar. */
    adoptFragmentToken(): void {
        const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
        const token = fragment.get('token');
        if (!token) return;
        this.save(token);
        fragment.delete('token');
        const rest = fragment.toString();
        history.replaceState(null, '', window.location.pathname + window.location.search + (rest ? `#${rest}` : ''));
    }

    /** Returns the stored token, or an empty string when there is none or it has expired. */
    get(): string {
        const expires = Number(sessionStorage.getItem(EXPIRES_KEY) ?? '');
        if (expires && Date.now() >= expires) {
            this.clear();
            return '';
        }
        return sessionStorage.getItem(TOKEN_KEY) ?? '';
    }

    /** Stores a token; `expiresInSeconds` comes from the token endpoint. */
    save(token: string, expiresInSeconds?: number): void {
        sessionStorage.setItem(TOKEN_KEY, token);
        if (expiresInSeconds && expiresInSeconds > 0) sessionStorage.setItem(EXPIRES_KEY, String(Date.now() + expiresInSeconds * 1000));
        else sessionStorage.removeItem(EXPIRES_KEY);
    }

    clear(): void {
        sessionStorage.removeItem(TOKEN_KEY);
        sessionStorage.removeItem(EXPIRES_KEY);
    }
}

interface TokenResponse {
    access_token?: unknown;
    expires_in?: unknown;
    error?: { message?: unknown } | unknown;
}

/** Exchanges username and password for a token at `POST /auth/token`; throws with a readable message. */
export async function requestToken(username: string, password: string): Promise<{ token: string; expiresIn?: number }> {
    let response: Response;
    try {
        response = await fetch('/auth/token', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ username, password }),
        });
    } catch {
        throw new Error('The sign-in service cannot be reached; check the connection and try again.');
    }
    const body = (await response.json().catch(() => ({}))) as TokenResponse;
    if (!response.ok) {
        const detail = (body.error as { message?: unknown } | undefined)?.message;
        throw new Error(typeof detail === 'string' ? detail : `Sign-in failed (HTTP ${response.status}).`);
    }
    if (typeof body.access_token !== 'string') throw new Error('The sign-in service returned no access_token.');
    return { token: body.access_token, expiresIn: typeof body.expires_in === 'number' ? body.expires_in : undefined };
}

/** Builds the login form; `onToken` runs after a successful sign-in. */
export function loginForm(message: string, onToken: (token: string, expiresIn?: number) => void): HTMLElement {
    const username = h('input', { name: 'username', autocomplete: 'username', required: true });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const error = h('p', { class: 'login-error', role: 'alert' }, message);
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
    const form = h(
        'form',
        { class: 'login' },
        h('h2', null, 'Sign in'),
        h('label', null, 'Username', username),
        h('label', null, 'Password', password),
        error,
        submit,
    );
    form.addEventListener('submit', (event) => {
        event.preventDefault();
        submit.disabled = true;
        error.textContent = '';
        requestToken(username.value, password.value).then(
            ({ token, expiresIn }) => onToken(token, expiresIn),
            (err: Error) => {
                error.textContent = err.message;
                submit.disabled = false;
                password.select();
            },
        );
    });
    setTimeout(() => username.focus(), 0);
    return h('div', { class: 'overlay' }, form);
}

/** Result of a REST call; `body` is the parsed JSON or undefined. */
export interface ApiResult {
    ok: boolean;
    status: number;
    body: unknown;
}

/** Calls the REST API with the stored token; a 401 response runs `onUnauthorized`. */
export class ApiClient {
    constructor(
        private readonly base: string,
        private readonly tokens: TokenStore,
        private readonly onUnauthorized: () => void,
    ) {}

    async request(method: 'GET' | 'POST', path: string): Promise<ApiResult> {
        const token = this.tokens.get();
        const headers: Record<string, string> = { Accept: 'application/json' };
        if (token) headers.Authorization = `Bearer ${token}`;
        let response: Response;
        try {
            response = await fetch(this.base.replace(/\/$/, '') + path, { method, headers });
        } catch {
            return { ok: false, status: 0, body: undefined };
        }
        const body: unknown = await response.json().catch(() => undefined);
        if (response.status === 401 && token) this.onUnauthorized();
        return { ok: response.ok, status: response.status, body };
    }
}

/** Picks the message out of an API error body `{ error: { message } }`, or describes the status. */
export function apiErrorMessage(result: ApiResult): string {
    const message = (result.body as { error?: { message?: unknown } } | undefined)?.error?.message;
    if (typeof message === 'string') return message;
    return result.status === 0 ? 'the API cannot be reached' : `HTTP ${result.status}`;
}
