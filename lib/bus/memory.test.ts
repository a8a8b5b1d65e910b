import { describe, expect, it } from 'vitest';

import { createMemoryBus } from './memory';
import type { BusMessage } from './transport';

describe('createMemoryBus', () => {
    it('should deliver each key in publish order', async () => {
        const bus = createMemoryBus();
        const received: string[] = [];
        bus.subscribe('telemetry.clean', (message) => {
            received.push(`${message.key}:${String(message.value)}`);
        });
        for (const value of [1, 2, 3]) await bus.publish('telemetry.clean', 'well-7', value);

        expect(received).toEqual(['well-7:1', 'well-7:2', 'well-7:3']);
    });

    it('should report the connected state at once', () => {
        const states: string[] = [];
        createMemoryBus().subscribe('events.alerts', () => undefined, { onState: (state) => states.push(state) });

        expect(states).toEqual(['connected']);
    });

    it('should pass failed deliveries to the error callback', async () => {
        const failures: string[] = [];
        const bus = createMemoryBus((err, message) => failures.push(`${message.key}: ${(err as Error).message}`));
        bus.subscribe('telemetry.clean', async () => {
            throw new Error('store unreachable');
        });
        bus.subscribe('telemetry.clean', () => {
            throw new Error('bad handler');
        });
        const received: BusMessage[] = [];
        bus.subscribe('telemetry.clean', (message) => {
            received.push(message);
        });
        await expect(bus.publish('telemetry.clean', 'well-7', [])).rejects.toThrow('store unreachable');

        expect(received).toHaveLength(1);
        expect(failures.sort()).toEqual(['well-7: bad handler', 'well-7: store unreachable']);
    });

    it('should resolve a publish once shared subscribers have settled', async () => {
        const bus = createMemoryBus();
        let settle: () => void = () => undefined;
        bus.subscribe('telemetry.clean', () => new Promise<void>((resolve) => {
            settle = resolve;
        }));
        // A broadcast subscriber that never settles does not hold the publisher back.
        bus.subscribe('telemetry.clean', () => new Promise<void>(() => undefined), { mode: 'broadcast' });
        let published = false;

        const publishing = bus.publish('telemetry.clean', 'well-7', []).then(() => {
            published = true;
        });
        await new Promise((resolve) => setImmediate(resolve));
        const beforeSettle = published;
        settle();
        await publishing;

        expect(beforeSettle).toBe(false);
        expect(published).toBe(true);
    });

    it('should stop delivering after unsubscribe', async () => {
        const bus = createMemoryBus();
        let count = 0;
        const unsubscribe = bus.subscribe('telemetry.clean', () => {
            count += 1;
        });
        await bus.publish('telemetry.clean', 'well-7', 1);
        await unsubscribe();
        await bus.publish('telemetry.clean', 'well-7', 2);

        expect(count).toBe(1);
    });
});
