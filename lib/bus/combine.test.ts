import { describe, expect, it } from 'vitest';

import { MessageCombiner, parseCombine, type CombinedMessage } from './combine';
import type { BusMessage } from './transport';

function message(partition: number | undefined, offset: number, key: string, value: unknown, epoch = 1): BusMessage {
    const msg: BusMessage = { topic: 'telemetry.clean', key, value };
    if (partition !== undefined) Object.assign(msg, { partition, offset: String(offset), epoch });
    return msg;
}

describe('parseCombine', () => {
    it('should accept 1 to 10,000', () => {
        expect(parseCombine(undefined)).toBe(1);
        expect(parseCombine('')).toBe(1);
        expect(parseCombine('500')).toBe(500);
        expect(parseCombine(' 20 ')).toBe(20);
        expect(parseCombine(10_000)).toBe(10_000);
    });

    it('should reject other values', () => {
        for (const value of ['0', '2.5', 'many', '-3', '10001', 0, 1.5]) expect(parseCombine(value)).toBeUndefined();
    });
});

describe('MessageCombiner', () => {
    it('should combine a partition in order', async () => {
        const emitted: CombinedMessage[] = [];
        const combiner = new MessageCombiner(100, (combined) => {
            emitted.push(combined);
        });
        const settled = [
            combiner.add(message(3, 10, 'well-1', [{ asset_id: 'well-1', n: 1 }, { asset_id: 'well-1', n: 2 }])),
            combiner.add(message(3, 11, 'well-2', [{ asset_id: 'well-2', n: 3 }])),
            combiner.add(message(3, 12, 'well-1', { asset_id: 'well-1', n: 4 })),
        ];
        expect(emitted).toHaveLength(0);
        await Promise.all(settled);

        expect(emitted).toEqual([{
            topic: 'telemetry.clean',
            key: '',
            partition: 3,
            epoch: 1,
            offset: '10',
            count: 3,
            value: [{ asset_id: 'well-1', n: 1 }, { asset_id: 'well-1', n: 2 }, { asset_id: 'well-2', n: 3 }, { asset_id: 'well-1', n: 4 }],
        }]);
    });

    it('should keep partitions and epochs apart', async () => {
        const emitted: CombinedMessage[] = [];
        const combiner = new MessageCombiner(100, (combined) => {
            emitted.push(combined);
        });
        await Promise.all([
            combiner.add(message(1, 5, 'well-1', [1])),
            combiner.add(message(2, 7, 'well-2', [2])),
            combiner.add(message(1, 6, 'well-1', [3])),
            combiner.add(message(1, 8, 'well-1', [4], 2)),
        ]);

        expect(emitted.map((m) => [m.partition, m.epoch, m.key, m.offset, m.count, m.value])).toEqual([
            [1, 1, 'well-1', '5', 2, [1, 3]],
            [2, 1, 'well-2', '7', 1, [2]],
            [1, 2, 'well-1', '8', 1, [4]],
        ]);
    });

    it('should flush a full group at once', () => {
        const emitted: CombinedMessage[] = [];
        const combiner = new MessageCombiner(2, (combined) => {
            emitted.push(combined);
        });
        for (let offset = 0; offset < 5; offset++) void combiner.add(message(0, offset, 'k', [offset]));

        // Two full groups left at once; the fifth message waits for the end of the turn.
        expect(emitted.map((m) => m.value)).toEqual([[0, 1], [2, 3]]);
    });

    it('should settle and fail parts together', async () => {
        let finish!: (ok: boolean) => void;
        const combiner = new MessageCombiner(10, () => new Promise<void>((resolve, reject) => {
            finish = (ok) => (ok ? resolve() : reject(new Error('the store is down')));
        }));
        const first = combiner.add(message(0, 1, 'k', [1]));
        const second = combiner.add(message(0, 2, 'k', [2]));
        let settled = 0;
        void first.then(() => settled++);
        void second.then(() => settled++);
        await Promise.resolve();
        await Promise.resolve();
        expect(settled).toBe(0);
        finish(true);
        await Promise.all([first, second]);
        expect(settled).toBe(2);

        const third = combiner.add(message(0, 3, 'k', [3]));
        const fourth = combiner.add(message(0, 4, 'k', [4]));
        await Promise.resolve();
        finish(false);
        await expect(third).rejects.toThrow('the store is down');
        await expect(fourth).rejects.toThrow('the store is down');
    });

    it('should fail parts when emit throws', async () => {
        const combiner = new MessageCombiner(10, () => {
            throw new Error('no wires');
        });
        await expect(combiner.add(message(undefined, 0, 'k', [1]))).rejects.toThrow('no wires');
    });
});
