// The same badge for the same state on every Upstream Live node.
import type { Node } from 'node-red';

export type StatusState = 'connecting' | 'connected' | 'ok' | 'busy' | 'degraded' | 'failed' | 'disconnected' | 'disabled' | 'clear';

const BADGES: Record<Exclude<StatusState, 'clear'>, { fill: 'red' | 'green' | 'yellow' | 'grey'; shape: 'ring' | 'dot' }> = {
    connecting: { fill: 'yellow', shape: 'ring' },
    connected: { fill: 'green', shape: 'dot' },
    ok: { fill: 'green', shape: 'dot' },
    busy: { fill: 'yellow', shape: 'dot' },
    /** Working, but part of the job fails, for example e-mail delivery after the event was stored. */
    degraded: { fill: 'yellow', shape: 'ring' },
    failed: { fill: 'red', shape: 'ring' },
    disconnected: { fill: 'red', shape: 'ring' },
    disabled: { fill: 'grey', shape: 'ring' },
};

/** Sets the node badge; `text` should be short, for example a count or a badge text from an error. */
export function setStatus(node: Node, state: StatusState, text = ''): void {
    if (state === 'clear') {
        node.status({});
        return;
    }
    node.status({ ...BADGES[state], text });
}

/**
 * Limits badge updates to one per interval, so that a node handling thousands of messages a
 * second does not flood the editor's comms channel. The last update is always shown.
 */
export function throttledStatus(node: Node, intervalMs = 500): (state: StatusState, text?: string) => void {
    let last = 0;
    let pending: { state: StatusState; text: string } | undefined;
    let timer: NodeJS.Timeout | undefined;
    node.on('close', () => {
        if (timer) clearTimeout(timer);
    });
    return (state, text = '') => {
        const now = Date.now();
        if (now - last >= intervalMs) {
            last = now;
            setStatus(node, state, text);
            return;
        }
        pending = { state, text };
        if (!timer) {
            timer = setTimeout(() => {
                timer = undefined;
                last = Date.now();
                if (pending) setStatus(node, pending.state, pending.text);
            }, intervalMs - (now - last));
        }
    };
}
