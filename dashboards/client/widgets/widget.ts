// Contract between the dashboard page in the browser and its widgets.
import type { Principal } from '../../../lib/auth/types';
import type { ClientMessage, TrendSeries, WidgetConfig } from '../../lib/protocol';
import type { ApiClient } from '../auth';

/** Name of the event on `WidgetContext.events` that selects an asset; detail `{ asset_id }`. */
export const SELECT_ASSET = 'select-asset';

export interface WidgetContext {
    config: WidgetConfig;
    principal: Principal;
    api: ApiClient;
    send(message: ClientMessage): void;
    /** Events between widgets of the page, for example a map click selecting a trend's asset. */
    events: EventTarget;
}

export interface ClientWidget {
    readonly element: HTMLElement;
    /** Replaces the widget's state with a snapshot from a `state` message. */
    setState(data: unknown): void;
    /** Applies the changes from an `update` message. */
    update(data: unknown): void;
    /** Receives the series that this widget's `select` message requested. */
    series?(data: TrendSeries): void;
    destroy(): void;
}

/** Returns the widget node's name, or the fallback when the node has none. */
export function panelTitle(config: WidgetConfig, fallback: string): string {
    return config.name || fallback;
}
