// Graceful stop without loss: before the runtime stops its flows, intake nodes stop taking new
// messages and the nodes that write durably report what they still hold. The runtime waits until
// nothing is pending for a quiet period, so messages in transit between nodes arrive too.

type PendingCount = () => number;
type StopIntake = () => Promise<void>;

const intakes = new Set<StopIntake>();
const counters = new Set<PendingCount>();

/** Registers a function that stops an intake (for example an MQTT subscription); returns an unregister function. */
export function registerIntake(stop: StopIntake): () => void {
    intakes.add(stop);
    return () => intakes.delete(stop);
}

/** Registers a count of messages or readings not yet durably handled; returns an unregister function. */
export function registerPending(count: PendingCount): () => void {
    counters.add(count);
    return () => counters.delete(count);
}

export function pendingTotal(): number {
    let total = 0;
    for (const count of counters) total += count();
    return total;
}

export interface DrainResult {
    /** Whether everything was handled before the timeout. */
    drained: boolean;
    /** Messages or readings still pending when the drain ended. */
    pending: number;
    ms: number;
}

/**
 * Stops every intake, then waits until no registered node has anything pending for `quietMs`
 * (default 300 ms), or until `timeoutMs` (default 15 s) has passed.
 */
export async function drain(options: { timeoutMs?: number; quietMs?: number; pollMs?: number } = {}): Promise<DrainResult> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? 15_000;
    const quietMs = options.quietMs ?? 300;
    const pollMs = options.pollMs ?? 50;

    await Promise.allSettled([...intakes].map((stop) => stop()));
    let quietSince = Date.now();
    while (Date.now() - started < timeoutMs) {
        if (pendingTotal() > 0) quietSince = Date.now();
        else if (Date.now() - quietSince >= quietMs) return { drained: true, pending: 0, ms: Date.now() - started };
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return { drained: false, pending: pendingTotal(), ms: Date.now() - started };
}
