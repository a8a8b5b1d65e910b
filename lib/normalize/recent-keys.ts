// A bounded set of recently added keys, for duplicate suppression. When it is full, the key added
// first is forgotten. A ring of slots records the order, so forgetting costs the same at any size.
import { ConfigError } from '../errors';

export class RecentKeys {
    private readonly keys = new Set<string>();
    private readonly ring: (string | undefined)[];
    private next = 0;

    /** @param capacity Maximum number of keys kept. 0 disables duplicate suppression. */
    constructor(readonly capacity: number) {
        if (!Number.isInteger(capacity) || capacity < 0) {
            throw new ConfigError(`Duplicate cache size ${String(capacity)} is invalid; use a whole number of 0 or more.`);
        }
        this.ring = new Array<string | undefined>(capacity);
    }

    get size(): number {
        return this.keys.size;
    }

    /**
     * Returns whether `key` is among the kept keys, and keeps it when it is not. When the set is
     * full, the key added first is forgotten to make room.
     */
    checkAndAdd(key: string): boolean {
        if (this.capacity === 0) return false;
        if (this.keys.has(key)) return true;
        const forgotten = this.ring[this.next];
        if (forgotten !== undefined) this.keys.delete(forgotten);
        this.ring[this.next] = key;
        this.next = (this.next + 1) % this.capacity;
        this.keys.add(key);
        return false;
    }

    clear(): void {
        this.keys.clear();
        this.ring.fill(undefined);
        this.next = 0;
    }
}
