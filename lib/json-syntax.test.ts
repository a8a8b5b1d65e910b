import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { findJsonSyntaxError, lineAndColumn } from './json-syntax';
import { DATA_DIR } from './paths';

/** Returns the offset JSON.parse names in its message, or undefined when the message has none. */
function parserOffset(text: string): number | undefined {
    try {
        JSON.parse(text);
    } catch (err) {
        const match = / at position (\d+)/.exec((err as Error).message);
        return match ? Number(match[1]) : undefined;
    }
    throw new Error(`test setup: ${JSON.stringify(text)} is valid JSON`);
}

const INVALID: { text: string; offset: number; reason: string }[] = [
    { text: '{ assets: ', offset: 2, reason: 'expected a property name in double quotes' },
    { text: '{"a":1', offset: 6, reason: 'unexpected end of input; 1 object(s) not closed' },
    { text: '{"a" 1}', offset: 5, reason: "expected ':' after the property name" },
    { text: '{"a":1}}', offset: 7, reason: 'unexpected text after the end of the JSON value' },
    { text: '{"a":1 "b":2}', offset: 7, reason: "expected ',' or '}' after the property value" },
    { text: '[1 2]', offset: 3, reason: "expected ',' or ']' after the array element" },
    { text: '[1,]', offset: 3, reason: "trailing comma before ']'; remove the comma" },
    { text: '{"a":1,}', offset: 7, reason: "trailing comma before '}'; remove the comma" },
    { text: '{"a": tru}', offset: 9, reason: 'unexpected character; expected true' },
    { text: '{"a": nul', offset: 9, reason: 'unexpected end of input' },
    { text: '{"a":"\\x01"}', offset: 7, reason: 'invalid escape \\x in a string; write a backslash as \\\\' },
    { text: '["\\u12g4"]', offset: 6, reason: 'invalid \\u escape; write four hex digits, such as \\u00e9' },
    { text: '["a\tb"]', offset: 3, reason: 'control character in a string; write a line break as \\n and a tab as \\t' },
    { text: '["open', offset: 6, reason: 'unterminated string' },
    { text: '[-]', offset: 2, reason: 'invalid number; a digit must follow the minus sign' },
    { text: '[1.]', offset: 3, reason: 'invalid number; a digit must follow the decimal point' },
    { text: '[1e+]', offset: 4, reason: 'invalid number; a digit must follow the exponent' },
    { text: '[01]', offset: 2, reason: "expected ',' or ']' after the array element" },
    { text: "{'a': 1}", offset: 1, reason: 'expected a property name in double quotes' },
    { text: "['a']", offset: 1, reason: 'strings must be in double quotes' },
    { text: '// registry\n{}', offset: 0, reason: 'comments are not allowed in JSON' },
    { text: '\uFEFF{}', offset: 0, reason: 'byte order mark; save the file as UTF-8 without BOM' },
    { text: '[NaN]', offset: 1, reason: 'expected a value (object, array, string, number, true, false or null)' },
    { text: '  ', offset: 2, reason: 'unexpected end of input' },
];

describe('findJsonSyntaxError', () => {
    it('should accept valid JSON', () => {
        const valid = ['{}', '[]', ' 0 ', '-0.5e+10', '"\\u00e9\\n"', '{"a":[true,false,null,{"b":"c"}]}', '\r\n[1,\r\n2]\n'];

        for (const text of valid) expect(findJsonSyntaxError(text), text).toBeUndefined();
        expect(findJsonSyntaxError(readFileSync(join(DATA_DIR, 'assets.json'), 'utf8'))).toBeUndefined();
    });

    for (const { text, offset, reason } of INVALID) {
        it(`should locate the error in ${JSON.stringify(text)}`, () => {
            const problem = findJsonSyntaxError(text);

            expect(problem?.offset).toBe(offset);
            expect(problem?.reason).toBe(reason);
        });
    }

    it('should agree with the offsets of JSON.parse', () => {
        for (const { text } of INVALID) {
            const expected = parserOffset(text);
            if (expected !== undefined) expect(findJsonSyntaxError(text)?.offset, text).toBe(expected);
        }
    });

    it('should match JSON.parse on edited registry text', () => {
        const registry = readFileSync(join(DATA_DIR, 'assets.json'), 'utf8');
        const step = Math.ceil(registry.length / 300);
        let compared = 0;
        for (let at = 0; at < registry.length; at += step) {
            for (const edited of [registry.slice(0, at) + registry.slice(at + 1), registry.slice(0, at) + ',' + registry.slice(at)]) {
                let parses = true;
                try {
                    JSON.parse(edited);
                } catch {
                    parses = false;
                }
                const problem = findJsonSyntaxError(edited);
                expect(problem === undefined, `edit at ${at}`).toBe(parses);
                const expected = parses ? undefined : parserOffset(edited);
                if (expected !== undefined) {
                    expect(problem?.offset, `edit at ${at}`).toBe(expected);
                    compared++;
                }
            }
        }
        expect(compared).toBeGreaterThan(100);
    });

    it('should count lines and columns from 1', () => {
        const text = '{\n    "assets": [\n        {"asset_id": "a",}\n    ]\n}\n';

        expect(findJsonSyntaxError(text)).toEqual({
            offset: text.indexOf('}'),
            line: 3,
            column: 26,
            reason: "trailing comma before '}'; remove the comma",
        });
    });

    it('should suggest a missing comma at a line end', () => {
        const text = '{\n    "a": 1\n    "b": 2\n}';

        expect(findJsonSyntaxError(text)).toEqual({
            offset: text.indexOf('"b"'),
            line: 3,
            column: 5,
            reason: "expected ',' or '}' after the property value; a comma may be missing at the end of line 2",
        });
        expect(findJsonSyntaxError('[1 2]')?.reason).toBe("expected ',' or ']' after the array element");
    });
});

describe('lineAndColumn', () => {
    it('should treat CRLF and a lone CR as one line end', () => {
        expect(lineAndColumn('a\r\nb', 3)).toEqual({ line: 2, column: 1 });
        expect(lineAndColumn('a\rb\nc', 4)).toEqual({ line: 3, column: 1 });
        expect(lineAndColumn('ab', 1)).toEqual({ line: 1, column: 2 });
    });

    it('should count a character outside the BMP as one column', () => {
        const text = '["\u{1F6E2}", x]';

        expect(lineAndColumn(text, text.indexOf('x'))).toEqual({ line: 1, column: 7 });
    });
});
