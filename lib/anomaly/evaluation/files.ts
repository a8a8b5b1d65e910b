// Lists the CSV files of a data folder and selects them by glob patterns.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Converts a glob into a regular expression over paths with forward slashes. `**` matches any
 * number of folders, `*` any text within one name and `?` one character. Other characters match
 * themselves.
 */
export function globToRegExp(pattern: string): RegExp {
    let source = '';
    for (let i = 0; i < pattern.length; i++) {
        const char = pattern[i];
        if (char === '*' && pattern[i + 1] === '*') {
            const slash = pattern[i + 2] === '/';
            source += slash ? '(?:.*/)?' : '.*';
            i += slash ? 2 : 1;
        } else if (char === '*') {
            source += '[^/]*';
        } else if (char === '?') {
            source += '[^/]';
        } else {
            source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        }
    }
    return new RegExp(`^${source}$`);
}

/** Returns the paths of the CSV files under `folder`, relative to it with forward slashes, sorted. */
export function listCsvFiles(folder: string, prefix = ''): string[] {
    const found: string[] = [];
    for (const entry of readdirSync(join(folder, prefix), { withFileTypes: true })) {
        const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) found.push(...listCsvFiles(folder, relative));
        else if (entry.isFile() && entry.name.toLowerCase().endsWith('.csv')) found.push(relative);
    }
    return found.sort();
}

/** Splits a comma-separated list of patterns. */
export function splitPatterns(text: string): string[] {
    return text
        .split(',')
        .map((pattern) => pattern.trim())
        .filter((pattern) => pattern !== '');
}

/** Returns the names that match at least one pattern. */
export function selectFiles(names: readonly string[], patterns: readonly string[]): string[] {
    const expressions = patterns.map(globToRegExp);
    return names.filter((name) => expressions.some((expression) => expression.test(name)));
}
