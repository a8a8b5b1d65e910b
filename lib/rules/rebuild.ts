// Rebuilds the rule state of an asset from the store before its readings are evaluated. This
// happens the first time the engine receives readings of the asset. It happens again when the
// asset's bus partition comes back to this runtime after another runtime owned it.
import { toError } from '../errors';
import type { AlertEvent, Reading } from '../types';
import { rulesLookbackMs, type RulesEngine } from './engine';

/** Store reads for a rebuild, which the cloud runtime provides through its runtime context. */
export interface RuleHistorySource {
    /** Returns the asset's stored raw readings with from <= ts < to, oldest first. */
    readingsBetween(assetId: string, from: string, to: string): Promise<Reading[]>;
    /** Returns the asset's stored alert events that are open or acknowledged. */
    unresolvedEvents(assetId: string): Promise<AlertEvent[]>;
}

/** Reports of the rebuilder, for the node's log. */
export interface RebuildListener {
    /** An asset's state was rebuilt from `readings` stored readings and `alerts` unresolved alerts. */
    rebuilt?(assetId: string, readings: number, alerts: number): void;
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
            const ms = Date.parse(reading.ts);
            const earliest = firstTimes.get(reading.asset_id);
            if (Number.isFinite(ms) && (earliest === undefined || ms < earliest)) firstTimes.set(reading.asset_id, ms);
        }

        const events: AlertEvent[] = [];
        const lookbackMs = rulesLookbackMs(engine.rules.rules);
        for (const [assetId, firstMs] of firstTimes) {
            try {
                const [history, stored] = await Promise.all([
                    this.source.readingsBetween(assetId, new Date(firstMs - lookbackMs).toISOString(), new Date(firstMs).toISOString()),
                    this.source.unresolvedEvents(assetId),
                ]);
                events.push(...engine.rebuild(assetId, history, stored));
                this.listener.rebuilt?.(assetId, history.length, stored.length);
            } catch (error) {
                // The asset starts without history; its rules fill their windows from live readings.
                engine.rebuild(assetId, [], []);
                this.listener.failed?.(assetId, toError(error));
            }
        }
        return events;
    }
}
