// State of the trend widget: the newest points of every asset and metric, kept in memory in time
// order, and the points added since the previous push.
import type { Reading } from '../../lib/types';
import type { AssetRegistry } from './access';
import type { TrendData, TrendPoint, TrendSeries, TrendSeriesInfo, WidgetConfig } from './protocol';
import type { DeltaProducer, WidgetStore, WidgetView } from './widget-store';

export interface TrendOptions {
    /** Points kept per asset and metric; older points are dropped. */
    points: number;
    /** Metric the client selects first when the chosen asset has it. */
    metric: string;
}

interface Series {
    info: TrendSeriesInfo;
    points: TrendPoint[];
}

function seriesKey(assetId: string, metric: string): string {
    return `${assetId}\u0000${metric}`;
}

/** Inserts a point in time order; a point with an existing timestamp replaces the old value. */
function insertPoint(points: TrendPoint[], point: TrendPoint): void {
    const last = points[points.length - 1];
    if (!last || point[0] > last[0]) {
        points.push(point);
        return;
    }
    let low = 0;
    let high = points.length;
    while (low < high) {
        const middle = (low + high) >>> 1;
        if (points[middle][0] < point[0]) low = middle + 1;
        else high = middle;
    }
    if (points[low]?.[0] === point[0]) points[low] = point;
    else points.splice(low, 0, point);
}

export class TrendStore implements WidgetStore {
    readonly config: WidgetConfig;
    onChange?: () => void;

    private readonly series = new Map<string, Series>();
    /** Points added since the previous push, per series key. */
    private pending = new Map<string, TrendPoint[]>();
    /** Series created since the previous push. */
    private created: TrendSeriesInfo[] = [];

    constructor(
        id: string,
        name: string,
        private readonly options: TrendOptions,
    ) {
        this.config = { id, kind: 'trend', name, options: { points: options.points, metric: options.metric } };
    }

    get seriesCount(): number {
        return this.series.size;
    }

    addReadings(readings: Reading[]): void {
        for (const reading of readings) {
            const key = seriesKey(reading.asset_id, reading.metric);
            let series = this.series.get(key);
            if (!series) {
                series = { info: { asset_id: reading.asset_id, metric: reading.metric, unit: reading.unit }, points: [] };
                this.series.set(key, series);
                this.created.push(series.info);
            }
            series.info.unit = reading.unit;

            // A reading flagged BAD (out of its plausible range) is drawn as a gap, so one
            // implausible value cannot flatten the chart.
            const point: TrendPoint = [Date.parse(reading.ts), reading.quality_flag === 'BAD' ? null : reading.value];
            insertPoint(series.points, point);
            // Trimming in steps keeps the cost per reading constant instead of shifting every time.
            if (series.points.length > this.options.points * 1.25) {
                series.points.splice(0, series.points.length - this.options.points);
            }
            let pending = this.pending.get(key);
            if (!pending) {
                pending = [];
                this.pending.set(key, pending);
            }
            pending.push(point);
        }
        this.onChange?.();
    }

    snapshot(view: WidgetView): TrendData {
        const series: TrendSeriesInfo[] = [];
        for (const entry of this.series.values()) {
            if (view.registry.visible(view.scope, entry.info.asset_id)) series.push({ ...entry.info });
        }
        return { series };
    }

    drain(registry: AssetRegistry): DeltaProducer | undefined {
        if (this.pending.size === 0 && this.created.length === 0) return undefined;
        const pending = this.pending;
        const created = this.created;
        this.pending = new Map();
        this.created = [];

        return (view) => {
            const data: TrendData = {};
            const visibleCreated = created.filter((info) => registry.visible(view.scope, info.asset_id));
            if (visibleCreated.length > 0) data.series = visibleCreated.map((info) => ({ ...info }));

            const selection = view.selection;
            if (selection && registry.visible(view.scope, selection.asset_id)) {
                const key = seriesKey(selection.asset_id, selection.metric);
                const points = pending.get(key);
                const info = this.series.get(key)?.info;
                if (points && info) data.points = { ...info, points: [...points].sort((a, b) => a[0] - b[0]) };
            }
            return data.series || data.points ? data : undefined;
        };
    }

    select(view: WidgetView, assetId: string, metric: string): TrendSeries | undefined {
        if (!view.registry.visible(view.scope, assetId)) return undefined;
        const series = this.series.get(seriesKey(assetId, metric));
        if (!series) return undefined;
        return { ...series.info, points: series.points.slice(-this.options.points) };
    }
}
