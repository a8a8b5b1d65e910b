// The contract between a widget's server-side state and the page that pushes it to browsers.
import type { AssetRegistry, Scope } from './access';
import type { TrendSeries, WidgetConfig } from './protocol';

/** One connected client's view of a widget: its scope, and its selection in this widget. */
export interface WidgetView {
    scope: Scope;
    registry: AssetRegistry;
    /** The client's current choice in this widget, for example a trend's asset and metric. */
    selection?: { asset_id: string; metric: string };
}

/** Returns one client's share of the changes since the previous push, or undefined for none. */
export type DeltaProducer = (view: WidgetView) => unknown;

export interface WidgetStore {
    readonly config: WidgetConfig;
    /** The full state for one client, sent after `hello` and after a resync. */
    snapshot(view: WidgetView): unknown;
    /**
     * Takes the changes collected since the previous call and clears them. Returns undefined when
     * nothing changed. The page calls it once per push, then calls the result once per client,
     * in the same turn, so a store may read its current state in the result.
     */
    drain(registry: AssetRegistry): DeltaProducer | undefined;
    /** Returns the stored points of one series, or undefined when the store has no such series. */
    select?(view: WidgetView, assetId: string, metric: string): TrendSeries | undefined;
    /** Set by the page: call it after every change so that the page schedules a push. */
    onChange?: () => void;
}
