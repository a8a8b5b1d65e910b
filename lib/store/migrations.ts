// Database schema as ordered, forward-only migrations. A released migration never changes:
// change the schema by appending a migration with the next version.
//
// The same SQL runs on a PostgreSQL server (14 or newer, for date_bin) and on the embedded engine
// (PGlite 0.5, PostgreSQL 18).

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

// Ranks quality flags so that max() finds the worst one: BAD > SUSPECT > GOOD.
const WORST_QUALITY = (column: string): string => `CASE max(CASE ${column} WHEN 'GOOD' THEN 1 WHEN 'SUSPECT' THEN 2 WHEN 'BAD' THEN 3 END)
        WHEN 1 THEN 'GOOD' WHEN 2 THEN 'SUSPECT' WHEN 3 THEN 'BAD' END`;

// Rollups of 15 minutes and 1 hour, filled from the 1-minute rollups of the same buckets (see
// ROLLUP_FROM_MINUTES in readings.ts, which keeps them up to date with the same aggregation).
const rollupTable = (name: string): string => `
CREATE TABLE ${name} (
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
    unit text,
    quality_flag text,
    PRIMARY KEY (asset_id, metric, bucket)
)`;

const fillRollup = (name: string, width: string): string => `
INSERT INTO ${name} (asset_id, metric, bucket, count, min, max, avg, sum, first, last, first_ts, last_ts, unit, quality_flag)
SELECT asset_id, metric, date_bin('${width}', bucket, '2000-01-01 00:00:00+00') AS coarse,
    sum(count)::int, min(min), max(max), sum(sum) / nullif(sum(count), 0), sum(sum),
    (array_agg(first ORDER BY first_ts) FILTER (WHERE first_ts IS NOT NULL))[1],
    (array_agg(last ORDER BY last_ts DESC) FILTER (WHERE last_ts IS NOT NULL))[1],
    min(first_ts), max(last_ts),
    (array_agg(unit ORDER BY bucket DESC))[1],
    ${WORST_QUALITY('quality_flag')}
FROM readings_1m GROUP BY asset_id, metric, coarse`;

