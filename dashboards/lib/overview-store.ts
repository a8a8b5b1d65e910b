// State of the overview widget: each well's latest oil and gas rate, the time of each asset's
// newest reading, and the unresolved P1 alerts. Every figure is computed over the assets the
// viewer may see, including the data clock that decides which wells are active.
import { canonicalUnit } from '../../lib/metrics';
import { parseTime } from '../../lib/time';
import type { AlertEvent, Reading } from '../../lib/types';
import { scopeKey, type AssetRegistry, type Scope } from './access';
import type { OverviewData, WidgetConfig } from './protocol';
import type { DeltaProducer, WidgetStore, WidgetView } from './widget-store';

export interface OverviewOptions {
    /**
     * A well is active when its newest reading is at most this many minutes older than the newest
     * reading the viewer may see.
     */
    activeWindowMinutes: number;
}

interface LatestValue {
    value: number;
    ts: number;
}

export class OverviewStore implements WidgetStore {
    readonly config: WidgetConfig;
    onChange?: () => void;

    private readonly oil = new Map<string, LatestValue>();
    private readonly gas = new Map<string, LatestValue>();
    /** Newest reading time per asset, epoch ms. */
    private readonly lastSeen = new Map<string, number>();
    /** Wall-clock time of the newest input per asset, epoch ms. */
    private readonly receivedAt = new Map<string, number>();
    /** P1 alerts that are not resolved, by event_id. */
    private readonly p1 = new Map<string, AlertEvent>();
    private dirty = false;

    constructor(
        id: string,
        name: string,
        private readonly options: OverviewOptions,
    ) {
        this.config = { id, kind: 'overview', name, options: { activeWindowMinutes: options.activeWindowMinutes } };
    }

    /**
     * Records readings. Oil and gas values count towards the totals only when they carry the
     * canonical unit (bopd, mmscfd), are not null and are not flagged BAD; every reading counts as
     * activity. `receivedAt` is null for readings loaded from the store at start-up. Returns the
     * readings whose oil or gas unit is not canonical.
     */
    addReadings(readings: Reading[], receivedAt: number | null = Date.now()): Reading[] {
        const wrongUnit: Reading[] = [];
        for (const reading of readings) {
            const ts = parseTime(reading.ts);
            if (ts > (this.lastSeen.get(reading.asset_id) ?? Number.NEGATIVE_INFINITY)) this.lastSeen.set(reading.asset_id, ts);
            if (receivedAt !== null) this.receivedAt.set(reading.asset_id, receivedAt);

            let totals: Map<string, LatestValue>;
            if (reading.metric === 'oil_rate') totals = this.oil;
            else if (reading.metric === 'gas_rate') totals = this.gas;
            else continue;
            if (reading.unit !== canonicalUnit(reading.metric)) {
                wrongUnit.push(reading);
                continue;
            }
            if (reading.value === null || reading.quality_flag === 'BAD') continue;
            const previous = totals.get(reading.asset_id);
            if (!previous || ts >= previous.ts) totals.set(reading.asset_id, { value: reading.value, ts });
        }
        this.changed();
        return wrongUnit;
    }

    addEvents(events: AlertEvent[], receivedAt: number | null = Date.now()): void {
        for (const event of events) {
            if (event.severity !== 'P1' || event.state === 'resolved') this.p1.delete(event.event_id);
            else this.p1.set(event.event_id, event);
            if (receivedAt !== null) this.receivedAt.set(event.asset_id, receivedAt);
        }
        this.changed();
    }

    snapshot(view: WidgetView): OverviewData {
        return this.summarize(view.scope, view.registry);
    }

    drain(registry: AssetRegistry): DeltaProducer | undefined {
        if (!this.dirty) return undefined;
        this.dirty = false;
        const byScope = new Map<string, OverviewData>();
        return (view) => {
            const key = scopeKey(view.scope);
            let data = byScope.get(key);
            if (!data) {
                data = this.summarize(view.scope, registry);
                byScope.set(key, data);
            }
            return data;
        };
    }

    /** Computes the overview figures over the assets the scope may see. */
    summarize(scope: Scope, registry: AssetRegistry): OverviewData {
        let newestTs = Number.NEGATIVE_INFINITY;
        for (const [assetId, ts] of this.lastSeen) {
            if (ts > newestTs && registry.visible(scope, assetId)) newestTs = ts;
        }
        let receivedAt = Number.NEGATIVE_INFINITY;
        for (const [assetId, at] of this.receivedAt) {
            if (at > receivedAt && registry.visible(scope, assetId)) receivedAt = at;
        }

        const windowStart = newestTs - this.options.activeWindowMinutes * 60_000;
        const wells = new Set<string>();
        for (const asset of registry.list(scope)) {
            if (asset.type === 'well') wells.add(asset.asset_id);
        }
        let activeWells = 0;
        for (const [assetId, ts] of this.lastSeen) {
            if (!registry.visible(scope, assetId) || !registry.isWell(assetId)) continue;
            wells.add(assetId);
            if (ts >= windowStart) activeWells += 1;
        }

        const total = (values: Map<string, LatestValue>): number => {
            let sum = 0;
            for (const [assetId, latest] of values) {
                if (registry.visible(scope, assetId) && registry.isWell(assetId)) sum += latest.value;
            }
            return sum;
        };
        let openP1 = 0;
        let acknowledgedP1 = 0;
        for (const event of this.p1.values()) {
            if (!registry.visible(scope, event.asset_id)) continue;
            if (event.state === 'open') openP1 += 1;
            else acknowledgedP1 += 1;
        }

        return {
            total_oil_bopd: total(this.oil),
            total_gas_mmscfd: total(this.gas),
            active_wells: activeWells,
            wells: wells.size,
            open_p1: openP1,
            acknowledged_p1: acknowledgedP1,
            last_reading_ts: Number.isFinite(newestTs) ? new Date(newestTs).toISOString() : null,
            last_received_at: Number.isFinite(receivedAt) ? new Date(receivedAt).toISOString() : null,
            active_window_minutes: this.options.activeWindowMinutes,
        };
    }

    private changed(): void {
        this.dirty = true;
        this.onChange?.();
    }
}
