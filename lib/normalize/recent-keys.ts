// A bounded set of recently seen keys with least-recently-used eviction, for duplicate suppression.
import { ConfigError } from '../errors';

export class RecentKeys {
    // A Map iterates in insertion order, so its first key is always the least recently used one.
    private readonly keys = new Map<string, true>();

    /** @param capacity Maximum number of keys kept. 0 disables duplicate suppression. */
    constructor(readonly capacity: number) {
        if (!Number.isInteger(capacity) || capacity < 0) {
            throw new ConfigError(`Duplicate cache size ${String(capacity)} is invalid; use a whole number of 0 or more.`);
        }
    }

    get size(): number {
        return this.keys.size;
    }

    /**
     * Records `key` as the most recently used one and returns whether it was already present.
     * When the set is full, the least recently used key is evicted.
     */
    checkAndAdd(key: string): boolean {
        if (this.capacity === 0) return false;
        if (this.keys.has(key)) {
            this.keys.delete(key);
            this.keys.set(key, true);
            return true;
        }
        this.keys.set(key, true);
        if (this.keys.size > this.capacity) {
            const oldest = this.keys.keys().next().value as string;
            this.keys.delete(oldest);
        }
        return false;
    }

    clear(): void {
        this.keys.clear();
    }
}
