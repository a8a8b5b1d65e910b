// The "active" setting of a bus-in node: a flow can switch a subscription off per runtime through
// an environment variable, for example `${UL_DASHBOARD_FEED}`, without a second flow file.

const ON = new Set(['', 'true', 'yes', 'on', '1']);
const OFF = new Set(['false', 'no', 'off', '0']);

/**
 * Parses the setting: empty (an unset variable) and true, yes, on, 1 mean active; false, no, off,
 * 0 mean inactive. Returns undefined for any other text, which the node reports.
 */
export function parseActive(value: unknown): boolean | undefined {
    if (value === undefined || value === null || value === true) return true;
    if (value === false) return false;
    if (typeof value !== 'string') return undefined;
    const text = value.trim().toLowerCase();
    if (ON.has(text)) return true;
    if (OFF.has(text)) return false;
    return undefined;
}
