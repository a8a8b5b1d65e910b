import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { SCHEMAS_DIR } from '../paths';
import { REPORT_COLUMNS } from './columns';
import { dailyProductionRowValidator } from './schema';

const VALID_ROW = {
    DATEPRD: '2014-04-07',
    WELL_BORE_CODE: 'NO 15/9-F-12 H',
    NPD_WELL_BORE_CODE: '5599',
    NPD_WELL_BORE_NAME: '15/9-F-12',
    NPD_FIELD_CODE: '3420717',
    NPD_FIELD_NAME: 'VOLVE',
    NPD_FACILITY_CODE: '369304',
    NPD_FACILITY_NAME: 'MÆRSK INSPIRER',
    ON_STREAM_HRS: 24,
    AVG_DOWNHOLE_PRESSURE: null,
    AVG_DOWNHOLE_TEMPERATURE: null,
    AVG_DP_TUBING: null,
    AVG_ANNULUS_PRESS: 11,
    AVG_CHOKE_SIZE_P: 31.5,
    AVG_CHOKE_UOM: '%',
    AVG_WHP_P: 90.3,
    AVG_WHT_P: 73.5,
    DP_CHOKE_SIZE: 60.25,
    BORE_OIL_VOL: 2735.53,
    BORE_GAS_VOL: 422115.01,
    BORE_WAT_VOL: 14.19,
    BORE_WI_VOL: null,
    FLOW_KIND: 'production',
    WELL_TYPE: 'OP',
};

describe('daily production row schema', () => {
    it('should carry its id and list every report column', () => {
        const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'daily-production-row.json'), 'utf8')) as {
            $id: string;
            required: string[];
        };

        expect(schema.$id).toBe('https://upstream-live.invalid/schemas/daily-production-row.json');
        expect(schema.required).toEqual([...REPORT_COLUMNS]);
    });

    it('should accept a typed row', () => {
        expect(dailyProductionRowValidator().check(VALID_ROW)).toEqual([]);
    });

    it('should name the rule a row breaks', () => {
        const cases: [Record<string, unknown>, string, string][] = [
            [{ DATEPRD: '2014-02-30' }, 'DATEPRD', 'format'],
            [{ BORE_WAT_VOL: -457.84 }, 'BORE_WAT_VOL', 'minimum'],
            [{ ON_STREAM_HRS: 25.5 }, 'ON_STREAM_HRS', 'maximum'],
            [{ BORE_OIL_VOL: 'abc' }, 'BORE_OIL_VOL', 'type'],
            [{ AVG_CHOKE_UOM: 'in' }, 'AVG_CHOKE_UOM', 'enum'],
            [{ NPD_WELL_BORE_NAME: null }, 'NPD_WELL_BORE_NAME', 'type'],
        ];
        for (const [change, field, keyword] of cases) {
            const problems = dailyProductionRowValidator().check({ ...VALID_ROW, ...change });
            expect(problems.map((p) => [p.field, p.keyword]), field).toEqual([[field, keyword]]);
        }
    });
});
