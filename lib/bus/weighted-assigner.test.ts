import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';

import { announcedWeight, MAX_WEIGHT, weightedAssigner, weightedShares, WEIGHTED_ASSIGNER } from './weighted-assigner';

const twelve = Array.from({ length: 12 }, (_, index) => index);

function sizes(shares: Map<string, number[]>): Record<string, number> {
    return Object.fromEntries([...shares].map(([memberId, partitions]) => [memberId, partitions.length]));
}

describe('weightedShares', () => {
    it('should split evenly at equal weights', () => {
        const shares = weightedShares(twelve, [{ memberId: 'b', weight: 1 }, { memberId: 'a', weight: 1 }]);

        expect(shares.get('a')).toEqual([0, 2, 4, 6, 8, 10]);
        expect(shares.get('b')).toEqual([1, 3, 5, 7, 9, 11]);
    });

    it('should follow the weights', () => {
        expect(sizes(weightedShares(twelve, [{ memberId: 'dashboard', weight: 0.7 }, { memberId: 'ingest', weight: 1 }]))).toEqual({ dashboard: 5, ingest: 7 });
        expect(sizes(weightedShares(twelve, [{ memberId: 'a', weight: 1 }, { memberId: 'b', weight: 1 }, { memberId: 'c', weight: 2 }]))).toEqual({ a: 3, b: 3, c: 6 });
    });

    it('should spread a share over the partitions', () => {
        const shares = weightedShares(twelve, [{ memberId: 'a', weight: 1 }, { memberId: 'b', weight: 2 }]);

        expect(shares.get('a')).toEqual([1, 4, 7, 10]);
        expect(shares.get('b')).toEqual([0, 2, 3, 5, 6, 8, 9, 11]);
    });

    it('should leave extra members empty', () => {
        const shares = weightedShares([0, 1, 2], ['a', 'b', 'c', 'd', 'e'].map((memberId) => ({ memberId, weight: 1 })));

        expect(sizes(shares)).toEqual({ a: 1, b: 1, c: 1, d: 0, e: 0 });
    });

    it('should assign every partition once', () => {
        const partitions = Array.from({ length: 37 }, (_, index) => 36 - index);
        for (const weights of [[1], [0.1, 100], [0.7, 1, 1], [3, 0.5, 2, 0.25], [1, 1, 1, 1, 1, 1, 1]]) {
            const members = weights.map((weight, index) => ({ memberId: `member-${index}`, weight }));
            const assigned = [...weightedShares(partitions, members).values()].flat().sort((a, b) => a - b);

            expect(assigned).toEqual([...partitions].sort((a, b) => a - b));
        }
    });

    it('should return empty shares without partitions', () => {
        expect(sizes(weightedShares([], [{ memberId: 'a', weight: 1 }]))).toEqual({ a: 0 });
    });
});

describe('announcedWeight', () => {
    it('should read a valid weight', () => {
        expect(announcedWeight(Buffer.from('{"weight":0.7}'))).toBe(0.7);
    });

    it.each([
        ['missing', null],
        ['empty', Buffer.alloc(0)],
        ['not JSON', Buffer.from('weight=2')],
        ['zero', Buffer.from('{"weight":0}')],
        ['negative', Buffer.from('{"weight":-1}')],
        ['text', Buffer.from('{"weight":"2"}')],
    ])('should take 1 for %s user data', (_case, userData) => {
        expect(announcedWeight(userData)).toBe(1);
    });

    it('should cap a large weight', () => {
        expect(announcedWeight(Buffer.from('{"weight":1e9}'))).toBe(MAX_WEIGHT);
    });
});

describe('weightedAssigner', () => {
    const cluster = {
        findTopicPartitionMetadata: (topic: string) => Array.from({ length: topic === 'telemetry.raw' ? 12 : 3 }, (_, partitionId) => ({ partitionId })),
    };
    const assignerOf = (weight: number) => weightedAssigner(weight)({ cluster, groupId: 'g', logger: undefined } as never);

    it('should announce its weight', () => {
        const { name, metadata } = assignerOf(0.7).protocol({ topics: ['telemetry.raw'] });
        const decoded = AssignerProtocol.MemberMetadata.decode(metadata);

        expect(name).toBe(WEIGHTED_ASSIGNER);
        expect(decoded?.topics).toEqual(['telemetry.raw']);
        expect(announcedWeight(decoded?.userData)).toBe(0.7);
    });

    it('should assign each topic by the announced weights', async () => {
        const members = [
            { memberId: 'runtime-0', memberMetadata: assignerOf(0.7).protocol({ topics: ['telemetry.raw', 'events.alerts'] }).metadata },
            { memberId: 'runtime-1', memberMetadata: assignerOf(1).protocol({ topics: ['telemetry.raw', 'events.alerts'] }).metadata },
        ];
        const result = await assignerOf(1).assign({ members, topics: ['telemetry.raw', 'events.alerts'] });
        const byMember = Object.fromEntries(result.map(({ memberId, memberAssignment }) => [memberId, AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment]));

        expect(byMember['runtime-0']?.['telemetry.raw']).toHaveLength(5);
        expect(byMember['runtime-1']?.['telemetry.raw']).toHaveLength(7);
        expect(byMember['runtime-0']?.['events.alerts']).toEqual([1]);
        expect(byMember['runtime-1']?.['events.alerts']).toEqual([0, 2]);
    });
});
