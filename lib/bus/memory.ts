// In-process message bus: the single-process transport of the bus config node.
// Topics behave like Kafka topics with one partition per key: each subscriber receives the messages
// of one key in publish order. Delivery is synchronous within the process, so a subscriber that
// throws does not stop delivery to the others.
import { EventEmitter } from 'node:events';

export interface BusMessage<T = unknown> {
    topic: string;
    /** Partition key; the asset_id for telemetry and alerts. */
    key: string;
    value: T;
}

export type BusHandler = (message: BusMessage) => void | Promise<void>;

export interface BusTransport {
    publish(topic: string, key: string, value: unknown): Promise<void>;
    subscribe(topic: string, handler: BusHandler): () => void;
    close(): Promise<void>;
}

/** Creates an in-process bus; `onHandlerError` receives failures of individual subscribers. */
export function createMemoryBus(onHandlerError: (err: unknown, message: BusMessage) => void = () => undefined): BusTransport {
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);

    return {
        async publish(topic, key, value) {
            const message: BusMessage = { topic, key, value };
            for (const listener of emitter.listeners(topic) as BusHandler[]) {
                try {
                    const result = listener(message);
                    if (result && typeof (result as Promise<void>).catch === 'function') {
                        (result as Promise<void>).catch((err) => onHandlerError(err, message));
                    }
                } catch (err) {
                    onHandlerError(err, message);
                }
            }
        },
        subscribe(topic, handler) {
            emitter.on(topic, handler);
            return () => emitter.off(topic, handler);
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
