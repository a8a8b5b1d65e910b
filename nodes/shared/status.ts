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

/** Badge text, or a function that makes it: a function runs only when the badge is shown. */
export type StatusText = string | (() => string);

/** A badge worked out only when it is shown, for badges whose state also costs work to find. */
export type StatusRender = () => { state: StatusState; text: string };

/**
 * Limits badge updates to one per interval, so that a node handling thousands of messages a
 * second does not flood the editor's comms channel. The last update is always shown. A text (or
 * a whole badge) that is costly to build, such as a translated message with a count, can be
 * passed as a function, which then runs once per shown update instead of once per message.
 */
export function throttledStatus(node: Node, intervalMs = 500): (state: StatusState | StatusRender, text?: StatusText) => void {
    let last = 0;
    let pending: StatusRender | undefined;
    let timer: NodeJS.Timeout | undefined;
    const show = (render: StatusRender): void => {
        const { state, text } = render();
        setStatus(node, state, text);
    };
    node.on('close', () => {
        if (timer) clearTimeout(timer);
    });
    return (state, text = '') => {
        const render: StatusRender = typeof state === 'function' ? state : () => ({ state, text: typeof text === 'function' ? text() : text });
        const now = Date.now();
        if (now - last >= intervalMs) {
            last = now;
            pending = undefined;
            show(render);
            return;
        }
        pending = render;
        if (!timer) {
            timer = setTimeout(() => {
                timer = undefined;
                last = Date.now();
                if (pending) show(pending);
                pending = undefined;
            }, intervalMs - (now - last));
        }
    };
}