// Readings become a table partitioned by month of ts, in UTC, and the rollups gain 15-minute and
// hourly resolutions and the unit and worst quality flag of their readings.
//
// There is no DEFAULT partition for normal data. Attaching the partition of a month scans the
// default partition and fails when it holds rows of that month, so those rows would first have to
// be moved out under lock. Retention drops whole months, which a default partition holding many
// months cannot give. A query scans the default partition unless other partitions cover its whole
// range. Instead the store creates the partition of each month before it writes to it.
const PARTITIONED_READINGS = `
ALTER TABLE readings RENAME TO readings_unpartitioned;
ALTER TABLE readings_unpartitioned RENAME CONSTRAINT readings_pkey TO readings_unpartitioned_pkey;

CREATE TABLE readings (
    asset_id text NOT NULL,
    metric text NOT NULL,
    ts timestamptz NOT NULL,
    value double precision,
    unit text NOT NULL,
    quality_flag text CHECK (quality_flag IN ('GOOD', 'SUSPECT', 'BAD')),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, metric, ts)
) PARTITION BY RANGE (ts);

-- Creates the partition readings_YYYY_MM of the UTC month that contains month_start unless it
-- exists, and returns its name, or NULL when it existed. The partition is created empty and then
-- attached: ATTACH PARTITION locks the parent in SHARE UPDATE EXCLUSIVE mode, which lets writers
-- and readers go on, while CREATE TABLE ... PARTITION OF would lock it ACCESS EXCLUSIVE. The
-- advisory lock makes concurrent callers create each partition once.
CREATE FUNCTION readings_create_partition(month_start timestamptz) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    month_utc timestamp := date_trunc('month', month_start AT TIME ZONE 'UTC');
    partition_name text := 'readings_' || to_char(month_utc, 'YYYY_MM');
BEGIN
    -- The key differs from the migration lock's key in migrate.ts.
    PERFORM pg_advisory_xact_lock(7517260742);
    IF EXISTS (
        SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'readings'::regclass AND c.relname = partition_name
    ) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name);
    EXECUTE format('ALTER TABLE readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', partition_name,
        month_utc AT TIME ZONE 'UTC', (month_utc + interval '1 month') AT TIME ZONE 'UTC');
    RETURN partition_name;
END
$fn$;

DO $do$
DECLARE
    month_start timestamptz;
BEGIN
    FOR month_start IN
        SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM readings_unpartitioned
    LOOP
        PERFORM readings_create_partition(month_start);
    END LOOP;
END
$do$;

INSERT INTO readings (asset_id, metric, ts, value, unit, quality_flag, received_at)
SELECT asset_id, metric, ts, value, unit, quality_flag, received_at FROM readings_unpartitioned;
DROP TABLE readings_unpartitioned;

ALTER TABLE readings_1m ADD COLUMN unit text, ADD COLUMN quality_flag text;
UPDATE readings_1m r SET unit = s.unit, quality_flag = s.quality_flag
FROM (
    SELECT asset_id, metric, date_bin('1 minute', ts, '2000-01-01 00:00:00+00') AS bucket,
        (array_agg(unit ORDER BY ts DESC))[1] AS unit,
        ${WORST_QUALITY('quality_flag')} AS quality_flag
    FROM readings GROUP BY 1, 2, 3
) AS s
WHERE r.asset_id = s.asset_id AND r.metric = s.metric AND r.bucket = s.bucket;

${rollupTable('readings_15m')};
${rollupTable('readings_1h')};
${fillRollup('readings_15m', '15 minutes')};
${fillRollup('readings_1h', '1 hour')};

-- How far retention has dropped each resolution: rows before dropped_before are gone. Rollups of
-- buckets before the raw horizon are never recomputed, because their raw readings are gone.
CREATE TABLE retention_horizons (
    resolution text PRIMARY KEY CHECK (resolution IN ('raw', '1m', '15m', '1h')),
    dropped_before timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
`;

// The rollups become partitioned too, so that retention drops them whole like the raw readings:
// readings_1m by UTC month of bucket (readings_1m_YYYY_MM), readings_15m and readings_1h by UTC
// year (readings_15m_YYYY, readings_1h_YYYY), since they hold 15 and 60 times fewer rows.
// readings_create_partition now creates, for the month it is given, the raw partition and any
// missing rollup partition that covers that month. It still returns the raw partition's name when
// it created it. A bucket never crosses a month boundary, so a reading and its three rollup
// buckets always land in partitions of the same month.
const partitionedRollup = (name: string): string => `
ALTER TABLE ${name} RENAME TO ${name}_unpartitioned;
ALTER TABLE ${name}_unpartitioned RENAME CONSTRAINT ${name}_pkey TO ${name}_unpartitioned_pkey;
CREATE TABLE ${name} (LIKE ${name}_unpartitioned INCLUDING DEFAULTS, PRIMARY KEY (asset_id, metric, bucket)) PARTITION BY RANGE (bucket)`;

