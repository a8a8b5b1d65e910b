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

/** Returns `<opened_at>-<severity>-<rule>-<asset>.eml` (with `-resolved` for resolutions) in safe characters. */
export function outboxFileName(event: AlertEvent): string {
    const parts = [event.opened_at, event.severity, event.rule_id, event.asset_id];
    if (event.state === 'resolved') parts.push('resolved');
    const stem = parts
        .map((part) => part.replace(SAFE, '-').replace(/^-+|-+$/g, ''))
        .join('-')
        .slice(0, 200);
    return `${stem}.eml`;
}

function formatValue(value: unknown): string {
    if (typeof value === 'number') return String(Number(value.toFixed(4)));
    if (typeof value === 'string') return value;
    return JSON.stringify(value);
}

function evidenceLines(evidence: Record<string, unknown>): [string, string][] {
    return Object.entries(evidence).map(([key, value]) => [key, formatValue(value)]);
}

function escapeHtml(text: string): string {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function isUrl(runbook: string): boolean {
    return /^https?:\/\//.test(runbook);
}

/** Composes the email for an open or resolved alert event. */
export function composeAlertEmail(event: AlertEvent): AlertEmail {
    const resolved = event.state === 'resolved';
    const subject = `[${event.severity}${resolved ? ' resolved' : ''}] ${event.rule_id} on ${event.asset_id}`;
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

    const text = [
        event.message,
        '',
        ...facts.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
        '',
        'Evidence:',
        ...evidence.map(([key, value]) => `  ${key}: ${value}`),
        '',
        `Runbook: ${runbook || '(none)'}`,
        `Event id: ${event.event_id}`,
        '',
    ].join('\n');

    const runbookHtml = !runbook ? '(none)' : isUrl(runbook) ? `<a href="${escapeHtml(runbook)}">${escapeHtml(runbook)}</a>` : `<code>${escapeHtml(runbook)}</code>`;
    const row = (label: string, value: string): string => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`;
    const html = [
        '<!DOCTYPE html>',
        '<html><body>',
        `<p>${escapeHtml(event.message)}</p>`,
        `<table>${facts.map(([label, value]) => row(label, value)).join('')}</table>`,
        '<h3>Evidence</h3>',
        `<table>${evidence.map(([key, value]) => row(key, value)).join('')}</table>`,
        `<p>Runbook: ${runbookHtml}</p>`,
        `<p>Event id: <code>${escapeHtml(event.event_id)}</code></p>`,
        '</body></html>',
    ].join('\n');

    return {
        subject,
        text,
        html,
        fileName: outboxFileName(event),
        headers: { 'X-Upstream-Live-Event': event.event_id, 'X-Upstream-Live-Severity': event.severity },
    };
}
