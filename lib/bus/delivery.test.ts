import { createRequire } from 'node:module';

import { describe, expect, it } from 'vitest';

import {
    attachDelivery,
    carryDelivery,
    Delivery,
    DELIVERY_PROPERTY,
    deliveryOf,
    describeDelivery,
    DeliveryTracker,
    failDelivery,
    forwardDelivery,
    settleDelivery,
} from './delivery';

const require = createRequire(import.meta.url);
// The function Node-RED uses to clone a message for its second and further wires.
const { cloneMessage } = (require('@node-red/util') as { util: { cloneMessage: <T>(msg: T) => T } }).util;

const info = { topic: 'telemetry.clean', key: 'well-7', partition: 3, offset: '120' };

function tracked(): { msg: Record<string, unknown>; delivery: Delivery } {
    const delivery = new Delivery(info);
    const msg = attachDelivery({ topic: 'telemetry.clean', payload: [{ asset_id: 'well-7' }] } as Record<string, unknown>, delivery);
    return { msg, delivery };
}

describe('Delivery', () => {
    it('should settle when its only reference is released', async () => {
        const { delivery } = tracked();
        delivery.release();

        expect(delivery.state).toBe('settled');
        await expect(delivery.outcome).resolves.toBeUndefined();
    });

    it('should wait for every fanned-out message', () => {
        const { msg, delivery } = tracked();
        forwardDelivery(msg, 3);

        settleDelivery(msg);
        settleDelivery(msg);
        expect(delivery.state).toBe('pending');
        expect(delivery.pendingReferences).toBe(1);

        settleDelivery(msg);
        expect(delivery.state).toBe('settled');
    });

    it('should settle a node that emits nothing', () => {
        const { msg, delivery } = tracked();
        forwardDelivery(msg, 0);

        expect(delivery.state).toBe('settled');
    });

    it('should keep the count for one emitted message', () => {
        const { msg, delivery } = tracked();
        forwardDelivery(msg, 1);

        expect(delivery.pendingReferences).toBe(1);
        expect(delivery.state).toBe('pending');
    });

    it('should fail at once and ignore later releases', async () => {
        const { msg, delivery } = tracked();
        forwardDelivery(msg, 2);
        failDelivery(msg, new Error('database unreachable'));
        settleDelivery(msg);
        settleDelivery(msg);

        expect(delivery.state).toBe('failed');
        await expect(delivery.outcome).rejects.toThrow('database unreachable');
    });

    it('should ignore retains after it ended', () => {
        const { delivery } = tracked();
        delivery.release();
        delivery.retain(5);

        expect(delivery.pendingReferences).toBe(0);
        expect(delivery.state).toBe('settled');
    });
});

describe('delivery on messages', () => {
    it('should survive Node-RED message cloning', () => {
        const { msg, delivery } = tracked();
        const clone = cloneMessage(msg);

        expect(clone).not.toBe(msg);
        expect(clone.payload).not.toBe(msg.payload);
        expect(deliveryOf(clone)).toBe(delivery);
    });

    it('should settle the original through a clone', () => {
        const { msg, delivery } = tracked();
        const clone = cloneMessage(msg);
        settleDelivery(clone);

        expect(delivery.state).toBe('settled');
    });

    it('should be left out of JSON', () => {
        const { msg } = tracked();

        expect(JSON.parse(JSON.stringify(msg))).not.toHaveProperty(DELIVERY_PROPERTY);
    });

    it('should be copied onto a new message', () => {
        const { msg, delivery } = tracked();
        const derived = carryDelivery(msg, { topic: 'well-7', payload: { event_id: 'e-1' } });

        expect(deliveryOf(derived)).toBe(delivery);
    });

    it('should make calls on plain messages no-ops', () => {
        const plain = { payload: 1 };
        settleDelivery(plain);
        failDelivery(plain, new Error('ignored'));
        forwardDelivery(plain, 0);

        expect(deliveryOf(plain)).toBeUndefined();
        expect(carryDelivery(plain, { payload: 2 })).toEqual({ payload: 2 });
        expect(deliveryOf(null)).toBeUndefined();
        expect(deliveryOf({ [DELIVERY_PROPERTY]: () => 'not a delivery' })).toBeUndefined();
    });

    it('should describe topic, partition, offset and key', () => {
        expect(describeDelivery(info)).toBe('telemetry.clean partition 3 offset 120 (key well-7)');
        expect(describeDelivery({ topic: 'events.alerts', key: '' })).toBe('events.alerts (key none)');
        expect(describeDelivery({ topic: 'telemetry.clean', key: '', partition: 2, offset: '40', count: 3 })).toBe('telemetry.clean partition 2 offset 40 and 2 more (key several)');
    });
});

describe('DeliveryTracker', () => {
    function clockTracker(timeoutMs = 1_000): { tracker: DeliveryTracker; clock: { now: number }; overdue: string[]; failed: string[] } {
        const clock = { now: 0 };
        const overdue: string[] = [];
        const failed: string[] = [];
        const tracker = new DeliveryTracker({
            timeoutMs,
            now: () => clock.now,
            autoSweep: false,
            onOverdue: (delivery, age) => overdue.push(`${delivery.info.offset}@${age}`),
            onFailed: (delivery, error) => failed.push(`${delivery.info.offset}: ${error.message}`),
        });
        return { tracker, clock, overdue, failed };
    }

    it('should report an unsettled delivery once after the timeout', () => {
        const { tracker, clock, overdue } = clockTracker();
        tracker.start({ ...info, offset: '1' });
        clock.now = 999;
        expect(tracker.sweep()).toBe(0);

        clock.now = 1_500;
        expect(tracker.sweep()).toBe(1);
        clock.now = 5_000;
        expect(tracker.sweep()).toBe(0);

        expect(overdue).toEqual(['1@1500']);
        expect(tracker.pending).toBe(1);
        expect(tracker.overdueCount).toBe(1);
    });

    it('should not report settled deliveries', () => {
        const { tracker, clock, overdue } = clockTracker();
        tracker.start({ ...info, offset: '1' }).release();
        const second = tracker.start({ ...info, offset: '2' });
        clock.now = 2_000;
        tracker.sweep();

        expect(overdue).toEqual(['2@2000']);
        second.release();
        expect(tracker.pending).toBe(0);
        expect(tracker.overdueCount).toBe(0);
    });

    it('should stop at the first young delivery', () => {
        const { tracker, clock, overdue } = clockTracker();
        tracker.start({ ...info, offset: '1' });
        clock.now = 600;
        tracker.start({ ...info, offset: '2' });
        clock.now = 1_200;
        tracker.sweep();

        expect(overdue).toEqual(['1@1200']);
        clock.now = 1_700;
        tracker.sweep();
        expect(overdue).toEqual(['1@1200', '2@1100']);
    });

    it('should report a failure once', () => {
        const { tracker, failed } = clockTracker();
        const delivery = tracker.start(info);
        delivery.fail(new Error('write failed'));
        delivery.fail(new Error('second failure'));

        expect(failed).toEqual(['120: write failed']);
        expect(tracker.pending).toBe(0);
    });

    it('should sweep on its own timer', async () => {
        const overdue: string[] = [];
        const tracker = new DeliveryTracker({ timeoutMs: 30, onOverdue: (delivery) => overdue.push(delivery.info.key) });
        tracker.start(info);
        await new Promise((resolve) => setTimeout(resolve, 150));
        tracker.close();

        expect(overdue).toEqual(['well-7']);
    });
});
