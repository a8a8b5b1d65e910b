// Durations in rules files: a number and a unit, such as 500ms, 30s, 5m, 2h or 1d.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const DURATION_PATTERN = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/;

/** Parses a duration such as `30s` into milliseconds; returns undefined for text that is not one. */
export function parseDuration(text: string): number | undefined {
    const match = DURATION_PATTERN.exec(text.trim());
    if (!match) return undefined;
    return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}

/** Formats milliseconds with the largest unit that divides them, for example 300000 as `5m`. */
export function formatDuration(ms: number): string {
    if (ms === 0) return '0s';
    for (const unit of ['d', 'h', 'm', 's']) {
        if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
    }
    return `${ms}ms`;
}
