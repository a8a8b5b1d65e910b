// Rebuilds the rule state of an asset from the store before its readings are evaluated. This
// happens the first time the engine receives readings of the asset. It happens again when the
// asset's bus partition comes back to this runtime after another runtime owned it.
import { toError } from '../errors';
import { parseTime } from '../time';
import type { AlertEvent, Reading } from '../types';
import { rulesLookbackMs, type RulesEngine } from './engine';

/** Store reads for a rebuild, which the cloud runtime provides through its runtime context. */
export interface RuleHistorySource {
    /** Returns the asset's stored raw readings with from <= ts < to, oldest first. */
    readingsBetween(assetId: string, from: string, to: string): Promise<Reading[]>;
    /** Returns the asset's stored alert events that are open or acknowledged. */
    unresolvedEvents(assetId: string): Promise<AlertEvent[]>;
}

/** One asset's rebuild from the store. */
export interface AssetRebuild {
    assetId: string;
    /** Stored readings evaluated to refill the rule windows. */
    readings: number;
    /** Stored open or acknowledged alerts that the rebuilt state was reconciled with. */
    alerts: number;
    /** Alert events that reconciling called for (see RulesEngine.rebuild). */
    events: number;
    /** Time of the store reads and the evaluation, in milliseconds. */
    durationMs: number;
}

/** Reports of the rebuilder, for the node's log. */
export interface RebuildListener {
    /** An asset's state was rebuilt from the store. */
    rebuilt?(rebuild: AssetRebuild): void;
    /** An asset came back under a newer assignment epoch, so its state was dropped before the rebuild. */
    returned?(assetId: string, previousEpoch: number, epoch: number): void;
    /** Reading the store failed, so the asset starts without history. */
    failed?(assetId: string, error: Error): void;
}

/**
 * Decides which assets need a rebuild before a batch of readings is evaluated, and runs it.
 *
 * Each bus message of a Kafka partition carries the epoch of the partition's current assignment
 * to this runtime (see lib/bus/kafka-subscription.ts). Epochs only increase within a process. A
 * newer epoch than the one an asset's state was built under means that the partition was revoked
 * and assigned again, so another runtime may have evaluated readings of the asset meanwhile.
 */
export class AssetRebuilder {
    /** Per asset, the assignment epoch of the messages its current state was built from. */
    private readonly epochs = new Map<string, number>();

    /** `source` is undefined in a runtime without a store (the edge): assets then start without state. */
    constructor(
        private readonly source: RuleHistorySource | undefined,
        private readonly listener: RebuildListener = {},
    ) {}

    /** Returns the assignment epoch that an asset's state was built under, if its messages carried one. */
    epochOf(assetId: string): number | undefined {
        return this.epochs.get(assetId);
    }

    /**
     * Prepares `engine` for `readings` delivered under assignment `epoch` (undefined when the
     * message carries none): drops the state of each asset built under an older epoch, then
     * rebuilds every asset the engine does not know from the store. Returns the events that
     * reconciling with the stored alerts calls for (see RulesEngine.rebuild).
     */
    async prepare(engine: RulesEngine, readings: Reading[], epoch?: number): Promise<AlertEvent[]> {
        if (epoch !== undefined) this.forgetReturned(engine, readings, epoch);
        return this.rebuildUnseen(engine, readings);
    }

    /**
     * Forgets the assets of `readings` whose state was built under an older epoch, and records
     * `epoch` for every asset of `readings`. An asset whose state was built from messages without
     * an epoch adopts this one and keeps its state, because nothing shows that it moved. A message
     * with an older epoch (still in the flow from before the partition moved) changes nothing.
     */
    private forgetReturned(engine: RulesEngine, readings: Reading[], epoch: number): void {
        for (const assetId of new Set(readings.map((reading) => reading.asset_id))) {
            const previous = this.epochs.get(assetId);
            if (previous !== undefined && epoch <= previous) continue;
            this.epochs.set(assetId, epoch);
            if (previous === undefined || !engine.knows(assetId)) continue;
            engine.forget(assetId);
            this.listener.returned?.(assetId, previous, epoch);
        }
    }

