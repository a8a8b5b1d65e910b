// Reads a 3W sensor file independently of the product's reader, to compute what the pipeline
// should have stored: per metric, the non-empty cells in file order, converted to canonical units.
import { readFileSync } from 'node:fs';

const PA_PER_PSI = 6894.757293168;
/** 1 standard m3/s in million standard cubic feet per day: 35.3146667 ft3/m3 × 86,400 s/d ÷ 1e6. */
const MMSCFD_PER_SM3_PER_S = (35.3146667 * 86_400) / 1e6;

export const THREE_W_COLUMNS: Record<string, { metric: string; convert: (value: number) => number }> = {
    'P-PDG': { metric: 'pressure_downhole', convert: (v) => v / PA_PER_PSI },
    'P-TPT': { metric: 'pressure_tpt', convert: (v) => v / PA_PER_PSI },
    'T-TPT': { metric: 'temp_tpt', convert: (v) => v },
    'P-MON-CKP': { metric: 'pressure_upstream_choke', convert: (v) => v / PA_PER_PSI },
    'T-JUS-CKP': { metric: 'temp_downstream_choke', convert: (v) => v },
    'P-JUS-CKGL': { metric: 'pressure_gas_lift', convert: (v) => v / PA_PER_PSI },
    'T-JUS-CKGL': { metric: 'temp_gas_lift', convert: (v) => v },
    QGL: { metric: 'gas_lift_rate', convert: (v) => v * MMSCFD_PER_SM3_PER_S },
};

export interface ThreeWFile {
    rows: number;
    /** Canonical values per metric, in file order, empty cells left out. */
    series: Map<string, number[]>;
    labels: (string | null)[];
}

export function readThreeW(path: string): ThreeWFile {
    const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((line) => line.trim() !== '');
    const header = lines[0].split(',');
    const series = new Map<string, number[]>();
    const labels: (string | null)[] = [];
    for (const line of lines.slice(1)) {
        const cells = line.split(',');
        header.forEach((column, index) => {
            const spec = THREE_W_COLUMNS[column];
            if (!spec || cells[index] === '') return;
            const list = series.get(spec.metric) ?? [];
            list.push(spec.convert(Number(cells[index])));
            series.set(spec.metric, list);
        });
        const label = cells[header.indexOf('class')];
        labels.push(label === '' ? null : label);
    }
    return { rows: lines.length - 1, series, labels };
}
