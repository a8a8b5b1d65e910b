// Small DOM and formatting helpers for the dashboard client.

type Child = Node | string | number | null | undefined | false;

/** Creates an element with attributes and children; `class` sets the class name. */
export function h<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    attributes: Record<string, string | boolean | undefined> | null = null,
    ...children: Child[]
): HTMLElementTagNameMap[K] {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes ?? {})) {
        if (value === undefined || value === false) continue;
        if (name === 'class') element.className = String(value);
        else element.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children) {
        if (child === null || child === undefined || child === false) continue;
        element.append(child instanceof Node ? child : String(child));
    }
    return element;
}

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimalFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const valueFormat = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 6 });

export function formatInteger(value: number): string {
    return integerFormat.format(value);
}

export function formatDecimal(value: number): string {
    return decimalFormat.format(value);
}

export function formatValue(value: number | null): string {
    return value === null ? '–' : valueFormat.format(value);
}

/** Formats an ISO 8601 time as `YYYY-MM-DD HH:MM:SS UTC`; readings carry UTC times. */
export function formatUtc(iso: string | null | undefined): string {
    if (!iso) return '–';
    const time = Date.parse(iso);
    if (Number.isNaN(time)) return iso;
    return new Date(time).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

/** Formats an ISO 8601 time as the browser's local clock time, for wall-clock arrival times. */
export function formatLocalTime(iso: string | null | undefined): string {
    if (!iso) return '–';
    const time = Date.parse(iso);
    return Number.isNaN(time) ? iso : new Date(time).toLocaleTimeString('en-GB');
}
