// Monthly production per field for the public: volumes only, never a figure of a single well.
import type { Queryable } from './db';

/** Volumes per field and month for the public view. */
export interface MonthlyFieldProduction {
    field: string;
    /** Month as YYYY-MM. */
    month: string;
    /** Oil in barrels, gas in million standard cubic feet, water in barrels. */
    oil_bbl: number | null;
    gas_mmscf: number | null;
    water_bbl: number | null;
    /** Wells that reported in the month. */
    wells: number;
}

/**
 * Fields with fewer reporting wells in a month than this are left out, so that no published
 * figure is the production of one or two identifiable wells.
 */
export const MIN_WELLS_PER_AGGREGATE = 3;

const METRICS: Record<string, 'oil_bbl' | 'gas_mmscf' | 'water_bbl'> = { oil_rate: 'oil_bbl', gas_rate: 'gas_mmscf', water_rate: 'water_bbl' };

/**
 * Sums each well's daily mean rate over the days of each month: a rate in barrels (or MMscf) per
 * day held for one day is that day's volume. Readings flagged BAD are left out, and days without
 * readings count as no production. Days before the raw retention horizon, whose raw readings are
 * gone, are read from the hourly rollups, which are kept forever. There an hour whose worst
 * reading was BAD is left out as a whole.
 * NOTE: a day with readings for only part of it counts as a full day at its mean rate, which is
 * exact for daily reports but overstates a high-rate series that stopped mid-day.
 */
export async function selectMonthlyFieldProduction(db: Queryable, minWells = MIN_WELLS_PER_AGGREGATE): Promise<MonthlyFieldProduction[]> {
    const { rows } = await db.query<{ field: string; month: string; metric: string; volume: number; wells: number }>(
        `WITH horizon AS (
            SELECT coalesce((SELECT dropped_before FROM retention_horizons WHERE resolution = 'raw'), '-infinity') AS raw_from
        ), daily AS (
            SELECT asset_id, metric, date_trunc('day', ts, 'UTC') AS day, avg(value) AS rate
            FROM readings
            WHERE metric = ANY($1::text[]) AND value IS NOT NULL AND quality_flag IS DISTINCT FROM 'BAD'
                AND ts >= (SELECT raw_from FROM horizon)
            GROUP BY asset_id, metric, date_trunc('day', ts, 'UTC')
            UNION ALL
            SELECT asset_id, metric, date_trunc('day', bucket, 'UTC') AS day, sum(sum) / sum(count) AS rate
            FROM readings_1h
            WHERE metric = ANY($1::text[]) AND count > 0 AND quality_flag IS DISTINCT FROM 'BAD'
                AND bucket < (SELECT raw_from FROM horizon)
            GROUP BY asset_id, metric, date_trunc('day', bucket, 'UTC')
        ), monthly AS (
            SELECT a.field, to_char(d.day, 'YYYY-MM') AS month, d.metric, sum(d.rate) AS volume, count(DISTINCT d.asset_id) AS wells
            FROM daily d JOIN assets a ON a.asset_id = d.asset_id
            WHERE a.type = 'well'
            GROUP BY a.field, to_char(d.day, 'YYYY-MM'), d.metric
        ), reporting AS (
            SELECT a.field, to_char(d.day, 'YYYY-MM') AS month, count(DISTINCT d.asset_id) AS wells
            FROM daily d JOIN assets a ON a.asset_id = d.asset_id
            WHERE a.type = 'well'
            GROUP BY a.field, to_char(d.day, 'YYYY-MM')
        )
        SELECT m.field, m.month, m.metric, m.volume::float8 AS volume, r.wells::int AS wells
        FROM monthly m JOIN reporting r ON r.field = m.field AND r.month = m.month
        WHERE r.wells >= $2
        ORDER BY m.month, m.field, m.metric`,
        [Object.keys(METRICS), minWells],
    );

    const byKey = new Map<string, MonthlyFieldProduction>();
    for (const row of rows) {
        const key = `${row.field}|${row.month}`;
        let entry = byKey.get(key);
        if (!entry) {
            entry = { field: row.field, month: row.month, oil_bbl: null, gas_mmscf: null, water_bbl: null, wells: Number(row.wells) };
            byKey.set(key, entry);
        }
        entry[METRICS[row.metric]] = Math.round(Number(row.volume) * 100) / 100;
    }
    return [...byKey.values()];
}
