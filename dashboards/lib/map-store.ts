// State of the map widget: the newest reading time per asset and the unresolved alerts, turned
// into one status per registry asset for each viewer's scope.
import { parseTime } from '../../lib/time';
import type { AlertEvent, Reading, Severity } from '../../lib/types';
import { scopeKey, type AssetRegistry, type Scope } from './access';
import type { AssetStatus, MapAsset, MapData, WidgetConfig } from './protocol';
import type { DeltaProducer, WidgetStore, WidgetView } from './widget-store';

export interface MapOptions {
    /** An asset is active when its newest reading is at most this many minutes older than the newest reading in view. */
    activeWindowMinutes: number;
}

export class MapStore implements WidgetStore {
    readonly config: WidgetConfig;
    onChange?: () => void;

    private readonly lastSeen = new Map<string, number>();
    private readonly unresolved = new Map<string, { asset_id: string; severity: Severity }>();
    /**
     * Every scope that got a snapshot, with the status its viewers have now. Each push advances
     * all of them, so that an update carries only what changed since the previous push.
     */
    private readonly scopes = new Map<string, { scope: Scope; status: Record<string, AssetStatus> }>();
    private pushedRegistryVersion = -1;
    private dirty = false;

    constructor(
        id: string,
        name: string,
        private readonly options: MapOptions,
    ) {
        this.config = { id, kind: 'map', name, options: { activeWindowMinutes: options.activeWindowMinutes } };
    }

    addReadings(readings: Reading[]): void {
        for (const reading of readings) {
            const ts = parseTime(reading.ts);
            if (ts > (this.lastSeen.get(reading.asset_id) ?? Number.NEGATIVE_INFINITY)) this.lastSeen.set(reading.asset_id, ts);
        }
        this.changed();
    }

    addEvents(events: AlertEvent[]): void {
        for (const event of events) {
            if (event.state === 'resolved') this.unresolved.delete(event.event_id);
            else this.unresolved.set(event.event_id, { asset_id: event.asset_id, severity: event.severity });
        }
        this.changed();
    }

    /** Marks the store changed after the asset registry changed. */
    registryChanged(): void {
        this.changed();
    }

    snapshot(view: WidgetView): MapData {
        const status = this.statusFor(view.scope, view.registry);
        const key = scopeKey(view.scope);
        // The page takes snapshots right after a push, so a known scope's status is already this one.
        if (!this.scopes.has(key)) this.scopes.set(key, { scope: view.scope, status });
        return { assets: mapAssets(view.registry, view.scope), status };
    }

    drain(registry: AssetRegistry): DeltaProducer | undefined {
        if (!this.dirty) return undefined;
        this.dirty = false;
        const registryChanged = registry.version !== this.pushedRegistryVersion;
        this.pushedRegistryVersion = registry.version;

        const deltas = new Map<string, MapData | undefined>();
        for (const [key, entry] of this.scopes) {
            const status = this.statusFor(entry.scope, registry);
            const changed: Record<string, AssetStatus> = {};
            for (const [assetId, value] of Object.entries(status)) {
                if (entry.status[assetId] !== value) changed[assetId] = value;
            }
            entry.status = status;
            if (registryChanged) deltas.set(key, { assets: mapAssets(registry, entry.scope), status });
            else if (Object.keys(changed).length > 0) deltas.set(key, { status: changed });
        }
        return (view) => deltas.get(scopeKey(view.scope));
    }

    /** Computes the status of every registry asset the scope may see. */
    statusFor(scope: Scope, registry: AssetRegistry): Record<string, AssetStatus> {
        let newestTs = Number.NEGATIVE_INFINITY;
        for (const [assetId, ts] of this.lastSeen) {
            if (ts > newestTs && registry.visible(scope, assetId)) newestTs = ts;
        }
        const windowStart = newestTs - this.options.activeWindowMinutes * 60_000;

        const worst = new Map<string, Severity>();
        for (const { asset_id: assetId, severity } of this.unresolved.values()) {
            const current = worst.get(assetId);
            if (!current || severity < current) worst.set(assetId, severity);
        }

        const status: Record<string, AssetStatus> = {};
        for (const asset of registry.list(scope)) {
            const severity = worst.get(asset.asset_id);
            const seen = this.lastSeen.get(asset.asset_id);
            if (severity === 'P1' || severity === 'P2') status[asset.asset_id] = 'alarm';
            else if (severity === 'P3') status[asset.asset_id] = 'warning';
            else if (seen !== undefined && seen >= windowStart) status[asset.asset_id] = 'active';
            else status[asset.asset_id] = 'stale';
        }
        return status;
    }

    private changed(): void {
        this.dirty = true;
        this.onChange?.();
    }
}

/** Keeps the asset fields the map draws; attributes and license stay on the server. */
function mapAssets(registry: AssetRegistry, scope: Scope): MapAsset[] {
    return registry.list(scope).map((asset) => ({
        asset_id: asset.asset_id,
        name: asset.name,
        type: asset.type,
        operator: asset.operator,
        field: asset.field,
        geometry: asset.geometry,
        position_illustrative: asset.position_illustrative,
    }));
}
