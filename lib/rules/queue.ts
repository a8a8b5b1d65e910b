// A double-ended queue on an array with a moving head, for sliding windows of readings.
// Removing from the front is O(1); the array is compacted once the removed part dominates.

export class SlidingQueue<T> {
    private items: T[] = [];
    private head = 0;

    get length(): number {
        return this.items.length - this.head;
    }

    /** Item at position `index` counted from the front. */
    at(index: number): T | undefined {
        return this.items[this.head + index];
    }

    front(): T | undefined {
        return this.items[this.head];
    }

    back(): T | undefined {
        return this.length > 0 ? this.items[this.items.length - 1] : undefined;
    }

    push(item: T): void {
        this.items.push(item);
    }

    popFront(): T | undefined {
        if (this.length === 0) return undefined;
        const item = this.items[this.head];
        this.head++;
        if (this.head >= 1024 && this.head * 2 >= this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
        }
        return item;
    }

    popBack(): T | undefined {
        if (this.length === 0) return undefined;
        return this.items.pop();
    }
}
