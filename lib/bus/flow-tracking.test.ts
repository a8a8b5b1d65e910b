import { describe, expect, it } from 'vitest';

import { attachDelivery, Delivery } from './delivery';
import { installDeliveryTracking, markShared, type MessageHooks } from './flow-tracking';

/** Creates a hooks registry like Node-RED's, reduced to what the tests trigger. */
function fakeHooks(): MessageHooks & { trigger(name: string, event: unknown): void; count(): number } {
    const handlers = new Map<string, (event: unknown) => void>();
    return {
        add: (name, handler) => {
            if (handlers.has(name)) throw new Error(`Hook ${name} already registered`);
            handlers.set(name, handler);
        },
        has: (name) => handlers.has(name),
        remove: (name) => {
            const label = name.split('.')[1];
            for (const key of [...handlers.keys()]) if (key.endsWith(`.${label}`)) handlers.delete(key);
        },
        trigger: (name, event) => {
            for (const [key, handler] of handlers) if (key.split('.')[0] === name) handler(event);
        },
        count: () => handlers.size,
    };
}

function setUp(): { hooks: ReturnType<typeof fakeHooks>; delivery: Delivery; msg: Record<string, unknown> } {
    const hooks = fakeHooks();
    installDeliveryTracking(hooks);
    const delivery = new Delivery({ topic: 'telemetry.clean', key: 'well-7' });
    const msg = attachDelivery({ payload: [] } as Record<string, unknown>, delivery);
    return { hooks, delivery, msg };
}

const deliver = (hooks: ReturnType<typeof fakeHooks>, msg: object, to: string): void => hooks.trigger('preDeliver', { msg, destination: { id: to } });
const complete = (hooks: ReturnType<typeof fakeHooks>, msg: object, node: string, error?: Error): void => hooks.trigger('onComplete', { msg, node: { id: node }, error });

describe('installDeliveryTracking', () => {
    it('should register its hooks once', () => {
        const hooks = fakeHooks();
        installDeliveryTracking(hooks);
        installDeliveryTracking(hooks);

        expect(hooks.count()).toBe(3);
    });

    it('should skip copies of shared messages', () => {
        const hooks = fakeHooks();
        installDeliveryTracking(hooks);
        const shared = markShared({ payload: [] });
        const sharedEvent = { msg: shared, destination: { id: 'ui-map' }, cloneMessage: true };
        const plainEvent = { msg: { payload: [] }, destination: { id: 'ui-map' }, cloneMessage: true };
        hooks.trigger('preRoute', sharedEvent);
        hooks.trigger('preRoute', plainEvent);

        expect(sharedEvent.cloneMessage).toBe(false);
        expect(plainEvent.cloneMessage).toBe(true);
    });

    it('should settle after every destination completed', () => {
        const { hooks, delivery, msg } = setUp();
        const clone = { ...msg };
        deliver(hooks, msg, 'rules');
        deliver(hooks, clone, 'ui-map');
        delivery.release();

        complete(hooks, msg, 'rules');
        expect(delivery.state).toBe('pending');
        complete(hooks, clone, 'ui-map');
        expect(delivery.state).toBe('settled');
    });

    it('should follow a message that a node passes on', () => {
        const { hooks, delivery, msg } = setUp();
        deliver(hooks, msg, 'store-write');
        delivery.release();
        // store-write sends the same object on to bus-out before its own done().
        deliver(hooks, msg, 'bus-out');
        complete(hooks, msg, 'store-write');
        expect(delivery.state).toBe('pending');

        complete(hooks, msg, 'bus-out');
        expect(delivery.state).toBe('settled');
    });

    it('should settle at once without destinations', () => {
        const { delivery } = setUp();
        delivery.release();

        expect(delivery.state).toBe('settled');
    });

    it('should fail on a completion with an error', async () => {
        const { hooks, delivery, msg } = setUp();
        deliver(hooks, msg, 'quarantine');
        delivery.release();
        complete(hooks, msg, 'quarantine', new Error('database unreachable'));

        expect(delivery.state).toBe('failed');
        await expect(delivery.outcome).rejects.toThrow('database unreachable');
    });

    it('should ignore completions by nodes that were not delivered to', () => {
        const { hooks, delivery, msg } = setUp();
        deliver(hooks, msg, 'rules');
        delivery.release();
        // A Catch or Complete node gets its copy outside the wires.
        complete(hooks, msg, 'catch-all');
        complete(hooks, msg, 'rules');
        complete(hooks, msg, 'rules');

        expect(delivery.state).toBe('settled');
        expect(delivery.pendingReferences).toBe(0);
    });

    it('should count one destination twice when it gets the message twice', () => {
        const { hooks, delivery, msg } = setUp();
        deliver(hooks, msg, 'rules');
        deliver(hooks, msg, 'rules');
        delivery.release();
        complete(hooks, msg, 'rules');

        expect(delivery.state).toBe('pending');
        complete(hooks, msg, 'rules');
        expect(delivery.state).toBe('settled');
    });

    it('should ignore messages without a delivery', () => {
        const { hooks } = setUp();
        const plain = { payload: 1 };

        expect(() => deliver(hooks, plain, 'rules')).not.toThrow();
        expect(() => complete(hooks, plain, 'rules')).not.toThrow();
    });
});
