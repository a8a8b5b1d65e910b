// Database schema as ordered, forward-only migrations. A released migration never changes:
// change the schema by appending a migration with the next version.
//
// The same SQL runs on a PostgreSQL server and on the embedded engine (PGlite, PostgreSQL 17).

export interface Migration {
    /** 1, 2, 3, ... without gaps. */
    version: number;
    name: string;
    /** Statements separated by semicolons; they run in one transaction. */
    sql: string;
}

const INITIAL_SCHEMA = `
CREATE TABLE operators (
    operator text PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE licenses (
    license text PRIMARY KEY,
    operator text NOT NULL,
    field text,
    terrain text,
    valid_from date,
    valid_to date,
    attributes jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE assets (
    asset_id text PRIMARY KEY,
    name text NOT NULL,
    type text NOT NULL CHECK (type IN ('well', 'pipeline', 'facility')),
    operator text NOT NULL,
    field text NOT NULL,
    license text NOT NULL,
    -- GeoJSON Point or LineString.
    geometry jsonb NOT NULL,
    position_illustrative boolean NOT NULL DEFAULT false,
    attributes jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assets_operator_idx ON assets (operator);

CREATE TABLE devices (
    device_id text PRIMARY KEY,
    cert_id text NOT NULL UNIQUE,
    operator text NOT NULL,
    -- Ed25519 public key of the device certificate, base64.
    public_key text NOT NULL,
    -- Highest envelope sequence number accepted; replay protection rejects anything not above it.
    last_seq bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- NOTE: a plain table for now. Time partitioning of readings (and TimescaleDB hypertables where
-- the extension is installed) comes with the retention work; the primary key stays the same.
CREATE TABLE readings (
    asset_id text NOT NULL,
    metric text NOT NULL,
    ts timestamptz NOT NULL,
    -- NULL for an empty cell or a bad sample; kept so that gaps are visible.
    value double precision,
    unit text NOT NULL,
    quality_flag text CHECK (quality_flag IN ('GOOD', 'SUSPECT', 'BAD')),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, metric, ts)
);

-- One row per asset, metric and minute that has readings. count, min, max, avg and sum cover the
-- readings with a value; first and last are the earliest and latest of those values, at
-- first_ts and last_ts. A minute whose readings are all NULL has count 0 and NULL aggregates.
CREATE TABLE readings_1m (
    asset_id text NOT NULL,
    metric text NOT NULL,
    bucket timestamptz NOT NULL,
    count integer NOT NULL,
    min double precision,
    max double precision,
    avg double precision,
    sum double precision,
    first double precision,
    last double precision,
    first_ts timestamptz,
    last_ts timestamptz,
    PRIMARY KEY (asset_id, metric, bucket)
);

CREATE TABLE events (
    event_id uuid PRIMARY KEY,
    rule_id text NOT NULL,
    asset_id text NOT NULL,
    metric text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('P1', 'P2', 'P3')),
    state text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    message text NOT NULL,
    runbook text,
    opened_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text,
    resolved_at timestamptz,
    resolved_by text,
    evidence jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_opened_at_idx ON events (opened_at DESC);
CREATE INDEX events_asset_idx ON events (asset_id, opened_at DESC);

CREATE TABLE quarantine (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    code text NOT NULL,
    reason text NOT NULL,
    field text,
    value jsonb,
    ref text,
    payload jsonb,
    received_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
-- Importing the same file or redelivering the same envelope again stores each rejection once.
-- The field is part of the key because one report row can fail the same check in several
-- columns. Rejections without a ref cannot be recognised again and are always appended.
CREATE UNIQUE INDEX quarantine_item_key ON quarantine (source, ref, code, (coalesce(field, '')))
    WHERE ref IS NOT NULL;
CREATE INDEX quarantine_received_at_idx ON quarantine (received_at DESC);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    subject text,
    details jsonb NOT NULL DEFAULT '{}',
    -- Hash chain: each entry's hash covers its own fields and the previous entry's hash.
    prev_hash text,
    hash text NOT NULL UNIQUE
);

CREATE TABLE work_orders (
    work_order_id text PRIMARY KEY,
    asset_id text NOT NULL,
    event_id uuid,
    title text NOT NULL,
    state text NOT NULL DEFAULT 'open',
    assigned_to text,
    details jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE royalty_ledger (
    id bigserial PRIMARY KEY,
    operator text NOT NULL,
    license text NOT NULL,
    -- First day of the month the entry covers.
    period date NOT NULL,
    product text NOT NULL,
    declared_volume double precision,
    computed_volume double precision,
    royalty_due double precision,
    royalty_paid double precision,
    variance double precision,
    details jsonb NOT NULL DEFAULT '{}',
    computed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (operator, license, period, product)
);

CREATE TABLE roles (
    role text PRIMARY KEY,
    description text NOT NULL
);
INSERT INTO roles (role, description) VALUES
    ('regulator-admin', 'Regulator staff who administer the platform and deploy flows'),
    ('analyst', 'Regulator analysts with read access to every operator'),
    ('operator', 'Operator staff who see only their own assets'),
    ('public', 'Anyone; aggregated, non-sensitive figures only');

CREATE TABLE users (
    user_id text PRIMARY KEY,
    name text,
    email text,
    -- The operator a user of role operator belongs to; NULL for regulator staff.
    operator text,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);

CREATE TABLE user_roles (
    user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role text NOT NULL REFERENCES roles (role),
    PRIMARY KEY (user_id, role)
);
`;

export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'initial schema', sql: INITIAL_SCHEMA }];
