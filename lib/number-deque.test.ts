import { describe, expect, it } from 'vitest';

import { NumberDeque } from './number-deque';

function contents(deque: NumberDeque): number[] {
    return Array.from({ length: deque.length }, (_, index) => deque.at(index));
}

describe('NumberDeque', () => {
    it('should keep order across growth while the ring has wrapped', () => {
        const deque = new NumberDeque(8);
        for (let value = 0; value < 6; value++) deque.push(value);
        for (let count = 0; count < 5; count++) deque.popFront();
        // The front is now at slot 5; these pushes wrap past the end and then force a growth.
        for (let value = 6; value < 20; value++) deque.push(value);
        expect(contents(deque)).toEqual(Array.from({ length: 15 }, (_, index) => index + 5));
        expect(deque.front()).toBe(5);
        expect(deque.back()).toBe(19);
    });

    it('should pop from both ends and return NaN when empty', () => {
        const deque = new NumberDeque();
        deque.push(1.5);
        deque.push(2.5);
        deque.push(3.5);
        expect(deque.popBack()).toBe(3.5);
        expect(deque.popFront()).toBe(1.5);
        expect(deque.popFront()).toBe(2.5);
        expect(deque.length).toBe(0);
        expect(deque.popFront()).toBeNaN();
        expect(deque.popBack()).toBeNaN();
        expect(deque.front()).toBeNaN();
        expect(deque.back()).toBeNaN();
    });

    it('should insert in the middle of a wrapped ring', () => {
        const deque = new NumberDeque(8);
        for (let value = 0; value < 8; value++) deque.push(value * 10);
        deque.popFront();
        deque.popFront();
        deque.push(80);
        deque.insert(3, 45);
        expect(contents(deque)).toEqual([20, 30, 40, 45, 50, 60, 70, 80]);
        deque.insert(0, 15);
        deque.insert(deque.length, 90);
        expect(contents(deque)).toEqual([15, 20, 30, 40, 45, 50, 60, 70, 80, 90]);
    });

    it('should replace an item and refuse positions outside the deque', () => {
        const deque = new NumberDeque();
        deque.push(1);
        deque.push(2);
        deque.set(1, Number.NaN);
        expect(deque.at(1)).toBeNaN();
        expect(deque.at(2)).toBeNaN();
        expect(deque.at(-1)).toBeNaN();
        expect(() => deque.set(2, 5)).toThrow('Index 2 is outside the deque of 2 items.');
        expect(() => deque.insert(3, 5)).toThrow('Index 3 is outside 0 to 2.');
    });

    it('should match an array used as a queue under a long mixed sequence', () => {
        const deque = new NumberDeque(8);
        const model: number[] = [];
        let seed = 7;
        const next = () => {
            seed = (seed * 1103515245 + 12345) % 2147483648;
            return seed / 2147483648;
        };
        for (let step = 0; step < 20_000; step++) {
            const choice = next();
            if (choice < 0.45) {
                deque.push(step);
                model.push(step);
            } else if (choice < 0.7) {
                expect(deque.popFront()).toBe(model.length > 0 ? model.shift() : Number.NaN);
            } else if (choice < 0.85) {
                expect(deque.popBack()).toBe(model.length > 0 ? model.pop() : Number.NaN);
            } else {
                const index = Math.floor(next() * (model.length + 1));
                deque.insert(index, -step);
                model.splice(index, 0, -step);
            }
            expect(deque.length).toBe(model.length);
        }
        expect(contents(deque)).toEqual(model);
    });

    it('should stagger the growth of deques made together', () => {
        const deques = Array.from({ length: 64 }, () => new NumberDeque());
        const grownAt = new Set<number>();
        for (const deque of deques) {
            while (deque.capacity < 512) deque.push(deque.length);
            grownAt.add(deque.length);
        }

        expect(grownAt.size).toBe(8);
        expect(Math.min(...grownAt)).toBeGreaterThan(256);
        expect(Math.max(...grownAt)).toBeLessThan(512);
    });

    it('should start with at least the requested capacity', () => {
        for (let index = 0; index < 16; index++) {
            const capacity = new NumberDeque(100).capacity;

            expect(capacity).toBeGreaterThanOrEqual(100);
            expect(capacity).toBeLessThan(200);
        }
    });

    it('should start empty again after clear', () => {
        const deque = new NumberDeque();
        for (let value = 0; value < 100; value++) deque.push(value);
        deque.clear();
        expect(deque.length).toBe(0);
        deque.push(7);
        expect(contents(deque)).toEqual([7]);
    });
});
