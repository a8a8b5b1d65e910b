// Reads a real 3W well file as the clean readings the cloud's rules receive: canonical units, BAD
// outside the plausible range, null for empty cells. Shared by the rule tests on real events.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { parse } from 'csv-parse/sync';

import { METRICS, canonicalUnit } from '../../lib/metrics';
import { DATA_DIR } from '../../lib/paths';
import type { Reading } from '../../lib/types';

const THREE_W = join(DATA_DIR, 'petrobras-3w');
const PSI_PER_PA = 1 / 6894.757;
const MMSCFD_PER_SM3_S = (86_400 * 35.3147) / 1e6;

/** 3W columns, their metric and the conversion from the file's unit to the canonical unit. */
const COLUMNS: Record<string, { metric: string; convert: (value: number) => number }> = {
    'P-PDG': { metric: 'pressure_downhole', convert: (pa) => pa * PSI_PER_PA },
    'P-TPT': { metric: 'pressure_tpt', convert: (pa) => pa * PSI_PER_PA },
    'T-TPT': { metric: 'temp_tpt', convert: (c) => c },
    'P-MON-CKP': { metric: 'pressure_upstream_choke', convert: (pa) => pa * PSI_PER_PA },
    'T-JUS-CKP': { metric: 'temp_downstream_choke', convert: (c) => c },
    'P-JUS-CKGL': { metric: 'pressure_gas_lift', convert: (pa) => pa * PSI_PER_PA },
    'T-JUS-CKGL': { metric: 'temp_gas_lift', convert: (c) => c },
    QGL: { metric: 'gas_lift_rate', convert: (rate) => rate * MMSCFD_PER_SM3_S },
};

export interface WellFile {
    name: string;
    assetId: string;
    /** Readings of each row, in row order. */
    rows: Reading[][];
    labels: string[];
    startMs: number;
}

/** Reads a 3W file as clean readings: canonical units, BAD outside the plausible range, null for empty cells. */
export function readWellFile(relativePath: string): WellFile {
    const path = join(THREE_W, relativePath);
    const records = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    const assetId = `3w-${basename(path).split('_')[0].toLowerCase()}`;
    const rows = records.map((record) => {
        const ts = `${record.timestamp.slice(0, 10)}T${record.timestamp.slice(11, 19)}.000Z`;
        return Object.entries(COLUMNS).map(([column, { metric, convert }]): Reading => {
            const cell = record[column];
            const value = cell === '' ? null : convert(Number(cell));
            const plausible = METRICS.get(metric)?.plausible;
            const bad = value === null || (plausible !== undefined && (value < plausible[0] || value > plausible[1]));
            return { asset_id: assetId, metric, value, unit: canonicalUnit(metric) as string, ts, quality_flag: bad ? 'BAD' : 'GOOD' };
        });
    });
    return { name: relativePath, assetId, rows, labels: records.map((record) => record.class), startMs: Date.parse(rows[0][0].ts) };
}

