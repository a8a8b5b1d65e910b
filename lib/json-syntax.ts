// Locates the first syntax error in JSON text (RFC 8259), with line and column, for messages about
// hand-edited files. JSON.parse in Node.js 20 gives an offset for some errors only, and no line.

/** First syntax error in a JSON text. */
export interface JsonSyntaxProblem {
    /** Offset in UTF-16 code units from the start of the text, as in JSON.parse messages. */
    offset: number;
    /** Line number, from 1. A line ends at \n, \r\n or a lone \r. */
    line: number;
    /** Column number in characters (code points), from 1. */
    column: number;
    /** Description of the problem and its usual fix, as a lower-case phrase. */
    reason: string;
}

type Expect = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'after-value' | 'done';

class SyntaxProblem {
    constructor(
        readonly offset: number,
        readonly reason: string,
    ) {}
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const LITERALS = ['true', 'false', 'null'];

function isDigit(char: string | undefined): boolean {
    return char !== undefined && char >= '0' && char <= '9';
}

function isHexDigit(char: string | undefined): boolean {
    return char !== undefined && /^[0-9a-fA-F]$/.test(char);
}

/** Returns the offset after the string that starts with the quote at `start`. */
function scanString(text: string, start: number): number {
    let i = start + 1;
    while (i < text.length) {
        const char = text[i];
        if (char === '"') return i + 1;
        if (char === '\\') {
            const escaped = text[i + 1];
            if (escaped === undefined) break;
            if (escaped === 'u') {
                for (let digit = i + 2; digit < i + 6; digit++) {
                    if (digit >= text.length) throw new SyntaxProblem(text.length, 'unterminated string');
                    if (!isHexDigit(text[digit])) throw new SyntaxProblem(digit, 'invalid \\u escape; write four hex digits, such as \\u00e9');
                }
                i += 6;
                continue;
            }
            if (!SIMPLE_ESCAPES.has(escaped)) throw new SyntaxProblem(i + 1, `invalid escape \\${escaped} in a string; write a backslash as \\\\`);
            i += 2;
            continue;
        }
        if (char.charCodeAt(0) < 0x20) throw new SyntaxProblem(i, 'control character in a string; write a line break as \\n and a tab as \\t');
        i++;
    }
    throw new SyntaxProblem(text.length, 'unterminated string');
}

/** Returns the offset after the number that starts at `start`. */
function scanNumber(text: string, start: number): number {
    let i = start;
    if (text[i] === '-') i++;
    if (text[i] === '0') {
        i++;
    } else if (isDigit(text[i])) {
        while (isDigit(text[i])) i++;
    } else {
        throw new SyntaxProblem(i, 'invalid number; a digit must follow the minus sign');
    }
    if (text[i] === '.') {
        i++;
        if (!isDigit(text[i])) throw new SyntaxProblem(i, 'invalid number; a digit must follow the decimal point');
        while (isDigit(text[i])) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (!isDigit(text[i])) throw new SyntaxProblem(i, 'invalid number; a digit must follow the exponent');
        while (isDigit(text[i])) i++;
    }
    return i;
}

/** Returns the offset after the literal true, false or null that starts at `start`. */
function scanLiteral(text: string, start: number): number | undefined {
    const literal = LITERALS.find((word) => word[0] === text[start]);
    if (literal === undefined) return undefined;
    for (let k = 1; k < literal.length; k++) {
        if (start + k >= text.length) throw new SyntaxProblem(text.length, 'unexpected end of input');
        if (text[start + k] !== literal[k]) throw new SyntaxProblem(start + k, `unexpected character; expected ${literal}`);
    }
    return start + literal.length;
}

/** Describes an unexpected character where a value must start. */
function unexpectedValue(char: string): string {
    if (char === "'") return 'strings must be in double quotes';
    if (char === '/') return 'comments are not allowed in JSON';
    if (char === '\uFEFF') return 'byte order mark; save the file as UTF-8 without BOM';
    return 'expected a value (object, array, string, number, true, false or null)';
}

/** Counts the open containers, such as "2 object(s) and 1 array(s)". */
function describeOpen(open: ('{' | '[')[]): string {
    const objects = open.filter((char) => char === '{').length;
    const arrays = open.length - objects;
    const parts = [objects > 0 ? `${objects} object(s)` : '', arrays > 0 ? `${arrays} array(s)` : ''];
    return parts.filter((part) => part !== '').join(' and ');
}

/** Walks the text with a stack of open containers, and throws a SyntaxProblem at the first error. */
function scan(text: string): void {
    const open: ('{' | '[')[] = [];
    let expect: Expect = 'value';
    let i = 0;
    const afterValue = (): Expect => (open.length === 0 ? 'done' : 'after-value');

    for (;;) {
        const tokenEnd = i;
        while (i < text.length && WHITESPACE.has(text[i])) i++;
        if (i >= text.length) {
            if (expect === 'done') return;
            throw new SyntaxProblem(text.length, open.length > 0 ? `unexpected end of input; ${describeOpen(open)} not closed` : 'unexpected end of input');
        }
        const char = text[i];
        const container = open[open.length - 1];

        switch (expect) {
            case 'done':
                throw new SyntaxProblem(i, 'unexpected text after the end of the JSON value');
            case 'colon':
                if (char !== ':') throw new SyntaxProblem(i, "expected ':' after the property name");
                i++;
                expect = 'value';
                break;
            case 'key':
            case 'key-or-end':
                if (char === '}' && expect === 'key-or-end') {
                    open.pop();
                    i++;
                    expect = afterValue();
                } else if (char === '"') {
                    i = scanString(text, i);
                    expect = 'colon';
                } else if (char === '}') {
                    throw new SyntaxProblem(i, "trailing comma before '}'; remove the comma");
                } else {
                    throw new SyntaxProblem(i, 'expected a property name in double quotes');
                }
                break;
            case 'after-value':
                if (char === ',') {
                    i++;
                    expect = container === '{' ? 'key' : 'value';
                } else if ((char === '}' && container === '{') || (char === ']' && container === '[')) {
                    open.pop();
                    i++;
                    expect = afterValue();
                } else {
                    const closer = container === '{' ? "'}'" : "']'";
                    const expected = `expected ',' or ${closer} after the ${container === '{' ? 'property value' : 'array element'}`;
                    // In a file with one entry per line, the usual cause is a comma missing at the end of the previous entry.
                    const gap = text.slice(tokenEnd, i);
                    const hint = gap.includes('\n') || gap.includes('\r') ? `; a comma may be missing at the end of line ${lineAndColumn(text, tokenEnd).line}` : '';
                    throw new SyntaxProblem(i, expected + hint);
                }
                break;
            case 'value':
            case 'value-or-end': {
                if (char === ']' && expect === 'value-or-end') {
                    open.pop();
                    i++;
                    expect = afterValue();
                    break;
                }
                if (char === ']' && container === '[') throw new SyntaxProblem(i, "trailing comma before ']'; remove the comma");
                if (char === '{' || char === '[') {
                    open.push(char);
                    i++;
                    expect = char === '{' ? 'key-or-end' : 'value-or-end';
                    break;
                }
                if (char === '"') {
                    i = scanString(text, i);
                } else if (char === '-' || isDigit(char)) {
                    i = scanNumber(text, i);
                } else {
                    const end = scanLiteral(text, i);
                    if (end === undefined) throw new SyntaxProblem(i, unexpectedValue(char));
                    i = end;
                }
                expect = afterValue();
                break;
            }
        }
    }
}

/** Returns the line and column (both from 1) of `offset` in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset && i < text.length; i++) {
        const char = text[i];
        if (char === '\n' || (char === '\r' && text[i + 1] !== '\n')) {
            line++;
            lineStart = i + 1;
        }
    }
    // Array.from splits into code points, so a character outside the BMP counts as one column.
    const column = Array.from(text.slice(lineStart, offset)).length + 1;
    return { line, column };
}

/** Returns the first syntax error of `text`, or undefined when the text is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
    try {
        scan(text);
        return undefined;
    } catch (err) {
        if (!(err instanceof SyntaxProblem)) throw err;
        return { offset: err.offset, ...lineAndColumn(text, err.offset), reason: err.reason };
    }
}
