// A double-ended queue of numbers in a ring over a Float64Array. Sliding windows of readings keep
// millions of numbers in a busy runtime. In a typed array they cost the garbage collector nothing
// per number, where one small object per reading makes every collection walk them all.

const MIN_CAPACITY = 8;

/**
 * Number of different starting capacities, from the requested one up to almost twice it. Deques
 * made together and fed at the same rate, such as the windows of 40,000 series at 1 Hz, would
 * all double in the same second. 80,000 windows growing from 512 to 1,024 numbers allocate about
 * 650 MB at once and copy half of it. With staggered capacities, each doubling is spread over a
 * time as long as the step itself.
 */
const CAPACITY_STEPS = 8;
let created = 0;

export class NumberDeque {
    private items: Float64Array;
    /** Position of the front item in `items`. */
    private head = 0;
    private count = 0;

    constructor(initialCapacity = MIN_CAPACITY) {
        const requested = Math.max(MIN_CAPACITY, initialCapacity);
        const step = created % CAPACITY_STEPS;
        created += 1;
        this.items = new Float64Array(requested + Math.floor((requested * step) / CAPACITY_STEPS));
    }

    get length(): number {
        return this.count;
    }

    /** Number of items the deque can contain before it grows. */
    get capacity(): number {
        return this.items.length;
    }

    /** Item at `index` counted from the front; NaN outside 0 ≤ index < length. */
    at(index: number): number {
        if (index < 0 || index >= this.count) return Number.NaN;
        return this.items[this.slot(index)];
    }

    /** Replaces the item at `index` counted from the front. */
    set(index: number, value: number): void {
        if (index < 0 || index >= this.count) throw new RangeError(`Index ${index} is outside the deque of ${this.count} items.`);
        this.items[this.slot(index)] = value;
    }

    front(): number {
        return this.at(0);
    }

    back(): number {
        return this.at(this.count - 1);
    }

    push(value: number): void {
        if (this.count === this.items.length) this.grow();
        this.items[this.slot(this.count)] = value;
        this.count++;
    }

    /** Removes and returns the front item; NaN when empty. */
    popFront(): number {
        if (this.count === 0) return Number.NaN;
        const value = this.items[this.head];
        this.head = this.head + 1 === this.items.length ? 0 : this.head + 1;
        this.count--;
        return value;
    }

    /** Removes and returns the back item; NaN when empty. */
    popBack(): number {
        if (this.count === 0) return Number.NaN;
        this.count--;
        return this.items[this.slot(this.count)];
    }

    /** Inserts `value` before the item at `index`, moving the items after it back by one. */
    insert(index: number, value: number): void {
        if (index < 0 || index > this.count) throw new RangeError(`Index ${index} is outside 0 to ${this.count}.`);
        this.push(value);
        for (let position = this.count - 1; position > index; position--) {
            this.items[this.slot(position)] = this.items[this.slot(position - 1)];
        }
        this.items[this.slot(index)] = value;
    }

    /** Removes everything. The capacity stays, for a window that fills again. */
    clear(): void {
        this.head = 0;
        this.count = 0;
    }

    private slot(index: number): number {
        const position = this.head + index;
        return position < this.items.length ? position : position - this.items.length;
    }

    private grow(): void {
        const larger = new Float64Array(this.items.length * 2);
        const tail = Math.min(this.count, this.items.length - this.head);
        larger.set(this.items.subarray(this.head, this.head + tail), 0);
        larger.set(this.items.subarray(0, this.count - tail), tail);
        this.items = larger;
        this.head = 0;
    }
}
