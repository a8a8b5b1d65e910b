// State of the alert feed: the newest alert events by event_id, unresolved ones kept first.
import type { AlertEvent } from '../../lib/types';
import type { AssetRegistry } from './access';
import type { AlertsData, WidgetConfig } from './protocol';
import type { DeltaProducer, WidgetStore, WidgetView } from './widget-store';

export interface AlertsOptions {
    /** Events kept in memory; resolved events are dropped first, then the oldest. */
    maxEvents: number;
}

const STATE_ORDER: Record<AlertEvent['state'], number> = { open: 0, acknowledged: 1, resolved: 2 };

/** Orders events open first, then acknowledged, then resolved, newest opened_at first in each group. */
export function compareEvents(a: AlertEvent, b: AlertEvent): number {
    const byState = STATE_ORDER[a.state] - STATE_ORDER[b.state];
    if (byState !== 0) return byState;
    return Date.parse(b.opened_at) - Date.parse(a.opened_at);
}

export class AlertsStore implements WidgetStore {
    readonly config: WidgetConfig;
    onChange?: () => void;

    private readonly events = new Map<string, AlertEvent>();
    private pending = new Map<string, AlertEvent>();

    constructor(
        id: string,
        name: string,
        private readonly options: AlertsOptions,
    ) {
        this.config = { id, kind: 'alerts', name, options: { maxEvents: options.maxEvents } };
    }

    get openCount(): number {
        let count = 0;
        for (const event of this.events.values()) if (event.state === 'open') count += 1;
        return count;
    }

    /** Stores events; an event with a known event_id replaces the stored one. */
    addEvents(events: AlertEvent[]): void {
        for (const event of events) {
            this.events.set(event.event_id, event);
            this.pending.set(event.event_id, event);
        }
        this.evict();
        this.onChange?.();
    }

    snapshot(view: WidgetView): AlertsData {
        const events = [...this.events.values()].filter((event) => view.registry.visible(view.scope, event.asset_id));
        return { events: events.sort(compareEvents) };
    }

    drain(registry: AssetRegistry): DeltaProducer | undefined {
        if (this.pending.size === 0) return undefined;
        const pending = [...this.pending.values()];
        this.pending = new Map();
        return (view) => {
            const events = pending.filter((event) => registry.visible(view.scope, event.asset_id));
            return events.length > 0 ? { events } : undefined;
        };
    }

    private evict(): void {
        const excess = this.events.size - this.options.maxEvents;
        if (excess <= 0) return;
        // compareEvents puts resolved events and then older ones last, so eviction removes them first.
        const victims = [...this.events.values()].sort(compareEvents).slice(-excess);
        for (const event of victims) {
            this.events.delete(event.event_id);
        }
    }
}
