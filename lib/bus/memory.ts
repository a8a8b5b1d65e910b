// In-process message bus: the single-process transport of the bus config node.
// Topics behave like Kafka topics with one partition per key: each subscriber receives the messages
// of one key in publish order. Delivery is synchronous within the process, so a subscriber that
// throws does not stop delivery to the others. Nothing is committed. Instead, publish resolves
// only once every shared subscriber's delivery has settled, so the publisher, and whatever waits
// for it (an MQTT acknowledgement, for one), waits until the message has been durably handled.
import { EventEmitter } from 'node:events';

import type { BusHandler, BusMessage, BusTransport, SubscriptionMode } from './transport';

export type { BusHandler, BusMessage, BusTransport, SubscribeOptions, SubscriptionMode, SubscriptionState, Unsubscribe } from './transport';

/** Creates an in-process bus; `onHandlerError` receives failures of individual subscribers. */
export function createMemoryBus(onHandlerError: (err: unknown, message: BusMessage) => void = () => undefined): BusTransport {
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    const modes = new WeakMap<BusHandler, SubscriptionMode>();

    return {
        durable: false,
        async publish(topic, key, value) {
            const message: BusMessage = { topic, key, value };
            const settling: Promise<void>[] = [];
            for (const listener of emitter.listeners(topic) as BusHandler[]) {
                try {
                    const result = listener(message);
                    if (result && typeof (result as Promise<void>).then === 'function') {
                        const handled = (result as Promise<void>).catch((err) => {
                            onHandlerError(err, message);
                            throw err;
                        });
                        if (modes.get(listener) === 'broadcast') handled.catch(() => undefined);
                        else settling.push(handled);
                    }
                } catch (err) {
                    onHandlerError(err, message);
                }
            }
            // A failed delivery rejects the publish, so the publisher's own message fails too and
            // is not acknowledged upstream.
            await Promise.all(settling);
        },
        subscribe(topic, handler, options) {
            modes.set(handler, options?.mode ?? 'shared');
            emitter.on(topic, handler);
            options?.onState?.('connected');
            return async () => {
                emitter.off(topic, handler);
            };
        },
        async close() {
            emitter.removeAllListeners();
        },
    };
}

const namedBuses = new Map<string, BusTransport>();

/**
 * Returns the process-wide memory bus with this name, creating it on first use, so that the
 * runtime's API and the flows' bus nodes publish to and read from the same bus.
 */
export function sharedMemoryBus(name = 'default'): BusTransport {
    let bus = namedBuses.get(name);
    if (!bus) {
        bus = createMemoryBus();
        namedBuses.set(name, bus);
    }
    return bus;
}
