// Production-day dates: reading them from CSV text or XLSX cells, and the one day a year that
// has 25 hours in Norway.

const ISO_DAY = /^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?Z?)?$/;

/** Milliseconds between the Excel 1900 date system's day 0 (1899-12-30) and 1970-01-01. */
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);
const DAY_MS = 86_400_000;

/** Formats the UTC calendar day of a date as YYYY-MM-DD. */
export function formatIsoDay(date: Date): string {
    return date.toISOString().slice(0, 10);
}

/**
 * Converts a date cell into `YYYY-MM-DD`. Text is accepted as `YYYY-MM-DD`, optionally followed by
 * a midnight time. A date or serial with a time of day is returned as a full timestamp, so the
 * schema rejects it as not being a day. Anything else is returned unchanged for the schema to reject.
 */
export function toIsoDay(cell: unknown): unknown {
    if (cell instanceof Date) {
        if (Number.isNaN(cell.getTime())) return String(cell);
        return cell.getTime() % DAY_MS === 0 ? formatIsoDay(cell) : cell.toISOString();
    }
    if (typeof cell === 'number') return excelSerialToIsoDay(cell);
    if (typeof cell === 'string') {
        const text = cell.trim();
        const match = ISO_DAY.exec(text);
        return match ? match[1] : text;
    }
    return cell;
}

/**
 * Converts an Excel serial day number (1900 date system) to `YYYY-MM-DD`, or to a full timestamp
 * when the serial carries a time of day.
 * NOTE: a plain number in a date column is taken as a 1900-system serial. Date cells of a workbook
 * in the 1904 date system arrive as Date objects, because the reader applies the workbook setting.
 * Serials before 61 (1 March 1900) come out one day early, because Excel counts a 29 February 1900.
 */
export function excelSerialToIsoDay(serial: number): unknown {
    if (!Number.isFinite(serial) || serial < 1) return serial;
    const date = new Date(EXCEL_EPOCH_MS + Math.round(serial * DAY_MS));
    return Number.isInteger(serial) ? formatIsoDay(date) : date.toISOString();
}

/**
 * Returns true when the day (YYYY-MM-DD) is the last Sunday of October. Norway leaves summer time
 * (CEST to CET) on that day, as the EU does, so the production day has 25 hours.
 * NOTE: the rule is right from 1996 on. Earlier change days are not modelled.
 */
export function isSummerTimeEndDay(isoDay: string): boolean {
    const [year, month, day] = isoDay.split('-').map(Number);
    if (month !== 10) return false;
    const weekday = new Date(Date.UTC(year, 9, day)).getUTCDay();
    return weekday === 0 && day + 7 > 31;
}
