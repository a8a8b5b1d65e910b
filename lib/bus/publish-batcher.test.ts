import { describe, expect, it } from 'vitest';

import { PublishBatcher, type TopicBatch } from './publish-batcher';

/** A send function whose calls the test completes by hand. */
function manualSend(): { send: (batch: TopicBatch) => Promise<void>; batches: TopicBatch[]; finish: (error?: Error) => void; inFlight: () => number } {
    const batches: TopicBatch[] = [];
    const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
    return {
        batches,
        send: (batch) => {
            batches.push(batch);
            return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
        },
        finish: (error) => {
            const call = pending.shift();
            if (!call) throw new Error('no send in flight');
            if (error) call.reject(error);
            else call.resolve();
        },
        inFlight: () => pending.length,
    };
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('PublishBatcher', () => {
    it('should group publishes within the linger time', async () => {
        const sender = manualSend();
        const batcher = new PublishBatcher({ send: sender.send, lingerMs: 5 });
        const results = [batcher.publish('telemetry.clean', 'a', '1'), batcher.publish('events.alerts', 'b', '2'), batcher.publish('telemetry.clean', 'a', '3')];
        await tick(20);

        expect(sender.batches).toHaveLength(1);
        expect(sender.batches[0].get('telemetry.clean')).toEqual([{ key: 'a', value: '1' }, { key: 'a', value: '3' }]);
        expect(sender.batches[0].get('events.alerts')).toEqual([{ key: 'b', value: '2' }]);

        sender.finish();
        await expect(Promise.all(results)).resolves.toHaveLength(3);
    });

    it('should send a full batch without waiting', () => {
        const sender = manualSend();
        const batcher = new PublishBatcher({ send: sender.send, lingerMs: 10_000, maxBatchMessages: 2 });
        void batcher.publish('t', 'k', '1');
        void batcher.publish('t', 'k', '2');

        expect(sender.batches).toHaveLength(1);
        expect(sender.batches[0].get('t')).toHaveLength(2);
    });

    it('should keep one batch in flight and queue the rest in order', async () => {
        const sender = manualSend();
        const batcher = new PublishBatcher({ send: sender.send, lingerMs: 1, maxBatchMessages: 2 });
        const all = [1, 2, 3, 4, 5].map((value) => batcher.publish('t', 'k', String(value)));

        expect(sender.inFlight()).toBe(1);
        expect(batcher.queued).toBe(5);
        sender.finish();
        await tick(5);
        expect(sender.batches.map((batch) => batch.get('t')?.map((message) => message.value))).toEqual([['1', '2'], ['3', '4']]);

        sender.finish();
        await tick(5);
        sender.finish();
        await Promise.all(all);
        expect(sender.batches.map((batch) => batch.get('t')?.length)).toEqual([2, 2, 1]);
        expect(batcher.queued).toBe(0);
    });

    it('should reject every publish of a failed batch only', async () => {
        const sender = manualSend();
        const batcher = new PublishBatcher({ send: sender.send, lingerMs: 1, maxBatchMessages: 2 });
        const outcome = (published: Promise<void>): Promise<string> => published.then(() => 'stored', (error: Error) => error.message);
        const first = outcome(batcher.publish('t', 'k', '1'));
        const second = outcome(batcher.publish('t', 'k', '2'));
        const third = outcome(batcher.publish('t', 'k', '3'));
        sender.finish(new Error('broker unreachable'));
        await tick(5);
        sender.finish();

        expect(await first).toBe('broker unreachable');
        expect(await second).toBe('broker unreachable');
        expect(await third).toBe('stored');
    });

    it('should flush everything queued', async () => {
        const batches: TopicBatch[] = [];
        const batcher = new PublishBatcher({
            send: async (batch) => {
                batches.push(batch);
            },
            lingerMs: 10_000,
            maxBatchMessages: 3,
        });
        const all = Array.from({ length: 7 }, (_, index) => batcher.publish('t', 'k', String(index)));
        await batcher.flush();

        await expect(Promise.all(all)).resolves.toHaveLength(7);
        expect(batches.map((batch) => batch.get('t')?.length)).toEqual([3, 3, 1]);
        expect(batcher.queued).toBe(0);
    });
});
