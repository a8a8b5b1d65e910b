// Repeat reminders: an open, unacknowledged alert is notified again each time the reminder
// interval of its severity has passed since its last notification.
import { ConfigError } from '../errors';
import { parseDuration } from '../rules/duration';
import type { Severity } from '../types';

/** Reminder interval per severity, in milliseconds; a severity without one gets no reminders. */
export type ReminderIntervals = Partial<Record<Severity, number>>;

/** P1 every 30 minutes and P2 every 2 hours; P3 alerts get no reminders. */
export const DEFAULT_REMINDERS: ReminderIntervals = { P1: 30 * 60_000, P2: 2 * 3_600_000 };

/** Shortest reminder interval; shorter ones would flood the recipients. */
export const MIN_REMINDER_MS = 60_000;

/**
 * Parses the reminder interval setting of one severity: a duration such as 30m, or empty text
 * for no reminders. An absent setting gives `fallback`.
 */
export function parseReminderInterval(value: unknown, severity: Severity, fallback: number | undefined): number | undefined {
    if (value === undefined || value === null) return fallback;
    const text = String(value).trim();
    if (text === '') return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) {
        throw new ConfigError(`Reminder interval for ${severity} '${text}' is not a duration; enter one such as 30m or 2h, or leave it empty for no reminders.`);
    }
    if (ms < MIN_REMINDER_MS) {
        throw new ConfigError(`Reminder interval for ${severity} '${text}' is shorter than 1m; enter 1m or more, or leave it empty for no reminders.`);
    }
    return ms;
}

/** Returns when the next reminder of an alert of `severity` last notified at `lastNotifiedMs` is due, or undefined for none. */
export function reminderDueAt(lastNotifiedMs: number, severity: Severity, intervals: ReminderIntervals): number | undefined {
    const interval = intervals[severity];
    return interval === undefined ? undefined : lastNotifiedMs + interval;
}
