// Isolation forest. Random trees split the training samples on a random feature at a random value
// until each sample is alone in its leaf. Unusual points are isolated after few splits, so a short
// average path means a high anomaly score.
import { seededRandom } from './prng';

/** Euler-Mascheroni constant, for the harmonic number estimate H(i) ≈ ln(i) + γ. */
const EULER_GAMMA = 0.5772156649015329;

/**
 * Returns c(n), the average path length of an unsuccessful search in a binary search tree of n
 * points: 2·H(n−1) − 2·(n−1)/n, with c(2) = 1 and c(n) = 0 for n < 2. It normalises path lengths
 * and estimates the depth of the unbuilt subtree below a leaf that still contains n samples.
 */
export function averagePathLength(n: number): number {
    if (n < 2) return 0;
    if (n === 2) return 1;
    return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

export interface IsolationForestOptions {
    /** Number of trees. Default 100. */
    trees?: number;
    /** Samples drawn without replacement for each tree (ψ). Default 256, or all samples when fewer. */
    sampleSize?: number;
    /** Seed of the random numbers; the same seed and samples give the same forest. Default 1. */
    seed?: number;
    /**
     * Tolerance per feature around the range of each tree's sample. When given, a point outside
     * [min − margin, max + margin] of a tree's sample in any feature counts as isolated by that
     * tree's first split (path length 1). Without it, such a point follows the tree like the most
     * extreme sample, so its score stops growing with its distance, and a feature that was constant
     * in training can never separate it.
     */
    margins?: readonly number[];
}

/** One tree in flat arrays: node i is a leaf when feature[i] is −1, and then size[i] is its sample count. */
interface Tree {
    feature: Int32Array;
    split: Float64Array;
    left: Int32Array;
    right: Int32Array;
    size: Int32Array;
    /** Range of the tree's sample per feature, widened by the margins; empty without margins. */
    lower: Float64Array;
    upper: Float64Array;
}

function buildTree(
    samples: readonly (readonly number[])[],
    indices: number[],
    dimensions: number,
    heightLimit: number,
    random: () => number,
    margins: readonly number[] | undefined,
): Tree {
    const feature: number[] = [];
    const split: number[] = [];
    const left: number[] = [];
    const right: number[] = [];
    const size: number[] = [];

    function grow(members: number[], depth: number): number {
        const node = feature.length;
        feature.push(-1);
        split.push(0);
        left.push(-1);
        right.push(-1);
        size.push(members.length);
        if (depth >= heightLimit || members.length <= 1) return node;

        // Only features that vary among the members can separate them.
        const varying: { index: number; min: number; max: number }[] = [];
        for (let index = 0; index < dimensions; index++) {
            let min = Infinity;
            let max = -Infinity;
            for (const member of members) {
                const value = samples[member][index];
                if (value < min) min = value;
                if (value > max) max = value;
            }
            if (max > min) varying.push({ index, min, max });
        }
        if (varying.length === 0) return node;

        const chosen = varying[Math.floor(random() * varying.length)];
        // A value in (min, max); the strict test below keeps both sides non-empty.
        let value = chosen.min + random() * (chosen.max - chosen.min);
        if (value <= chosen.min) value = (chosen.min + chosen.max) / 2;
        const lower = members.filter((member) => samples[member][chosen.index] < value);
        const upper = members.filter((member) => samples[member][chosen.index] >= value);
        feature[node] = chosen.index;
        split[node] = value;
        left[node] = grow(lower, depth + 1);
        right[node] = grow(upper, depth + 1);
        return node;
    }

    grow(indices, 0);
    const lower = new Float64Array(margins ? dimensions : 0).fill(Infinity);
    const upper = new Float64Array(margins ? dimensions : 0).fill(-Infinity);
    if (margins) {
        for (const index of indices) {
            for (let d = 0; d < dimensions; d++) {
                lower[d] = Math.min(lower[d], samples[index][d]);
                upper[d] = Math.max(upper[d], samples[index][d]);
            }
        }
        for (let d = 0; d < dimensions; d++) {
            lower[d] -= margins[d];
            upper[d] += margins[d];
        }
    }
    return {
        feature: Int32Array.from(feature),
        split: Float64Array.from(split),
        left: Int32Array.from(left),
        right: Int32Array.from(right),
        size: Int32Array.from(size),
        lower,
        upper,
    };
}

function pathLength(tree: Tree, point: ArrayLike<number>): number {
    for (let d = 0; d < tree.lower.length; d++) {
        if (point[d] < tree.lower[d] || point[d] > tree.upper[d]) return 1;
    }
    let node = 0;
    let depth = 0;
    while (tree.feature[node] >= 0) {
        node = point[tree.feature[node]] < tree.split[node] ? tree.left[node] : tree.right[node];
        depth++;
    }
    return depth + averagePathLength(tree.size[node]);
}

export class IsolationForest {
    private constructor(
        private readonly forest: Tree[],
        /** Samples per tree (ψ), which sets the normalisation c(ψ). */
        readonly sampleSize: number,
        readonly dimensions: number,
    ) {}

    /** Trains a forest on samples of equal length; throws a RangeError for an empty or ragged set. */
    static fit(samples: readonly (readonly number[])[], options: IsolationForestOptions = {}): IsolationForest {
        if (samples.length === 0) throw new RangeError('An isolation forest needs at least one training sample.');
        const dimensions = samples[0].length;
        samples.forEach((sample, index) => {
            if (sample.length !== dimensions) {
                throw new RangeError(`Training sample ${index} has ${sample.length} features instead of ${dimensions}.`);
            }
            if (!sample.every(Number.isFinite)) throw new RangeError(`Training sample ${index} contains a value that is not a finite number.`);
        });
        const trees = options.trees ?? 100;
        const sampleSize = Math.min(options.sampleSize ?? 256, samples.length);
        const heightLimit = Math.ceil(Math.log2(Math.max(sampleSize, 2)));
        const random = seededRandom(options.seed ?? 1);
        const margins = options.margins;
        if (margins && (margins.length !== dimensions || !margins.every((margin) => Number.isFinite(margin) && margin >= 0))) {
            throw new RangeError(`Margins must be ${dimensions} finite numbers of 0 or more, one per feature.`);
        }
        const all = samples.map((_, index) => index);

        const forest: Tree[] = [];
        for (let t = 0; t < trees; t++) {
            // Partial Fisher-Yates shuffle: the first sampleSize entries become a sample without replacement.
            for (let i = 0; i < sampleSize; i++) {
                const j = i + Math.floor(random() * (all.length - i));
                [all[i], all[j]] = [all[j], all[i]];
            }
            forest.push(buildTree(samples, all.slice(0, sampleSize), dimensions, heightLimit, random, margins));
        }
        return new IsolationForest(forest, sampleSize, dimensions);
    }

    /** Average path length of `point` over the trees, E[h(x)]. */
    averagePath(point: ArrayLike<number>): number {
        let total = 0;
        for (const tree of this.forest) total += pathLength(tree, point);
        return total / this.forest.length;
    }

    /**
     * Anomaly score s = 2^(−E[h(x)] / c(ψ)) in (0, 1]: close to 1 for points isolated quickly, about
     * 0.5 or below for points like the training samples.
     */
    score(point: ArrayLike<number>): number {
        if (point.length !== this.dimensions) {
            throw new RangeError(`The point has ${point.length} features, but the forest was trained on ${this.dimensions}.`);
        }
        const normaliser = averagePathLength(this.sampleSize);
        // With one training sample every path has length 0 and no point can be distinguished, so the score is neutral.
        if (normaliser === 0) return 0.5;
        return 2 ** (-this.averagePath(point) / normaliser);
    }
}
