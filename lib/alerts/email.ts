// The alert email: subject, plain-text and HTML bodies, and the outbox file name.
import type { AlertEvent } from '../types';

export interface AlertEmail {
    subject: string;
    text: string;
    html: string;
    /** Name of the .eml file when the email goes to the outbox folder. */
    fileName: string;
    headers: Record<string, string>;
}

const SAFE = /[^A-Za-z0-9._-]+/g;

/**
 * Returns `<opened_at>-<severity>-<rule>-<asset>.eml` (with `-resolved` for resolutions and then
 * any `extra` parts, such as `reminder` and its time) in safe characters.
 */
export function outboxFileName(event: AlertEvent, extra: string[] = []): string {
    const parts = [event.opened_at, event.severity, event.rule_id, event.asset_id];
    if (event.state === 'resolved') parts.push('resolved');
    parts.push(...extra);
    return safeFileName(parts);
}

/** Joins parts into a `.eml` file name of letters, digits, dots, underscores and dashes. */
export function safeFileName(parts: string[]): string {
    const stem = parts
        .map((part) => part.replace(SAFE, '-').replace(/^-+|-+$/g, ''))
        .join('-')
        .slice(0, 200);
    return `${stem}.eml`;
}

export function formatValue(value: unknown): string {
    if (typeof value === 'number') return String(Number(value.toFixed(4)));
    if (typeof value === 'string') return value;
    return JSON.stringify(value);
}

function evidenceLines(evidence: Record<string, unknown>): [string, string][] {
    return Object.entries(evidence).map(([key, value]) => [key, formatValue(value)]);
}

export function escapeHtml(text: string): string {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function isUrl(runbook: string): boolean {
    return /^https?:\/\//.test(runbook);
}

/** Follow-up email of an alert that was announced before: an escalation or a reminder. */
export interface FollowUp {
    kind: 'escalated' | 'reminder';
    /** Severity the alert had in its last notification, for escalations. */
    previousSeverity?: string;
    /** Time of sending (ISO 8601); part of a reminder's file name, so that reminders do not overwrite each other. */
    at: string;
}

/** Returns the subject of an alert's email: `[P1] rule on asset`, with `resolved`, `reminder` or the escalation in the brackets. */
export function alertSubject(event: AlertEvent, followUp?: FollowUp): string {
    let tag: string = event.severity;
    if (event.state === 'resolved') tag += ' resolved';
    else if (followUp?.kind === 'escalated') tag += `, escalated from ${followUp.previousSeverity ?? 'a lower severity'}`;
    else if (followUp?.kind === 'reminder') tag += ' reminder';
    return `[${tag}] ${event.rule_id} on ${event.asset_id}`;
}

/** Returns the first line of a follow-up email, or undefined for a first announcement or a resolution. */
export function followUpLine(event: AlertEvent, followUp?: FollowUp): string | undefined {
    if (!followUp || event.state === 'resolved') return undefined;
    const state = event.state === 'open' ? 'open and unacknowledged' : event.state;
    if (followUp.kind === 'escalated') return `Escalated from ${followUp.previousSeverity ?? 'a lower severity'} to ${event.severity}: the alert is still ${state}.`;
    return `Reminder: the alert is still ${state}.`;
}

/** Returns the API address that acknowledges an alert (POST, with a token of an operator or admin). */
export function acknowledgeUrl(event: AlertEvent, baseUrl: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/v1/alerts/${encodeURIComponent(event.event_id)}/ack`;
}

/**
 * Composes the email for an alert event: its opening or resolution, or with `followUp` an
 * escalation or a reminder of an alert that was announced before. `baseUrl` is the public address
 * of the API; with it, an alert that is not resolved carries its acknowledge link.
 */
export function composeAlertEmail(event: AlertEvent, followUp?: FollowUp, baseUrl?: string): AlertEmail {
    const resolved = event.state === 'resolved';
    const subject = alertSubject(event, followUp);
    const intro = followUpLine(event, followUp);
    const facts: [string, string][] = [
        ['Severity', event.severity],
        ['State', event.state],
        ['Asset', event.asset_id],
        ['Rule', event.rule_id],
        ['Metric', event.metric],
        ['Opened at', event.opened_at],
    ];
    if (resolved) facts.push(['Resolved at', event.resolved_at ?? ''], ['Resolved by', event.resolved_by ?? '']);
    const runbook = event.runbook ?? '';
    const evidence = evidenceLines(event.evidence);
    const width = Math.max(...facts.map(([label]) => label.length)) + 2;
    const ack = baseUrl !== undefined && !resolved ? acknowledgeUrl(event, baseUrl) : '';

    const text = [
        ...(intro ? [intro, ''] : []),
        event.message,
        '',
        ...facts.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
        '',
        'Evidence:',
        ...evidence.map(([key, value]) => `  ${key}: ${value}`),
        '',
        `Runbook: ${runbook || '(none)'}`,
        ...(ack ? [`Acknowledge: POST ${ack} (or from the dashboard's alert feed)`] : []),
        `Event id: ${event.event_id}`,
        '',
    ].join('\n');

    const runbookHtml = !runbook ? '(none)' : isUrl(runbook) ? `<a href="${escapeHtml(runbook)}">${escapeHtml(runbook)}</a>` : `<code>${escapeHtml(runbook)}</code>`;
    const row = (label: string, value: string): string => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`;
    const html = [
        '<!DOCTYPE html>',
        '<html><body>',
        ...(intro ? [`<p><strong>${escapeHtml(intro)}</strong></p>`] : []),
        `<p>${escapeHtml(event.message)}</p>`,
        `<table>${facts.map(([label, value]) => row(label, value)).join('')}</table>`,
        '<h3>Evidence</h3>',
        `<table>${evidence.map(([key, value]) => row(key, value)).join('')}</table>`,
        `<p>Runbook: ${runbookHtml}</p>`,
        ...(ack ? [`<p>Acknowledge: POST <code>${escapeHtml(ack)}</code> (or from the dashboard's alert feed)</p>`] : []),
        `<p>Event id: <code>${escapeHtml(event.event_id)}</code></p>`,
        '</body></html>',
    ].join('\n');

    return {
        subject,
        text,
        html,
        fileName: outboxFileName(event, followUpParts(event, followUp)),
        headers: { 'X-Upstream-Live-Event': event.event_id, 'X-Upstream-Live-Severity': event.severity },
    };
}

function followUpParts(event: AlertEvent, followUp: FollowUp | undefined): string[] {
    if (!followUp || event.state === 'resolved') return [];
    return followUp.kind === 'escalated' ? ['escalated'] : ['reminder', followUp.at];
}