    /**
     * Rebuilds each asset of `readings` that the engine does not know, from the store's readings
     * within the rules' lookback before the asset's first reading in `readings`, and from its
     * unresolved alerts. Without a store, the assets start with no state.
     */
    private async rebuildUnseen(engine: RulesEngine, readings: Reading[]): Promise<AlertEvent[]> {
        if (!this.source) return [];
        const firstTimes = new Map<string, number>();
        for (const reading of readings) {
            if (engine.knows(reading.asset_id)) continue;
            const ms = parseTime(reading.ts);
            const earliest = firstTimes.get(reading.asset_id);
            if (Number.isFinite(ms) && (earliest === undefined || ms < earliest)) firstTimes.set(reading.asset_id, ms);
        }

        const events: AlertEvent[] = [];
        const lookbackMs = rulesLookbackMs(engine.rules.rules);
        for (const [assetId, firstMs] of firstTimes) {
            const started = performance.now();
            let rebuild: AssetRebuild;
            try {
                const [history, stored] = await Promise.all([
                    this.source.readingsBetween(assetId, new Date(firstMs - lookbackMs).toISOString(), new Date(firstMs).toISOString()),
                    this.source.unresolvedEvents(assetId),
                ]);
                const reconciled = engine.rebuild(assetId, history, stored);
                events.push(...reconciled);
                rebuild = { assetId, readings: history.length, alerts: stored.length, events: reconciled.length, durationMs: performance.now() - started };
            } catch (error) {
                // The asset starts without history; its rules fill their windows from live readings.
                engine.rebuild(assetId, [], []);
                this.listener.failed?.(assetId, toError(error));
                continue;
            }
            // Reported outside the try, so that a throwing listener cannot discard the rebuilt state.
            this.listener.rebuilt?.(rebuild);
        }
        return events;
    }
}

/** Rebuild counts of one summary interval. */
export interface RebuildTotals {
    /** Assets rebuilt from the store. */
    assets: number;
    /** Stored readings evaluated for those assets. */
    readings: number;
    /** Stored open or acknowledged alerts that those assets were reconciled with. */
    alerts: number;
    /** Alert events that reconciling called for. */
    events: number;
    /** Summed time of those rebuilds, in milliseconds. */
    durationMs: number;
    /** Assets whose store read failed, so that they started without history. */
    failed: number;
    /** Assets whose state was dropped because their bus partition came back to this runtime. */
    returned: number;
}

/** Length of one rebuild summary interval, in milliseconds. */
export const REBUILD_SUMMARY_INTERVAL_MS = 10_000;

function emptyTotals(): RebuildTotals {
    return { assets: 0, readings: 0, alerts: 0, events: 0, durationMs: 0, failed: 0, returned: 0 };
}

/**
 * Adds up rebuilds and reports the totals once per interval, so that the first sight of thousands
 * of assets logs a few lines instead of one per asset. The first count after a report starts an
 * interval, and its end reports everything counted meanwhile. `flush` reports at once, for a stop.
 */
export class RebuildSummary {
    private totals = emptyTotals();
    private timer: NodeJS.Timeout | undefined;

    constructor(
        private readonly report: (totals: RebuildTotals) => void,
        private readonly intervalMs = REBUILD_SUMMARY_INTERVAL_MS,
    ) {}

    /** Counts one asset rebuilt from the store. */
    rebuilt(rebuild: AssetRebuild): void {
        this.totals.assets += 1;
        this.totals.readings += rebuild.readings;
        this.totals.alerts += rebuild.alerts;
        this.totals.events += rebuild.events;
        this.totals.durationMs += rebuild.durationMs;
        this.schedule();
    }

    /** Counts one asset whose store read failed; returns how many failed in this interval so far. */
    failed(): number {
        this.totals.failed += 1;
        this.schedule();
        return this.totals.failed;
    }

    /** Counts one asset dropped because its bus partition came back. */
    returned(): void {
        this.totals.returned += 1;
        this.schedule();
    }

    /** Reports the counts since the last report now, if there are any, and stops the timer. */
    flush(): void {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        const totals = this.totals;
        if (totals.assets === 0 && totals.failed === 0 && totals.returned === 0) return;
        this.totals = emptyTotals();
        this.report(totals);
    }

    private schedule(): void {
        if (this.timer) return;
        this.timer = setTimeout(() => this.flush(), this.intervalMs);
        // A pending summary does not keep the process running.
        this.timer.unref();
    }
}
