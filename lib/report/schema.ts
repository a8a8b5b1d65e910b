// The type and the validator of a parsed report row (schemas/daily-production-row.json).
import { compileSchema, type SchemaValidator } from '../schemas';
import type { ReportColumn } from './columns';

type NumericColumn =
    | 'ON_STREAM_HRS'
    | 'AVG_DOWNHOLE_PRESSURE'
    | 'AVG_DOWNHOLE_TEMPERATURE'
    | 'AVG_DP_TUBING'
    | 'AVG_ANNULUS_PRESS'
    | 'AVG_CHOKE_SIZE_P'
    | 'AVG_WHP_P'
    | 'AVG_WHT_P'
    | 'DP_CHOKE_SIZE'
    | 'BORE_OIL_VOL'
    | 'BORE_GAS_VOL'
    | 'BORE_WAT_VOL'
    | 'BORE_WI_VOL';

type TextColumn = Exclude<ReportColumn, NumericColumn | 'DATEPRD' | 'NPD_WELL_BORE_NAME' | 'AVG_CHOKE_UOM'>;

/** A report row that passed schemas/daily-production-row.json. */
export type DailyProductionRow = { DATEPRD: string; NPD_WELL_BORE_NAME: string; AVG_CHOKE_UOM: '%' | null } & {
    [K in NumericColumn]: number | null;
} & { [K in TextColumn]: string | null };

/** Returns the validator of schemas/daily-production-row.json, compiled on first use. */
export function dailyProductionRowValidator(): SchemaValidator<DailyProductionRow> {
    return compileSchema<DailyProductionRow>('daily-production-row');
}