const PARTITIONED_ROLLUPS = `
${partitionedRollup('readings_1m')};
${partitionedRollup('readings_15m')};
${partitionedRollup('readings_1h')};

-- Creates the range partition partition_name of parent for [from_ts, to_ts) unless it exists, and
-- returns true when it created it. The caller holds the partition advisory lock.
CREATE FUNCTION readings_attach_partition(parent text, partition_name text, from_ts timestamptz, to_ts timestamptz)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent::regclass AND c.relname = partition_name
    ) THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name, parent);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, partition_name, from_ts, to_ts);
    RETURN true;
END
$fn$;

CREATE OR REPLACE FUNCTION readings_create_partition(month_start timestamptz) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    month_utc timestamp := date_trunc('month', month_start AT TIME ZONE 'UTC');
    year_utc timestamp := date_trunc('year', month_start AT TIME ZONE 'UTC');
    month_from timestamptz := month_utc AT TIME ZONE 'UTC';
    month_to timestamptz := (month_utc + interval '1 month') AT TIME ZONE 'UTC';
    year_from timestamptz := year_utc AT TIME ZONE 'UTC';
    year_to timestamptz := (year_utc + interval '1 year') AT TIME ZONE 'UTC';
    raw_created boolean;
BEGIN
    -- The key differs from the migration lock's key in migrate.ts.
    PERFORM pg_advisory_xact_lock(7517260742);
    raw_created := readings_attach_partition('readings', 'readings_' || to_char(month_utc, 'YYYY_MM'), month_from, month_to);
    PERFORM readings_attach_partition('readings_1m', 'readings_1m_' || to_char(month_utc, 'YYYY_MM'), month_from, month_to);
    PERFORM readings_attach_partition('readings_15m', 'readings_15m_' || to_char(year_utc, 'YYYY'), year_from, year_to);
    PERFORM readings_attach_partition('readings_1h', 'readings_1h_' || to_char(year_utc, 'YYYY'), year_from, year_to);
    RETURN CASE WHEN raw_created THEN 'readings_' || to_char(month_utc, 'YYYY_MM') END;
END
$fn$;

-- Every month that has raw readings or rollups gets its partitions, then the rows move over.
DO $do$
DECLARE
    month_start timestamptz;
BEGIN
    FOR month_start IN
        SELECT date_trunc('month', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM readings_1m_unpartitioned
        UNION SELECT date_trunc('month', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM readings_15m_unpartitioned
        UNION SELECT date_trunc('month', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM readings_1h_unpartitioned
        UNION SELECT date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM readings
    LOOP
        PERFORM readings_create_partition(month_start);
    END LOOP;
END
$do$;

INSERT INTO readings_1m SELECT * FROM readings_1m_unpartitioned;
INSERT INTO readings_15m SELECT * FROM readings_15m_unpartitioned;
INSERT INTO readings_1h SELECT * FROM readings_1h_unpartitioned;
DROP TABLE readings_1m_unpartitioned;
DROP TABLE readings_15m_unpartitioned;
DROP TABLE readings_1h_unpartitioned;
`;

// Writes mark the minutes they add readings to (rollup_pending_1m). A refresh recomputes marked
// minutes from the raw readings and marks their quarters (rollup_pending_15m), and a slower
// refresh recomputes marked quarters and their hours from the minutes (see readings.ts).
const ROLLUP_PENDING = `
CREATE TABLE rollup_pending_1m (
    asset_id text NOT NULL,
    metric text NOT NULL,
    bucket timestamptz NOT NULL,
    PRIMARY KEY (asset_id, metric, bucket)
);
CREATE TABLE rollup_pending_15m (LIKE rollup_pending_1m INCLUDING ALL);
-- Marks are inserted and deleted all the time, so dead rows are vacuumed after a fixed number of
-- changes instead of a fraction of a table that is nearly always small.
ALTER TABLE rollup_pending_1m SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
ALTER TABLE rollup_pending_15m SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
`;

// Each mark carries the number of the write that set it last, so that a refresh removes only the
// marks it has read, and a mark set again by a later write stays for the next refresh. A refresh
// does not lock marks while it recomputes, so writes do not wait for it.
const ROLLUP_MARK_SEQUENCE = `
CREATE SEQUENCE rollup_mark_seq;
ALTER TABLE rollup_pending_1m ADD COLUMN seq bigint NOT NULL DEFAULT 0;
ALTER TABLE rollup_pending_15m ADD COLUMN seq bigint NOT NULL DEFAULT 0;
`;

