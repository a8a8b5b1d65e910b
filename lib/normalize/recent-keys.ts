// A bounded set of recently added reading keys (asset, metric, time), for duplicate suppression.
// When it is full, the key added first is forgotten. Keys are kept by asset, then metric, as sets
// of epoch milliseconds, so checking a reading builds no key string. A ring of slots records the
// order of the keys, so forgetting costs the same at any size. A series whose last key is
// forgotten is dropped, so memory stays bounded by the capacity however many series pass.
import { ConfigError } from '../errors';

/** The kept times of one asset and metric. */
interface SeriesKeys {
    assetId: string;
    metric: string;
    times: Set<number>;
}

export class RecentKeys {
    private readonly byAsset = new Map<string, Map<string, SeriesKeys>>();
    /** For each slot of the ring, the series that contains its key, and the key's time. */
    private readonly ringSeries: (SeriesKeys | undefined)[];
    private readonly ringTimes: Float64Array;
    private next = 0;
    private count = 0;

    /** @param capacity Maximum number of keys kept. 0 disables duplicate suppression. */
    constructor(readonly capacity: number) {
        if (!Number.isInteger(capacity) || capacity < 0) {
            throw new ConfigError(`Duplicate cache size ${String(capacity)} is invalid; use a whole number of 0 or more.`);
        }
        this.ringSeries = new Array<SeriesKeys | undefined>(capacity);
        this.ringTimes = new Float64Array(capacity);
    }

    get size(): number {
        return this.count;
    }

    /**
     * Returns whether the key of `assetId`, `metric` and `time` (epoch milliseconds) is among the
     * kept keys, and keeps it when it is not. When the set is full, the key added first is
     * forgotten to make room.
     */
    checkAndAdd(assetId: string, metric: string, time: number): boolean {
        if (this.capacity === 0) return false;
        let series = this.byAsset.get(assetId)?.get(metric);
        if (series?.times.has(time)) return true;

        // The oldest key goes first. Forgetting it may empty this key's series, which is then
        // dropped from the maps, so an empty series is made again.
        const slot = this.next;
        const forgotten = this.ringSeries[slot];
        if (forgotten === undefined) this.count++;
        else this.forget(forgotten, this.ringTimes[slot]);
        if (series === undefined || series.times.size === 0) series = this.addSeries(assetId, metric);

        this.ringSeries[slot] = series;
        this.ringTimes[slot] = time;
        this.next = slot + 1 === this.capacity ? 0 : slot + 1;
        series.times.add(time);
        return false;
    }

    clear(): void {
        this.byAsset.clear();
        this.ringSeries.fill(undefined);
        this.next = 0;
        this.count = 0;
    }

    private addSeries(assetId: string, metric: string): SeriesKeys {
        let ofAsset = this.byAsset.get(assetId);
        if (ofAsset === undefined) {
            ofAsset = new Map();
            this.byAsset.set(assetId, ofAsset);
        }
        const series: SeriesKeys = { assetId, metric, times: new Set() };
        ofAsset.set(metric, series);
        return series;
    }

    private forget(series: SeriesKeys, time: number): void {
        series.times.delete(time);
        if (series.times.size > 0) return;
        const ofAsset = this.byAsset.get(series.assetId);
        if (ofAsset?.get(series.metric) !== series) return;
        ofAsset.delete(series.metric);
        if (ofAsset.size === 0) this.byAsset.delete(series.assetId);
    }
}
