// The column layout of the daily production report (the layout of the Equinor Volve daily
// production sheet) and how each measurement column maps onto a metric of the catalogue.

/** Every column of the report, in the order the Volve sheet has them. */
export const REPORT_COLUMNS = [
    'DATEPRD',
    'WELL_BORE_CODE',
    'NPD_WELL_BORE_CODE',
    'NPD_WELL_BORE_NAME',
    'NPD_FIELD_CODE',
    'NPD_FIELD_NAME',
    'NPD_FACILITY_CODE',
    'NPD_FACILITY_NAME',
    'ON_STREAM_HRS',
    'AVG_DOWNHOLE_PRESSURE',
    'AVG_DOWNHOLE_TEMPERATURE',
    'AVG_DP_TUBING',
    'AVG_ANNULUS_PRESS',
    'AVG_CHOKE_SIZE_P',
    'AVG_CHOKE_UOM',
    'AVG_WHP_P',
    'AVG_WHT_P',
    'DP_CHOKE_SIZE',
    'BORE_OIL_VOL',
    'BORE_GAS_VOL',
    'BORE_WAT_VOL',
    'BORE_WI_VOL',
    'FLOW_KIND',
    'WELL_TYPE',
] as const;

export type ReportColumn = (typeof REPORT_COLUMNS)[number];

/**
 * Columns a report must have: the production day, the well bore, the hours on stream and the four
 * declared volumes. The other columns may be left out, and a missing column produces no readings.
 */
export const REQUIRED_COLUMNS: readonly ReportColumn[] = [
    'DATEPRD',
    'NPD_WELL_BORE_NAME',
    'ON_STREAM_HRS',
    'BORE_OIL_VOL',
    'BORE_GAS_VOL',
    'BORE_WAT_VOL',
    'BORE_WI_VOL',
];

/** A numeric column of the report and the metric its values become, in the unit of the report. */
export interface MeasurementColumn {
    column: ReportColumn;
    metric: string;
    unit: string;
}

/**
 * Numeric columns in report order. The volumes are declared per production day, so they map to
 * the rate metrics in Sm3/d. The normalizer converts every unit to the canonical one.
 */
export const MEASUREMENT_COLUMNS: readonly MeasurementColumn[] = [
    { column: 'ON_STREAM_HRS', metric: 'on_stream_hours', unit: 'h' },
    { column: 'AVG_DOWNHOLE_PRESSURE', metric: 'pressure_downhole', unit: 'bar' },
    { column: 'AVG_DOWNHOLE_TEMPERATURE', metric: 'temp_downhole', unit: 'degC' },
    { column: 'AVG_DP_TUBING', metric: 'pressure_tubing_dp', unit: 'bar' },
    { column: 'AVG_ANNULUS_PRESS', metric: 'pressure_annulus', unit: 'bar' },
    { column: 'AVG_CHOKE_SIZE_P', metric: 'choke_opening', unit: '%' },
    { column: 'AVG_WHP_P', metric: 'pressure_wellhead', unit: 'bar' },
    { column: 'AVG_WHT_P', metric: 'temp_wellhead', unit: 'degC' },
    { column: 'DP_CHOKE_SIZE', metric: 'pressure_choke_dp', unit: 'bar' },
    { column: 'BORE_OIL_VOL', metric: 'oil_rate', unit: 'Sm3/d' },
    { column: 'BORE_GAS_VOL', metric: 'gas_rate', unit: 'Sm3/d' },
    { column: 'BORE_WAT_VOL', metric: 'water_rate', unit: 'Sm3/d' },
    { column: 'BORE_WI_VOL', metric: 'water_injection_rate', unit: 'Sm3/d' },
];

const NUMERIC = new Set<ReportColumn>(MEASUREMENT_COLUMNS.map((m) => m.column));

/** Returns true for the columns whose cells must be numbers or empty. */
export function isNumericColumn(column: ReportColumn): boolean {
    return NUMERIC.has(column);
}

/** The volume columns, which must not be negative. */
export const VOLUME_COLUMNS: readonly ReportColumn[] = ['BORE_OIL_VOL', 'BORE_GAS_VOL', 'BORE_WAT_VOL', 'BORE_WI_VOL'];

/** The unit the report must declare in AVG_CHOKE_UOM for AVG_CHOKE_SIZE_P. */
export const CHOKE_UNIT = '%';
