// Message shapes shared by the edge and cloud nodes, the store and the API.
// The JSON Schemas in schemas/ describe the same shapes for validation at the edges of the system.

/** Data quality of one reading after cleansing. */
export type QualityFlag = 'GOOD' | 'SUSPECT' | 'BAD';

/** Alert severity: P1 needs action now, P3 is informational. */
export type Severity = 'P1' | 'P2' | 'P3';

/**
 * One measurement of one metric of one asset.
 * At the edge `unit` is the source unit; after the normalizer it is the metric's canonical unit.
 */
export interface Reading {
    asset_id: string;
    metric: string;
    /** Measured value; null when the source delivered an empty cell or a bad-quality sample. */
    value: number | null;
    unit: string;
    /** ISO 8601 timestamp in UTC with millisecond precision, for example `2017-03-20T14:31:44.000Z`. */
    ts: string;
    quality_flag?: QualityFlag;
}

/** A batch of readings from one device, signed at the edge (see lib/signing). */
export interface SignedEnvelope {
    /** Envelope format version. */
    v: 1;
    device_id: string;
    /** Identifier of the device certificate whose key signed the envelope. */
    cert_id: string;
    /** Per-device sequence number, strictly increasing. */
    seq: number;
    operator: string;
    readings: Reading[];
    /** Ed25519 signature, base64, over the canonical JSON of every other field. */
    sig: string;
}

/**
 * A rejected reading, envelope, API line or report row, kept in the quarantine with its reason.
 * Every node that rejects input emits these on its second output, never drops them.
 */
export interface Rejection {
    /** Origin of the input, for example `mqtt:ops/acme/well-1/readings`, `api:ingest`, `report:volve.csv`. */
    source: string;
    /** A sentence that names the problem and the fix. */
    reason: string;
    /** Machine-readable reason code, for example `unknown_metric`, `bad_signature`, `future_timestamp`. */
    code: string;
    /** Offending field, when one field is at fault. */
    field?: string;
    /** Offending value, as received. */
    value?: unknown;
    /** Position in the source: row number of a report file, line number of an API batch, envelope sequence. */
    ref?: string;
    /** The whole rejected item as received, for later reprocessing. */
    payload?: unknown;
    /** ISO 8601 time the item was rejected. */
    received_at: string;
}

/** An alert raised by a rule or detector; lifecycle open → acknowledged → resolved. */
export interface AlertEvent {
    event_id: string;
    rule_id: string;
    asset_id: string;
    metric: string;
    severity: Severity;
    state: 'open' | 'acknowledged' | 'resolved';
    message: string;
    runbook?: string;
    /** Time of the reading that made the rule fire. */
    opened_at: string;
    acknowledged_at?: string | null;
    acknowledged_by?: string | null;
    resolved_at?: string | null;
    resolved_by?: string | null;
    /** Observed value, thresholds, window and any other facts behind the alert. */
    evidence: Record<string, unknown>;
}

/** A well, pipeline or facility in the asset registry. */
export interface Asset {
    asset_id: string;
    name: string;
    type: 'well' | 'pipeline' | 'facility';
    operator: string;
    field: string;
    license: string;
    /** GeoJSON geometry: a Point for wells and facilities, a LineString for pipelines. */
    geometry: { type: 'Point'; coordinates: [number, number] } | { type: 'LineString'; coordinates: [number, number][] };
    /** True when the position is illustrative rather than surveyed. */
    position_illustrative?: boolean;
    /** Free-form attributes: water depth, terrain, well-bore codes, data source. */
    attributes?: Record<string, unknown>;
}
