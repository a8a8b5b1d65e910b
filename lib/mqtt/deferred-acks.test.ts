import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';

import { ConfigError, ServiceError, UpstreamError, ValidationError } from '../errors';
import { failedMessageRejection, holdPubacks, PubackQueue, shouldRedeliver, type PubackPacket } from './deferred-acks';

/** A queue whose PUBACKs land in `written`, with a helper that receives and requests one message as MQTT.js does. */
function setup(limit?: number) {
    const written: number[] = [];
    const queue = new PubackQueue({ limit, write: (packet) => written.push(packet.messageId ?? -1) });
    let resumed = 0;
    const arrive = (messageId: number) => {
        const ticket = queue.receive(messageId);
        queue.request({ cmd: 'puback', messageId }, () => {
            resumed += 1;
        });
        return ticket;
    };
    return { queue, written, arrive, resumed: () => resumed };
}

describe('PubackQueue ordering', () => {
    it('should write PUBACKs in arrival order', () => {
        const { queue, written, arrive } = setup();
        const first = arrive(11);
        const second = arrive(12);
        const third = arrive(13);

        queue.settle(third);
        queue.settle(second);
        expect(written).toEqual([]);

        queue.settle(first);
        expect(written).toEqual([11, 12, 13]);
        expect(queue.size).toBe(0);
    });

    it('should write a settled PUBACK only after MQTT.js requests it', () => {
        const { queue, written } = setup();
        const ticket = queue.receive(5);
        queue.settle(ticket);
        expect(written).toEqual([]);

        queue.request({ cmd: 'puback', messageId: 5 }, () => undefined);
        expect(written).toEqual([5]);
    });

    it('should write the packet MQTT.js built', () => {
        const packets: PubackPacket[] = [];
        const queue = new PubackQueue({ write: (packet) => packets.push(packet) });
        const ticket = queue.receive(7);
        const packet: PubackPacket = { cmd: 'puback', messageId: 7, reasonCode: 0 };
        queue.request(packet, () => undefined);
        queue.settle(ticket);

        expect(packets).toEqual([packet]);
        expect(packets[0]).toBe(packet);
    });

    it('should keep the place of a PUBACK without a received message', () => {
        const { queue, written, arrive } = setup();
        const first = arrive(1);
        queue.request({ cmd: 'puback', messageId: 2, reasonCode: 16 }, () => undefined);
        const third = arrive(3);
        queue.settle(third);
        expect(written).toEqual([]);

        queue.settle(first);
        expect(written).toEqual([1, 2, 3]);
    });

    it('should handle a reused packet identifier after its PUBACK', () => {
        const { queue, written, arrive } = setup();
        queue.settle(arrive(9));
        const again = arrive(9);
        queue.settle(again);

        expect(written).toEqual([9, 9]);
    });

    it('should ignore a second settle', () => {
        const { queue, written, arrive } = setup();
        const ticket = arrive(4);

        expect(queue.settle(ticket)).toBe(true);
        expect(queue.settle(ticket)).toBe(false);
        expect(written).toEqual([4]);
    });
});

describe('PubackQueue failure', () => {
    it('should never write a withheld PUBACK', () => {
        const { queue, written, arrive } = setup();
        const first = arrive(1);

        expect(queue.withhold(first)).toBe(true);
        expect(queue.settle(first)).toBe(false);
        expect(written).toEqual([]);
        expect(first.state).toBe('withheld');
    });

    it('should hold back later PUBACKs behind a withheld one', () => {
        const { queue, written, arrive } = setup();
        const first = arrive(1);
        const second = arrive(2);
        const third = arrive(3);
        queue.settle(first);
        queue.withhold(second);
        queue.settle(third);

        expect(written).toEqual([1]);
        expect(queue.size).toBe(2);
    });
});

describe('PubackQueue close', () => {
    it('should forget every message on reset', () => {
        const { queue, written, arrive } = setup();
        const first = arrive(1);
        const second = arrive(2);

        expect(queue.reset()).toBe(2);
        expect(queue.size).toBe(0);
        expect(queue.settle(first)).toBe(false);
        expect(queue.withhold(second)).toBe(false);
        expect(written).toEqual([]);
    });

    it('should number connections and mark tickets with theirs', () => {
        const { queue, arrive } = setup();
        const before = arrive(1);
        queue.reset();
        const after = arrive(1);

        expect(before.connection).toBe(0);
        expect(after.connection).toBe(1);
        expect(queue.connection).toBe(1);
    });

    it('should not let a stale ticket write on the next connection', () => {
        const { queue, written, arrive } = setup();
        const old = arrive(1);
        queue.reset();
        const current = arrive(1);
        queue.settle(old);
        expect(written).toEqual([]);

        queue.settle(current);
        expect(written).toEqual([1]);
    });
});

