// Partition assignment for shared consumer groups, in proportion to a weight each runtime
// announces when it joins. A runtime that also feeds a dashboard or runs other work announces a
// smaller weight, so it takes fewer partitions and the runtimes are about equally busy. With equal
// weights the split is as even as round robin. The group leader computes the assignment, so every
// member must offer this assigner; members that do not fall back to kafkajs round robin.
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const WEIGHTED_ASSIGNER = 'UpstreamLiveWeighted';

/** Largest weight a runtime may announce. A larger weight is capped to it. */
export const MAX_WEIGHT = 100;

export interface WeightedMember {
    memberId: string;
    /** Relative share of partitions, above 0. */
    weight: number;
}

/**
 * Splits `partitions` among `members` in proportion to their weights. Each member first gets the
 * whole part of its share, and the partitions left over go to the largest fractions, ties by
 * member id. Members are served in member id order, and each member's partitions are spread over
 * the list rather than taken as one run. Returns every member, with an empty list when its share
 * rounds to nothing.
 */
export function weightedShares(partitions: readonly number[], members: readonly WeightedMember[]): Map<string, number[]> {
    // Member ids are unique within a group, so two ids are never equal.
    const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
    const result = new Map<string, number[]>(sorted.map((member) => [member.memberId, []]));
    if (sorted.length === 0 || partitions.length === 0) return result;

    const total = sorted.reduce((sum, member) => sum + member.weight, 0);
    const exact = sorted.map((member) => (partitions.length * member.weight) / total);
    const quota = exact.map(Math.floor);
    let left = partitions.length - quota.reduce((sum, count) => sum + count, 0);
    const byFraction = sorted.map((_, index) => index).sort((a, b) => exact[b] - quota[b] - (exact[a] - quota[a]) || a - b);
    for (const index of byFraction) {
        if (left === 0) break;
        quota[index] += 1;
        left -= 1;
    }

    // Smooth weighted round robin over the quotas: each turn, the member furthest behind its
    // share takes the next partition.
    const credit = sorted.map(() => 0);
    const assigned = sorted.map(() => 0);
    for (const partition of [...partitions].sort((a, b) => a - b)) {
        let best = -1;
        for (let index = 0; index < sorted.length; index++) {
            if (assigned[index] >= quota[index]) continue;
            credit[index] += quota[index];
            if (best === -1 || credit[index] > credit[best]) best = index;
        }
        credit[best] -= partitions.length;
        assigned[best] += 1;
        result.get(sorted[best].memberId)!.push(partition);
    }
    return result;
}

/** Returns the weight a member announced in its user data, or 1 when it is missing or invalid. */
export function announcedWeight(userData: Buffer | null | undefined): number {
    if (!userData || userData.length === 0) return 1;
    try {
        const weight = (JSON.parse(userData.toString('utf8')) as { weight?: unknown }).weight;
        if (typeof weight === 'number' && Number.isFinite(weight) && weight > 0) return Math.min(weight, MAX_WEIGHT);
    } catch {
        // User data of another version counts as the default weight.
    }
    return 1;
}

/** Returns a kafkajs assigner that announces `weight` for this runtime and assigns by weight. */
export function weightedAssigner(weight: number): PartitionAssigner {
    return ({ cluster }) => ({
        name: WEIGHTED_ASSIGNER,
        version: 0,
        async assign({ members, topics }) {
            const weighted = members.map((member) => ({
                memberId: member.memberId,
                weight: announcedWeight(AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData),
            }));
            const assignment = new Map<string, Record<string, number[]>>(members.map((member) => [member.memberId, {}]));
            for (const topic of topics) {
                const partitions = cluster.findTopicPartitionMetadata(topic).map((metadata) => metadata.partitionId);
                for (const [memberId, share] of weightedShares(partitions, weighted)) {
                    if (share.length > 0) assignment.get(memberId)![topic] = share;
                }
            }
            return [...assignment].map(([memberId, topicPartitions]) => ({
                memberId,
                memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: topicPartitions, userData: Buffer.alloc(0) }),
            }));
        },
        protocol({ topics }) {
            return {
                name: WEIGHTED_ASSIGNER,
                metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.from(JSON.stringify({ weight })) }),
            };
        },
    });
}
