// Seeded pseudo-random numbers, so that a trained isolation forest is the same on every run.

/**
 * Returns a generator of uniform numbers in [0, 1) from a 32-bit seed (the mulberry32 generator:
 * a 32-bit state advanced by a Weyl sequence and mixed by two multiply-xorshift rounds).
 */
export function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let mixed = state;
        mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
        mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
        return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
    };
}