describe('PubackQueue bound', () => {
    it('should stop resuming MQTT.js at the limit', () => {
        const { queue, arrive, resumed } = setup(2);
        const first = arrive(1);
        arrive(2);
        expect(resumed()).toBe(1);
        expect(queue.size).toBe(2);

        queue.settle(first);
        expect(resumed()).toBe(2);
        expect(queue.size).toBe(1);
    });

    it('should resume a parked reader on reset', () => {
        const { queue, arrive, resumed } = setup(1);
        arrive(1);
        expect(resumed()).toBe(0);

        queue.reset();
        expect(resumed()).toBe(1);
    });

    it('should stay parked while the head is withheld', () => {
        const { queue, arrive, resumed } = setup(2);
        const first = arrive(1);
        const second = arrive(2);
        queue.withhold(first);
        queue.settle(second);

        expect(resumed()).toBe(1);
        expect(queue.size).toBe(2);
    });

    it('should keep the size within the limit over many messages', () => {
        const { queue, written, arrive } = setup(50);
        const tickets = [];
        let maxSize = 0;
        for (let id = 1; id <= 5_000; id++) {
            tickets.push(arrive(id));
            maxSize = Math.max(maxSize, queue.size);
            if (queue.size === queue.limit) {
                for (const ticket of tickets.splice(0).reverse()) queue.settle(ticket);
            }
        }
        for (const ticket of tickets) queue.settle(ticket);

        expect(maxSize).toBe(50);
        expect(written).toEqual(Array.from({ length: 5_000 }, (_, index) => index + 1));
    });

    it('should reject a limit outside the packet identifier range', () => {
        for (const limit of [0, 1.5, 65_536, Number.NaN]) {
            expect(() => new PubackQueue({ limit, write: () => undefined }), String(limit)).toThrow(ConfigError);
        }
        expect(new PubackQueue({ write: () => undefined }).limit).toBe(1_000);
    });
});

describe('PubackQueue idle', () => {
    it('should resolve once every PUBACK not withheld is written', async () => {
        const { queue, arrive } = setup();
        const first = arrive(1);
        const second = arrive(2);
        queue.withhold(second);
        const idle = queue.idle(5_000);
        let result: boolean | undefined;
        void idle.then((value) => {
            result = value;
        });
        await Promise.resolve();
        expect(result).toBeUndefined();

        queue.settle(first);
        expect(await idle).toBe(true);
    });

    it('should resolve false after the timeout', async () => {
        const { queue, arrive } = setup();
        arrive(1);

        expect(await queue.idle(20)).toBe(false);
    });

    it('should resolve at once when empty', async () => {
        const { queue } = setup();

        expect(await queue.idle(10_000)).toBe(true);
    });
});

describe('holdPubacks', () => {
    it('should name the MQTT.js version when _sendPacket is missing', () => {
        class FakeClient {
            static VERSION = '9.0.0';
            connected = false;
            on(): this {
                return this;
            }
        }
        const client = new FakeClient() as unknown as MqttClient;

        expect(() => holdPubacks(client)).toThrow(ConfigError);
        expect(() => holdPubacks(client)).toThrow(/MQTT\.js 9\.0\.0 has no _sendPacket method/);
    });
});

describe('failure decisions', () => {
    it('should redeliver after service and retriable errors only', () => {
        expect(shouldRedeliver(new ServiceError('Kafka down'))).toBe(true);
        expect(shouldRedeliver(new UpstreamError('busy', { retriable: true }))).toBe(true);
        expect(shouldRedeliver(new ValidationError('invalid_json', 'bad'))).toBe(false);
        expect(shouldRedeliver(new Error('Unexpected token'))).toBe(false);
        expect(shouldRedeliver('text')).toBe(false);
    });

    it('should build a rejection with a stable digest', () => {
        const at = new Date('2024-05-01T10:00:00.000Z');
        const rejection = failedMessageRejection('ops/acme/alerts', '{bad', new Error('Unexpected token b'), at);
        const again = failedMessageRejection('ops/acme/alerts', '{bad', new Error('other'), at);
        const other = failedMessageRejection('ops/acme/alerts', '{bad2', new Error('other'), at);

        expect(rejection.source).toBe('mqtt:ops/acme/alerts');
        expect(rejection.code).toBe('handling_failed');
        expect(rejection.reason).toContain('Unexpected token b');
        expect(rejection.payload).toBe('{bad');
        expect(rejection.received_at).toBe('2024-05-01T10:00:00.000Z');
        expect(rejection.ref).toMatch(/^sha256:[0-9a-f]{32}$/);
        expect(again.ref).toBe(rejection.ref);
        expect(other.ref).not.toBe(rejection.ref);
    });
});