// A write marks each asset's minutes once, whatever the number of metrics it sent, which makes the
// marks several times cheaper to keep. The refresh expands an asset's marked minute to its metrics
// through the series list, which writes keep up to date.
const ASSET_MINUTE_MARKS = `
CREATE TABLE series (
    asset_id text NOT NULL,
    metric text NOT NULL,
    PRIMARY KEY (asset_id, metric)
);
INSERT INTO series (asset_id, metric) SELECT DISTINCT asset_id, metric FROM readings;
CREATE TABLE rollup_pending_asset_1m (
    asset_id text NOT NULL,
    bucket timestamptz NOT NULL,
    seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (asset_id, bucket)
);
INSERT INTO rollup_pending_asset_1m (asset_id, bucket, seq)
SELECT asset_id, bucket, max(seq) FROM rollup_pending_1m GROUP BY asset_id, bucket;
DROP TABLE rollup_pending_1m;
ALTER TABLE rollup_pending_asset_1m RENAME TO rollup_pending_1m;
ALTER TABLE rollup_pending_1m RENAME CONSTRAINT rollup_pending_asset_1m_pkey TO rollup_pending_1m_pkey;
ALTER TABLE rollup_pending_1m SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
`;

// Alert lifecycle: repeat counts, escalation steps, silences and the bookkeeping of notifications,
// so that the alert router derives its timers from stored state and keeps them across restarts.
// Alerts stored before this migration were notified when they were stored, so they count as
// notified then, with the severity and state they have now.
const ALERT_LIFECYCLE = `
CREATE TABLE silences (
    silence_id uuid PRIMARY KEY,
    asset_id text,
    field text,
    operator text,
    rule_id text,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    reason text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expired_at timestamptz,
    expired_by text,
    CHECK (ends_at >= starts_at),
    CHECK (asset_id IS NOT NULL OR field IS NOT NULL OR operator IS NOT NULL OR rule_id IS NOT NULL)
);
CREATE INDEX silences_ends_at_idx ON silences (ends_at);

ALTER TABLE events
    ADD COLUMN repeat_count integer NOT NULL DEFAULT 0,
    ADD COLUMN last_repeated_at timestamptz,
    ADD COLUMN opened_severity text CHECK (opened_severity IN ('P1', 'P2', 'P3')),
    ADD COLUMN escalation_step integer NOT NULL DEFAULT 0,
    ADD COLUMN escalated_at timestamptz,
    ADD COLUMN group_key text,
    ADD COLUMN silenced boolean NOT NULL DEFAULT false,
    ADD COLUMN silence_id uuid REFERENCES silences (silence_id),
    ADD COLUMN notify_pending_since timestamptz,
    ADD COLUMN first_notified_at timestamptz,
    ADD COLUMN last_notified_at timestamptz,
    ADD COLUMN notified_severity text CHECK (notified_severity IN ('P1', 'P2', 'P3')),
    ADD COLUMN notified_state text CHECK (notified_state IN ('open', 'acknowledged', 'resolved'));
UPDATE events SET opened_severity = severity, first_notified_at = created_at, last_notified_at = created_at,
    notified_severity = severity, notified_state = state;

-- Finds the unresolved alert of a rule, asset and metric when the same condition opens again.
CREATE INDEX events_condition_idx ON events (rule_id, asset_id, metric) WHERE state <> 'resolved';
-- The alerts the router's sweep reads; the predicate is the one of its query.
CREATE INDEX events_lifecycle_idx ON events (opened_at) WHERE (state <> 'resolved' OR notify_pending_since IS NOT NULL
    OR (first_notified_at IS NOT NULL AND notified_state IS DISTINCT FROM 'resolved' AND NOT silenced));
`;

export const MIGRATIONS: readonly Migration[] = [
    { version: 1, name: 'initial schema', sql: INITIAL_SCHEMA },
    { version: 2, name: 'partitioned readings, 15-minute and hourly rollups, retention', sql: PARTITIONED_READINGS },
    { version: 3, name: 'partitioned rollups', sql: PARTITIONED_ROLLUPS },
    { version: 4, name: 'deferred rollup refresh', sql: ROLLUP_PENDING },
    { version: 5, name: 'write sequence of rollup marks', sql: ROLLUP_MARK_SEQUENCE },
    { version: 6, name: 'minute marks per asset and the series list', sql: ASSET_MINUTE_MARKS },
    { version: 7, name: 'alert lifecycle: repeats, escalation, silences and notifications', sql: ALERT_LIFECYCLE },
];
