import { describe, expect, it } from 'vitest';

import { lineEdits, unifiedDiff } from './line-diff';

const CODE = ['const limit = 100;', 'if (msg.payload > limit) {', '    msg.alarm = true;', '}', 'return msg;'].join('\n');

describe('unifiedDiff', () => {
    it('should return nothing for equal texts', () => {
        expect(unifiedDiff(CODE, CODE)).toEqual([]);
    });

    it('should show a changed line with context', () => {
        expect(unifiedDiff(CODE, CODE.replace('100', '120'))).toEqual([
            '@@ -1,4 +1,4 @@',
            '-const limit = 100;',
            '+const limit = 120;',
            ' if (msg.payload > limit) {',
            '     msg.alarm = true;',
            ' }',
        ]);
    });

    it('should show an inserted line', () => {
        const after = CODE.replace('    msg.alarm = true;', '    msg.alarm = true;\n    msg.topic = "alarm";');
        expect(unifiedDiff(CODE, after)).toEqual([
            '@@ -1,5 +1,6 @@',
            ' const limit = 100;',
            ' if (msg.payload > limit) {',
            '     msg.alarm = true;',
            '+    msg.topic = "alarm";',
            ' }',
            ' return msg;',
        ]);
    });

    it('should split distant changes into hunks', () => {
        const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
        const after = [...before];
        after[1] = 'line two';
        after[17] = 'line eighteen';
        const hunks = unifiedDiff(before.join('\n'), after.join('\n')).filter((line) => line.startsWith('@@'));
        expect(hunks).toEqual(['@@ -1,5 +1,5 @@', '@@ -15,6 +15,6 @@']);
    });

    it('should number an added text from line 0', () => {
        expect(unifiedDiff('', 'a\nb')).toEqual(['@@ -0,0 +1,2 @@', '+a', '+b']);
        expect(unifiedDiff('a', '')).toEqual(['@@ -1 +0,0 @@', '-a']);
    });
});

describe('lineEdits', () => {
    it('should keep the longest common subsequence', () => {
        const edits = lineEdits(['a', 'b', 'c', 'd'], ['a', 'c', 'b', 'd']);
        expect(edits.filter((edit) => edit.kind === ' ').map((edit) => edit.line)).toHaveLength(3);
    });

    it('should put removals before additions', () => {
        expect(lineEdits(['x'], ['y']).map((edit) => edit.kind + edit.line)).toEqual(['-x', '+y']);
    });
});
