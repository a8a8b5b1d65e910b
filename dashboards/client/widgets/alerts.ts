// Live alert feed: open alerts first, newest first, with Acknowledge and Resolve buttons that
// call the REST API as the signed-in user.
import type { AlertEvent } from '../../../lib/types';
import type { AlertsData } from '../../lib/protocol';
import { apiErrorMessage } from '../auth';
import { formatUtc, h } from '../dom';
import { panelTitle, SELECT_ASSET, type ClientWidget, type WidgetContext } from './widget';

const STATE_ORDER: Record<AlertEvent['state'], number> = { open: 0, acknowledged: 1, resolved: 2 };

function compareEvents(a: AlertEvent, b: AlertEvent): number {
    const byState = STATE_ORDER[a.state] - STATE_ORDER[b.state];
    return byState !== 0 ? byState : Date.parse(b.opened_at) - Date.parse(a.opened_at);
}

/** Only web links and paths on this server become runbook links; anything else is shown as text. */
function safeLink(runbook: string): string | undefined {
    if (runbook.startsWith('/') && !runbook.startsWith('//')) return runbook;
    try {
        const url = new URL(runbook);
        return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
    } catch {
        return undefined;
    }
}

export function createAlerts(context: WidgetContext): ClientWidget {
    const maxEvents = Number(context.config.options.maxEvents ?? 200);
    const roles = context.principal.roles;
    const canAct = roles.includes('regulator-admin') || roles.includes('operator');
    const counts = h('span', { class: 'counts' });
    const list = h('ol', { class: 'alert-list' });
    const empty = h('p', { class: 'empty' }, 'No alerts.');
    const element = h('section', { class: 'panel alerts' }, h('header', null, h('h2', null, panelTitle(context.config, 'Alerts')), counts), list, empty);

    const events = new Map<string, AlertEvent>();
    /** event_id → error text of the last failed action, shown until the next update of that event. */
    const actionErrors = new Map<string, string>();
    const busy = new Set<string>();
    /** Rendered rows by event_id with what they showed, so unchanged rows keep their element. */
    const rows = new Map<string, { signature: string; element: HTMLElement }>();

    async function act(event: AlertEvent, action: 'ack' | 'resolve'): Promise<void> {
        busy.add(event.event_id);
        actionErrors.delete(event.event_id);
        render();
        const result = await context.api.request('POST', `/alerts/${encodeURIComponent(event.event_id)}/${action}`);
        busy.delete(event.event_id);
        if (result.ok) {
            const updated = (result.body as { event?: AlertEvent } | undefined)?.event;
            if (updated?.event_id === event.event_id) events.set(updated.event_id, updated);
        } else {
            const verb = action === 'ack' ? 'Acknowledging' : 'Resolving';
            actionErrors.set(event.event_id, `${verb} failed: ${apiErrorMessage(result)}`);
        }
        render();
    }

    function row(event: AlertEvent): HTMLElement {
        const link = event.runbook ? safeLink(event.runbook) : undefined;
        const buttons = h('div', { class: 'actions' });
        if (canAct && event.state === 'open') {
            const ack = h('button', { type: 'button', disabled: busy.has(event.event_id) }, 'Acknowledge');
            ack.addEventListener('click', () => void act(event, 'ack'));
            buttons.append(ack);
        }
        if (canAct && event.state !== 'resolved') {
            const resolve = h('button', { type: 'button', disabled: busy.has(event.event_id) }, 'Resolve');
            resolve.addEventListener('click', () => void act(event, 'resolve'));
            buttons.append(resolve);
        }
        const asset = h('button', { type: 'button', class: 'link asset', title: 'Show in the trend' }, event.asset_id);
        asset.addEventListener('click', () => context.events.dispatchEvent(new CustomEvent(SELECT_ASSET, { detail: { asset_id: event.asset_id } })));
        let actor = '';
        if (event.state === 'acknowledged' && event.acknowledged_by) actor = ` · acknowledged by ${event.acknowledged_by}`;
        if (event.state === 'resolved' && event.resolved_by) actor = ` · resolved by ${event.resolved_by}`;

        return h(
            'li',
            { class: `alert severity-${event.severity.toLowerCase()} state-${event.state}` },
            h('span', { class: 'severity' }, event.severity),
            h(
                'div',
                { class: 'alert-body' },
                h('div', { class: 'alert-head' }, asset, h('span', { class: 'rule' }, event.rule_id), h('span', { class: 'state' }, event.state)),
                h('div', { class: 'message' }, event.message),
                h(
                    'div',
                    { class: 'alert-meta' },
                    `opened ${formatUtc(event.opened_at)}${actor}`,
                    link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, 'runbook') : event.runbook ? ` · runbook: ${event.runbook}` : null,
                ),
                actionErrors.has(event.event_id) ? h('div', { class: 'action-error', role: 'alert' }, actionErrors.get(event.event_id)) : null,
            ),
            buttons,
        );
    }

    function render(): void {
        const sorted = [...events.values()].sort(compareEvents);
        for (const event of sorted.slice(maxEvents)) events.delete(event.event_id);
        const visible = sorted.slice(0, maxEvents);
        const elements = visible.map((event) => {
            const signature = JSON.stringify([event, busy.has(event.event_id), actionErrors.get(event.event_id)]);
            const cached = rows.get(event.event_id);
            if (cached?.signature === signature) return cached.element;
            const element = row(event);
            rows.set(event.event_id, { signature, element });
            return element;
        });
        for (const eventId of rows.keys()) if (!events.has(eventId)) rows.delete(eventId);
        list.replaceChildren(...elements);
        empty.hidden = visible.length > 0;
        const open = visible.filter((event) => event.state === 'open').length;
        const acknowledged = visible.filter((event) => event.state === 'acknowledged').length;
        counts.textContent = `${open} open · ${acknowledged} acknowledged`;
    }

    function apply(list: AlertEvent[]): void {
        for (const event of list) {
            events.set(event.event_id, event);
            actionErrors.delete(event.event_id);
        }
        render();
    }

    return {
        element,
        setState: (data) => {
            events.clear();
            apply((data as AlertsData).events);
        },
        update: (data) => apply((data as AlertsData).events),
        destroy: () => undefined,
    };
}
