// Retries with exponential backoff and jitter, for email delivery.

export interface RetryOptions {
    /** Attempts in total, including the first. */
    attempts: number;
    /** Wait before the second attempt, in milliseconds; doubles for each further attempt. */
    delayMs: number;
    /** Upper bound of one wait, in milliseconds. */
    maxDelayMs: number;
    /** Returns false for errors that a retry cannot fix. */
    retriable?: (err: unknown) => boolean;
    /** Called before each wait with the attempt that failed (1-based) and the wait in milliseconds. */
    onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
    /** Stops waiting: the retry ends with the last error. */
    signal?: AbortSignal;
}

export class RetryError extends Error {
    constructor(
        message: string,
        readonly attempts: number,
        options: { cause: unknown },
    ) {
        super(message, options);
        this.name = 'RetryError';
    }
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
        if (signal?.aborted) {
            resolve();
            return;
        }
        const timer = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        function done(): void {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            resolve();
        }
    });
}

function failure(err: unknown, attempt: number): RetryError {
    const reason = err instanceof Error ? err.message : String(err);
    return new RetryError(`${reason} (after ${attempt} attempt${attempt > 1 ? 's' : ''})`, attempt, { cause: err });
}

/**
 * Runs `operation` until it succeeds. When the attempts are used up, the error is not retriable or
 * the signal aborts, throws a RetryError with the last error and the attempt count.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await operation(attempt);
        } catch (err) {
            if (attempt >= options.attempts || options.signal?.aborted || options.retriable?.(err) === false) throw failure(err, attempt);
            const backoff = Math.min(options.maxDelayMs, options.delayMs * 2 ** (attempt - 1));
            // Jitter spreads the retries of many alerts that failed at the same moment.
            const waitMs = Math.round(backoff * (0.5 + Math.random() * 0.5));
            options.onRetry?.(err, attempt, waitMs);
            await wait(waitMs, options.signal);
            if (options.signal?.aborted) throw failure(err, attempt);
        }
    }
}
