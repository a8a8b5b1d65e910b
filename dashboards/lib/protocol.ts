// The dashboard WebSocket protocol, shared by the page node and the browser client.
// Every frame is one JSON object with a `type`. The client authenticates first, then the server
// sends `hello` and `state`, then batched `update` frames; the client may send `select`.
import type { Principal } from '../../lib/auth/types';
import type { AlertEvent, Asset } from '../../lib/types';

export type WidgetKind = 'overview' | 'map' | 'trend' | 'alerts';

/** Close code for a missing, invalid or expired token; the client shows the login form. */
export const CLOSE_UNAUTHENTICATED = 4401;
/** Close code for a valid token whose roles give no access to the dashboard. */
export const CLOSE_FORBIDDEN = 4403;
/** Close code sent when the page node stops, for example on a redeploy; the client reconnects. */
export const CLOSE_RESTART = 1012;

/** One widget as the client needs it to build its panel. */
export interface WidgetConfig {
    id: string;
    kind: WidgetKind;
    name: string;
    options: Record<string, unknown>;
}

// ---- client → server -------------------------------------------------------------------------

/** First message: the bearer token (empty when the page runs without authentication). */
export interface AuthMessage {
    type: 'auth';
    token: string;
}

/** Chooses the series a trend widget shows; the server replies with `series`, then pushes live points. */
export interface SelectMessage {
    type: 'select';
    widget: string;
    asset_id: string;
    metric: string;
}

export type ClientMessage = AuthMessage | SelectMessage;

// ---- server → client -------------------------------------------------------------------------

export interface HelloMessage {
    type: 'hello';
    principal: Principal;
    /** False when the page runs without authentication (a plain Node-RED without the runtime). */
    auth: boolean;
    title: string;
    /** Base path of the REST API, for example `/v1`. */
    apiBase: string;
    widgets: WidgetConfig[];
}

/** Full state of every widget, filtered for the principal; sent after `hello` and after a resync. */
export interface StateMessage {
    type: 'state';
    widgets: { widget: string; data: unknown }[];
}

/** Changes since the previous frame, one entry per widget that changed. */
export interface UpdateMessage {
    type: 'update';
    updates: { widget: string; data: unknown }[];
}

/** The stored points of the series a `select` message chose. */
export interface SeriesMessage {
    type: 'series';
    widget: string;
    data: TrendSeries;
}

/** A client message the server could not handle; the connection stays open. */
export interface ErrorMessage {
    type: 'error';
    message: string;
}

export type ServerMessage = HelloMessage | StateMessage | UpdateMessage | SeriesMessage | ErrorMessage;

// ---- widget payloads -------------------------------------------------------------------------

export interface OverviewData {
    /** Sum over wells of each well's latest oil_rate, in bopd. */
    total_oil_bopd: number;
    /** Sum over wells of each well's latest gas_rate, in mmscfd. */
    total_gas_mmscfd: number;
    active_wells: number;
    /** Wells in view: registry wells plus assets that sent readings but are not in the registry. */
    wells: number;
    open_p1: number;
    acknowledged_p1: number;
    /** ISO 8601 timestamp of the newest reading seen, or null before the first reading. */
    last_reading_ts: string | null;
    /** ISO 8601 wall-clock time the newest input arrived, or null before the first input. */
    last_received_at: string | null;
    active_window_minutes: number;
}

/**
 * Map status of one asset: `alarm` for an unresolved P1 or P2 alert, `warning` for an unresolved
 * P3 alert, `active` for a reading within the active window, `stale` for no recent data.
 */
export type AssetStatus = 'alarm' | 'warning' | 'active' | 'stale';

export type MapAsset = Pick<Asset, 'asset_id' | 'name' | 'type' | 'operator' | 'field' | 'geometry' | 'position_illustrative'>;

export interface MapData {
    /** Present in a snapshot and whenever the asset registry changed. */
    assets?: MapAsset[];
    /** Status per asset_id; a snapshot lists every asset, an update only the ones that changed. */
    status: Record<string, AssetStatus>;
}

export interface TrendSeriesInfo {
    asset_id: string;
    metric: string;
    unit: string;
}

/** One point: epoch milliseconds and value (null for a bad or empty sample). */
export type TrendPoint = [number, number | null];

export interface TrendSeries extends TrendSeriesInfo {
    points: TrendPoint[];
}

export interface TrendData {
    /** Series that have data; a snapshot lists all of them, an update only new ones. */
    series?: TrendSeriesInfo[];
    /** New points of the series this client selected. */
    points?: TrendSeries;
}

export interface AlertsData {
    /** A snapshot lists the stored events; an update only events that are new or changed. */
    events: AlertEvent[];
}
