import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { DEFAULT_SEQUENCE_BLOCK, SequenceCounter, SequenceState } from './sequence';

const folder = mkdtempSync(join(tmpdir(), 'ul-sequence-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('SequenceState', () => {
    it('should accept only increasing numbers per device', () => {
        const state = new SequenceState();

        expect(state.isFresh('a', 1)).toBe(true);
        state.accept('a', 5);
        expect(state.isFresh('a', 5)).toBe(false);
        expect(state.isFresh('a', 4)).toBe(false);
        expect(state.isFresh('a', 6)).toBe(true);
        expect(state.isFresh('b', 1)).toBe(true);
        state.accept('a', 3);
        expect(state.lastAccepted('a')).toBe(5);
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
