// Suggestions for misspelt names, such as a metric that is not in the catalogue.

/** Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
        }
        previous = current;
    }
    return previous[b.length];
}

/** Lowercases and drops separators, so that `Oil-Rate` and `oil_rate` compare equal. */
function simplify(name: string): string {
    return name.toLowerCase().replace(/[\s._-]/g, '');
}

/**
 * Returns up to `limit` candidates close to `input`, closest first: those within an edit
 * distance of a quarter of the name's length (at least 2), and those that contain the input or
 * are contained in it, ignoring case and separators.
 */
export function closeMatches(input: string, candidates: Iterable<string>, limit = 3): string[] {
    const target = simplify(input);
    if (!target) return [];
    const scored: { candidate: string; distance: number }[] = [];
    for (const candidate of candidates) {
        const simple = simplify(candidate);
        const distance = editDistance(target, simple);
        const maxDistance = Math.max(2, Math.floor(simple.length / 4));
        const contains = target.length >= 3 && (simple.includes(target) || target.includes(simple));
        if (distance <= maxDistance || contains) scored.push({ candidate, distance });
    }
    scored.sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate));
    return scored.slice(0, limit).map((entry) => entry.candidate);
}
