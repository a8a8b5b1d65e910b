import { describe, expect, it } from 'vitest';

import { PartitionOffsets, type OffsetEntry } from './partition-offsets';

function trackAll(offsets: PartitionOffsets, values: number[]): OffsetEntry[] {
    return values.map((value) => {
        const entry = offsets.track(String(value));
        if (!entry) throw new Error(`offset ${value} was not tracked`);
        return entry;
    });
}

describe('PartitionOffsets', () => {
    it('should have nothing to commit before tracking', () => {
        const offsets = new PartitionOffsets();

        expect(offsets.commitOffset()).toBeUndefined();
        expect(offsets.uncommittedOffset()).toBeUndefined();
    });

    it('should commit the lowest unsettled offset', () => {
        const offsets = new PartitionOffsets();
        const [first, second, third] = trackAll(offsets, [10, 11, 12]);
        expect(offsets.commitOffset()).toBe('10');

        offsets.settle(second);
        offsets.settle(third);
        expect(offsets.commitOffset()).toBe('10');
        expect(offsets.unsettled).toBe(1);

        offsets.settle(first);
        expect(offsets.commitOffset()).toBe('13');
        expect(offsets.unsettled).toBe(0);
        expect(offsets.window).toBe(0);
    });

    it('should step over gaps in offsets', () => {
        const offsets = new PartitionOffsets();
        const entries = trackAll(offsets, [5, 9, 30]);
        offsets.settle(entries[0]);
        expect(offsets.commitOffset()).toBe('9');

        offsets.settle(entries[1]);
        offsets.settle(entries[2]);
        expect(offsets.commitOffset()).toBe('31');
    });

    it('should hold the commit point at a failed offset', () => {
        const offsets = new PartitionOffsets();
        const [first, second] = trackAll(offsets, [0, 1]);
        offsets.fail(first);
        offsets.settle(second);

        expect(offsets.commitOffset()).toBe('0');
        expect(offsets.unsettled).toBe(0);
        expect(offsets.window).toBe(2);
    });

    it('should report only changed commit offsets', () => {
        const offsets = new PartitionOffsets();
        const [first] = trackAll(offsets, [0]);
        offsets.settle(first);
        expect(offsets.uncommittedOffset()).toBe('1');

        offsets.markCommitted('1');
        expect(offsets.uncommittedOffset()).toBeUndefined();
    });

    it('should skip offsets fetched again after a rebalance', () => {
        const offsets = new PartitionOffsets();
        const [first, second] = trackAll(offsets, [0, 1, 2]);
        offsets.settle(first);
        offsets.settle(second);

        expect(offsets.isNew('1')).toBe(false);
        expect(offsets.track('0')).toBeUndefined();
        expect(offsets.track('1')).toBeUndefined();
        expect(offsets.track('2')).toBeUndefined();
        expect(offsets.isNew('3')).toBe(true);
        expect(offsets.track('3')?.offset).toBe(3n);
        expect(offsets.unsettled).toBe(2);
    });

    it('should hand out a failed offset again', () => {
        const offsets = new PartitionOffsets();
        const [first] = trackAll(offsets, [0, 1]);
        offsets.fail(first);

        const again = offsets.track('0');
        expect(again).toBe(first);
        expect(again?.state).toBe('pending');
        expect(offsets.unsettled).toBe(2);

        offsets.settle(first);
        expect(offsets.commitOffset()).toBe('1');
    });

    it('should ignore a second settle of one entry', () => {
        const offsets = new PartitionOffsets();
        const [first] = trackAll(offsets, [0, 1]);
        offsets.settle(first);
        offsets.settle(first);

        expect(offsets.unsettled).toBe(1);
    });

    it('should keep 64-bit offsets exact', () => {
        const offsets = new PartitionOffsets();
        const entry = offsets.track('9007199254740993');
        if (!entry) throw new Error('not tracked');
        offsets.settle(entry);

        expect(offsets.commitOffset()).toBe('9007199254740994');
    });

    it('should stay correct across compaction', () => {
        const offsets = new PartitionOffsets();
        const entries = trackAll(offsets, Array.from({ length: 5_000 }, (_, index) => index));
        for (const entry of entries.slice(0, 4_000)) offsets.settle(entry);

        expect(offsets.commitOffset()).toBe('4000');
        expect(offsets.window).toBe(1_000);
        expect(offsets.track('3999')).toBeUndefined();
        expect(offsets.track('4500')).toBeUndefined();

        for (const entry of entries.slice(4_000)) offsets.settle(entry);
        expect(offsets.commitOffset()).toBe('5000');
    });

    it('should wake waiters on settle and failure', async () => {
        const offsets = new PartitionOffsets();
        const [first, second] = trackAll(offsets, [0, 1]);
        const settled = offsets.nextChange();
        offsets.settle(first);
        await settled;

        const failed = offsets.nextChange();
        offsets.fail(second);
        await expect(failed).resolves.toBeUndefined();
    });
});
