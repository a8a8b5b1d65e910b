// Exponential backoff with jitter for database writes that failed with a retriable error.
import { UpstreamError } from '../errors';

export interface BackoffOptions {
    /** Delay before the first retry, in milliseconds. Default 200. */
    initialDelayMs?: number;
    /** Upper bound of any delay, in milliseconds. Default 10,000. */
    maxDelayMs?: number;
}

export const DEFAULT_BACKOFF = { initialDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Returns the delay before retry number `attempt` (1, 2, ...). The ceiling doubles from the
 * initial delay with each attempt, up to the maximum. The delay is a random value between half
 * the ceiling and the ceiling, so that writers that failed together do not retry together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
    const initial = options.initialDelayMs ?? DEFAULT_BACKOFF.initialDelayMs;
    const max = options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
    const ceiling = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function isRetriable(error: unknown): boolean {
    return error instanceof UpstreamError && error.retriable;
}

/**
 * Runs `operation`, retrying retriable failures with backoff up to `attempts` runs in total.
 * Other failures and the last retriable one are thrown.
 */
export async function withRetry<T>(operation: () => Promise<T>, attempts: number, options: BackoffOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
        try {
            return await operation();
        } catch (error) {
            if (attempt >= attempts || !isRetriable(error)) throw error;
            await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, options)));
        }
    }
}
