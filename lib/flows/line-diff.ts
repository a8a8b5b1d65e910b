// Unified line diff of two texts, for multi-line node properties such as function code.

export interface LineEdit {
    kind: ' ' | '-' | '+';
    line: string;
}

// Above this many cells (changed old lines times changed new lines) the longest common
// subsequence table is not built and the changed middle is shown as removed, then added.
const MAX_TABLE_CELLS = 4_000_000;

/** Computes a shortest line edit script from `before` to `after`, keeping common lines as context. */
export function lineEdits(before: string[], after: string[]): LineEdit[] {
    let prefix = 0;
    while (prefix < before.length && prefix < after.length && before[prefix] === after[prefix]) prefix++;
    let suffix = 0;
    while (suffix < before.length - prefix && suffix < after.length - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;

    const oldMiddle = before.slice(prefix, before.length - suffix);
    const newMiddle = after.slice(prefix, after.length - suffix);
    const edits: LineEdit[] = before.slice(0, prefix).map((line) => ({ kind: ' ', line }));
    edits.push(...middleEdits(oldMiddle, newMiddle));
    edits.push(...before.slice(before.length - suffix).map((line): LineEdit => ({ kind: ' ', line })));
    return edits;
}

function middleEdits(before: string[], after: string[]): LineEdit[] {
    const rows = before.length;
    const columns = after.length;
    if (rows * columns > MAX_TABLE_CELLS) {
        return [...before.map((line): LineEdit => ({ kind: '-', line })), ...after.map((line): LineEdit => ({ kind: '+', line }))];
    }
    // lengths[i * (columns + 1) + j] is the length of the longest common subsequence of
    // before[i..] and after[j..].
    const width = columns + 1;
    const lengths = new Uint32Array((rows + 1) * width);
    for (let i = rows - 1; i >= 0; i--) {
        for (let j = columns - 1; j >= 0; j--) {
            lengths[i * width + j] = before[i] === after[j] ? lengths[(i + 1) * width + j + 1] + 1 : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
        }
    }
    const edits: LineEdit[] = [];
    let i = 0;
    let j = 0;
    while (i < rows || j < columns) {
        if (i < rows && j < columns && before[i] === after[j]) {
            edits.push({ kind: ' ', line: before[i++] });
            j++;
        } else if (j < columns && (i === rows || lengths[i * width + j + 1] >= lengths[(i + 1) * width + j])) {
            edits.push({ kind: '+', line: after[j++] });
        } else {
            edits.push({ kind: '-', line: before[i++] });
        }
    }
    // Show removals before additions inside each run of changes, as `diff -u` does.
    return groupChanges(edits);
}

function groupChanges(edits: LineEdit[]): LineEdit[] {
    const result: LineEdit[] = [];
    let removed: LineEdit[] = [];
    let added: LineEdit[] = [];
    const flush = () => {
        result.push(...removed, ...added);
        removed = [];
        added = [];
    };
    for (const edit of edits) {
        if (edit.kind === '-') removed.push(edit);
        else if (edit.kind === '+') added.push(edit);
        else {
            flush();
            result.push(edit);
        }
    }
    flush();
    return result;
}

/**
 * Returns the hunks of a unified diff (`@@ -start,count +start,count @@` headers, then lines
 * prefixed with space, `-` or `+`) with `context` unchanged lines around each change. Returns no
 * lines when the texts are equal. Lines are split on "\n", and a trailing newline is not marked.
 */
export function unifiedDiff(before: string, after: string, context = 3): string[] {
    // Empty text has no lines, so an added property shows as `@@ -0,0 +1,n @@`.
    const lines = (text: string) => (text === '' ? [] : text.split('\n'));
    const edits = lineEdits(lines(before), lines(after));
    const changed = edits.map((edit, index) => (edit.kind === ' ' ? -1 : index)).filter((index) => index >= 0);
    if (changed.length === 0) return [];

    // Group changes whose context windows touch into one hunk.
    const ranges: [number, number][] = [];
    for (const index of changed) {
        const start = Math.max(0, index - context);
        const end = Math.min(edits.length, index + context + 1);
        const last = ranges[ranges.length - 1];
        if (last && start <= last[1]) last[1] = Math.max(last[1], end);
        else ranges.push([start, end]);
    }

    // Line numbers (1-based) of the next old and new line before each edit.
    const oldLine: number[] = [];
    const newLine: number[] = [];
    let nextOld = 1;
    let nextNew = 1;
    for (const edit of edits) {
        oldLine.push(nextOld);
        newLine.push(nextNew);
        if (edit.kind !== '+') nextOld++;
        if (edit.kind !== '-') nextNew++;
    }

    const output: string[] = [];
    for (const [start, end] of ranges) {
        const hunk = edits.slice(start, end);
        const oldCount = hunk.filter((edit) => edit.kind !== '+').length;
        const newCount = hunk.filter((edit) => edit.kind !== '-').length;
        // As in `diff -u`, an empty side names the line before the hunk and a count of 1 is left out.
        const oldStart = oldCount === 0 ? oldLine[start] - 1 : oldLine[start];
        const newStart = newCount === 0 ? newLine[start] - 1 : newLine[start];
        output.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`);
        for (const edit of hunk) output.push(`${edit.kind}${edit.line}`);
    }
    return output;
}

function range(start: number, count: number): string {
    return count === 1 ? String(start) : `${start},${count}`;
}
