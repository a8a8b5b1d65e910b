import { describe, expect, it } from 'vitest';

import { planPolls, pollKey } from './polls';
import { parseRegisterMapConfig } from './registers';

function registers(entries: Record<string, unknown>[]) {
    return parseRegisterMapConfig({ operator: 'o', assetId: 'well-a', registers: entries }).registers;
}

describe('planPolls', () => {
    it('should join adjacent registers of one table', () => {
        const polls = planPolls(
            registers([
                { function: 'holding', address: 2, metric: 'temp_tpt', unit: 'degC' },
                { function: 'holding', address: 0, type: 'float32', metric: 'pressure_tpt', unit: 'Pa' },
                { function: 'holding', address: 3, type: 'uint32', metric: 'pressure_upstream_choke', unit: 'Pa' },
            ]),
        );

        expect(polls).toEqual([{ unitId: 1, function: 'holding', address: 0, quantity: 5 }]);
    });

    it('should split at gaps, tables and units', () => {
        const polls = planPolls(
            registers([
                { function: 'holding', address: 0, metric: 'temp_tpt', unit: 'degC' },
                { function: 'holding', address: 5, metric: 'pressure_tpt', unit: 'kPa' },
                { function: 'input', address: 1, metric: 'pressure_upstream_choke', unit: 'kPa' },
                { unit_id: 2, function: 'holding', address: 0, metric: 'temp_downstream_choke', unit: 'degC' },
                { function: 'coil', address: 8, metric: 'choke_opening', unit: '%' },
            ]),
        );

        expect(polls.map(pollKey)).toEqual(['u1-coil-8', 'u1-holding-0', 'u1-holding-5', 'u1-input-1', 'u2-holding-0']);
        expect(polls.every((poll) => poll.quantity === 1)).toBe(true);
    });

    it('should keep each read within 125 registers', () => {
        const metrics = ['pressure_downhole', 'pressure_tpt', 'pressure_upstream_choke', 'pressure_gas_lift', 'pressure_wellhead'];
        // 5 metrics x 26 assets x 1 word = 130 adjacent holding registers.
        const entries = Array.from({ length: 130 }, (_, index) => ({
            function: 'holding',
            address: index,
            asset_id: `well-${Math.floor(index / metrics.length)}`,
            metric: metrics[index % metrics.length],
            unit: 'kPa',
        }));
        const polls = planPolls(registers(entries));

        expect(polls).toEqual([
            { unitId: 1, function: 'holding', address: 0, quantity: 125 },
            { unitId: 1, function: 'holding', address: 125, quantity: 5 },
        ]);
    });

    it('should not split a 32-bit value across reads', () => {
        const entries = Array.from({ length: 63 }, (_, index) => ({
            function: 'input',
            address: index * 2,
            type: 'float32',
            asset_id: `well-${index}`,
            metric: 'pressure_tpt',
            unit: 'Pa',
        }));
        const polls = planPolls(registers(entries));

        expect(polls).toEqual([
            { unitId: 1, function: 'input', address: 0, quantity: 124 },
            { unitId: 1, function: 'input', address: 124, quantity: 2 },
        ]);
    });
});
