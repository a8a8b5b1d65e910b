import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { DEFAULT_SEQUENCE_BLOCK, SequenceCounter, SequenceState } from './sequence';

const folder = mkdtempSync(join(tmpdir(), 'ul-sequence-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('SequenceState', () => {
    it('should accept each number once within the window', () => {
        const state = new SequenceState(10);

        expect(state.isFresh('a', 1)).toBe(true);
        state.accept('a', 5);
        expect(state.isFresh('a', 5)).toBe(false);
        expect(state.isFresh('a', 4)).toBe(true);
        expect(state.isFresh('a', 6)).toBe(true);
        expect(state.isFresh('b', 5)).toBe(true);
        state.accept('a', 3);
        expect(state.isFresh('a', 3)).toBe(false);
        expect(state.lastAccepted('a')).toBe(5);
    });

    it('should reject numbers older than the window', () => {
        const state = new SequenceState(10);
        state.accept('a', 100);

        expect(state.isFresh('a', 91)).toBe(true);
        expect(state.isFresh('a', 90)).toBe(false);
        expect(state.isStale('a', 90)).toBe(true);
        expect(state.isStale('a', 91)).toBe(false);
    });

    it('should forget numbers that left the window', () => {
        const state = new SequenceState(10);
        for (let seq = 1; seq <= 1000; seq++) state.accept('a', seq);

        expect(state.isFresh('a', 995)).toBe(false);
        expect(state.isFresh('a', 1001)).toBe(true);
        expect((state as unknown as { devices: Map<string, { seen: Set<number> }> }).devices.get('a')!.seen.size).toBeLessThanOrEqual(21);
    });
});

describe('SequenceCounter', () => {
    it('should count from 1 and reserve a block in the file', () => {
        const path = join(folder, 'fresh.seq');
        const counter = new SequenceCounter(path);

        expect([counter.next(), counter.next(), counter.next()]).toEqual([1, 2, 3]);
        expect(readFileSync(path, 'utf8')).toBe(`${DEFAULT_SEQUENCE_BLOCK}\n`);
    });

    it('should continue above the mark after a restart', () => {
        const path = join(folder, 'restart.seq');
        const first = new SequenceCounter(path, 10);
        first.next();
        const second = new SequenceCounter(path, 10);

        expect(second.next()).toBe(11);
        expect(readFileSync(path, 'utf8')).toBe('20\n');
    });

    it('should write a new mark when a block is used up', () => {
        const path = join(folder, 'blocks.seq');
        const counter = new SequenceCounter(path, 3);
        const numbers = Array.from({ length: 7 }, () => counter.next());

        expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(readFileSync(path, 'utf8')).toBe('9\n');
    });

    it('should reject a file without a number', () => {
        const path = join(folder, 'bad.seq');
        writeFileSync(path, 'seven');

        expect(() => new SequenceCounter(path)).toThrow(/contains "seven", not a sequence number/);
    });

    it('should report a folder that cannot be written', () => {
        expect(() => new SequenceCounter(join(folder, 'absent-folder', 'x.seq'))).toThrow(/could not be written \(ENOENT\)/);
    });
});
