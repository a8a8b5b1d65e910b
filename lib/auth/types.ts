// Identity shared by the API, the WebSocket stream and the dashboard.

export type Role = 'regulator-admin' | 'analyst' | 'operator' | 'public';

export const ROLES: readonly Role[] = ['regulator-admin', 'analyst', 'operator', 'public'];

/** The caller behind a verified bearer token. */
export interface Principal {
    /** Subject: the user or client id. */
    sub: string;
    roles: Role[];
    /** Operator whose assets an `operator` principal may see; absent for regulator roles. */
    operator?: string;
}

/** Verifies a bearer token and returns its principal; rejects with an error for a bad token. */
export type TokenVerifier = (token: string) => Promise<Principal>;
