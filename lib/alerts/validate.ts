// Checks that a message payload is an alert event before it is stored.
import type { AlertEvent } from '../types';

const SEVERITIES = ['P1', 'P2', 'P3'];
const STATES = ['open', 'acknowledged', 'resolved'];

/** Returns what is wrong with `payload` as an alert event, or undefined when it is one. */
export function alertEventProblem(payload: unknown): { field?: string; reason: string } | undefined {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        return { reason: 'msg.payload is not an alert event object; wire the router after a rules node.' };
    }
    const event = payload as Record<string, unknown>;
    for (const field of ['event_id', 'rule_id', 'asset_id', 'metric', 'message', 'opened_at'] as const) {
        if (typeof event[field] !== 'string' || event[field] === '') {
            return { field, reason: `The alert event has no ${field} text; alert events need ${field}.` };
        }
    }
    if (!SEVERITIES.includes(event.severity as string)) {
        return { field: 'severity', reason: `The severity ${JSON.stringify(event.severity)} is not P1, P2 or P3.` };
    }
    if (!STATES.includes(event.state as string)) {
        return { field: 'state', reason: `The state ${JSON.stringify(event.state)} is not open, acknowledged or resolved.` };
    }
    if (Number.isNaN(Date.parse(event.opened_at as string))) {
        return { field: 'opened_at', reason: `opened_at '${String(event.opened_at)}' is not an ISO 8601 time.` };
    }
    if (typeof event.evidence !== 'object' || event.evidence === null || Array.isArray(event.evidence)) {
        return { field: 'evidence', reason: 'The alert event has no evidence object; send evidence: {} when there is none.' };
    }
    return undefined;
}

/** Type guard over alertEventProblem. */
export function isAlertEvent(payload: unknown): payload is AlertEvent {
    return alertEventProblem(payload) === undefined;
}
