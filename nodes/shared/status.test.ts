import { EventEmitter } from 'node:events';

import type { Node } from 'node-red';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { throttledStatus } from './status';

/** Creates a stand-in node that records its badges. */
function recordingNode(): { node: Node; badges: unknown[] } {
    const badges: unknown[] = [];
    const emitter = new EventEmitter();
    const node = Object.assign(emitter, { status: (badge: unknown) => badges.push(badge) }) as unknown as Node;
    return { node, badges };
}

describe('throttledStatus', () => {
    beforeEach(() => {
        vi.useFakeTimers();
    });

    afterEach(() => {
        vi.useRealTimers();
    });

    it('should show a burst first and last', () => {
        const { node, badges } = recordingNode();
        const status = throttledStatus(node, 500);

        status('ok', 'one');
        status('ok', 'two');
        status('failed', 'three');
        expect(badges).toEqual([{ fill: 'green', shape: 'dot', text: 'one' }]);

        vi.advanceTimersByTime(500);
        expect(badges).toHaveLength(2);
        expect(badges[1]).toMatchObject({ fill: 'red', text: 'three' });
    });

    it('should build text only when shown', () => {
        const { node, badges } = recordingNode();
        const status = throttledStatus(node, 500);
        let built = 0;
        let count = 0;
        const text = (): string => {
            built += 1;
            return `${count} stored`;
        };

        for (count = 1; count <= 1_000; count++) status('ok', text);
        vi.advanceTimersByTime(500);

        expect(built).toBe(2);
        expect(badges.map((badge) => (badge as { text: string }).text)).toEqual(['1 stored', '1001 stored']);
    });

    it('should render a badge only when shown', () => {
        const { node, badges } = recordingNode();
        const status = throttledStatus(node, 500);
        const render = vi.fn(() => ({ state: 'busy' as const, text: 'learning' }));

        status('ok', 'ready');
        status(render);
        status(render);
        expect(render).not.toHaveBeenCalled();

        vi.advanceTimersByTime(500);
        expect(render).toHaveBeenCalledTimes(1);
        expect(badges[1]).toMatchObject({ fill: 'yellow', text: 'learning' });
    });
});
