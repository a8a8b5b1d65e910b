// Alert message templates: text with placeholders in braces, filled when an alert opens.

/** Placeholders a message template may use. */
export const MESSAGE_PLACEHOLDERS = [
    'asset_id',
    'metric',
    'value',
    'unit',
    'threshold',
    'change',
    'reference',
    'window',
    'hold',
    'tolerance',
    'direction',
    'since',
    'rule_id',
    'severity',
] as const;

export type MessageValues = Partial<Record<(typeof MESSAGE_PLACEHOLDERS)[number], string | number | null | undefined>>;

const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** Returns the placeholders of a template that are not in MESSAGE_PLACEHOLDERS. */
export function unknownPlaceholders(template: string): string[] {
    const known = new Set<string>(MESSAGE_PLACEHOLDERS);
    return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]).filter((name) => !known.has(name));
}

/** Formats a number for people: at most two decimals, no trailing zeros. */
export function formatNumber(value: number): string {
    return String(Number(value.toFixed(2)));
}

/** Fills a template; placeholders without a value become an empty string. */
export function renderMessage(template: string, values: MessageValues): string {
    return template.replace(PLACEHOLDER, (whole, name: string) => {
        if (!(name in values)) return (MESSAGE_PLACEHOLDERS as readonly string[]).includes(name) ? '' : whole;
        const value = values[name as keyof MessageValues];
        if (value === null || value === undefined) return '';
        return typeof value === 'number' ? formatNumber(value) : value;
    });
}
