// Context that the embedding runtime passes to nodes through Node-RED settings
// (`RED.settings.upstreamLive`). Nodes installed into a plain Node-RED instance find no context
// and use their own configuration, so every field is optional.
import type { TokenVerifier } from './auth/types';
import type { AlertEvent, Asset, Reading } from './types';

export interface RuntimeContext {
    /** Verifies bearer tokens for the dashboard and any node that serves HTTP. */
    verifyToken?: TokenVerifier;
    /** Returns the asset registry; the dashboard uses it for the map and for operator scoping. */
    listAssets?: () => Promise<Asset[]>;
    /** Returns the latest reading per asset and metric, to seed widgets after a restart. */
    latestReadings?: () => Promise<Reading[]>;
    /** Returns recent alert events (open ones first), to seed the alert feed after a restart. */
    recentEvents?: () => Promise<AlertEvent[]>;
    /**
     * Returns an asset's stored raw readings with from <= ts < to, oldest first, so that rules
     * can rebuild the state of an asset that another runtime watched before.
     */
    readingsBetween?: (assetId: string, from: string, to: string) => Promise<Reading[]>;
    /** Returns the asset's alert events that are open or acknowledged. */
    unresolvedEvents?: (assetId: string) => Promise<AlertEvent[]>;
    /** Base path of the REST API, for links from the dashboard, for example `/v1`. */
    apiBase?: string;
    /** Folder for runtime data: embedded database, outbox, keys, inbox. */
    dataDir?: string;
}

/** Reads the runtime context from Node-RED settings, tolerating its absence. */
export function runtimeContext(settings: unknown): RuntimeContext {
    try {
        const context = (settings as { upstreamLive?: RuntimeContext }).upstreamLive;
        return context ?? {};
    } catch {
        // Node-RED's settings object throws for keys that are not set; no context then.
        return {};
    }
}
