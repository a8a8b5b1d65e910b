// The metric catalogue: every metric the platform accepts, its physical quantity and the
// canonical unit it is stored in. The normalizer rejects metrics that are not listed here.

export type Quantity = 'oil_rate' | 'gas_rate' | 'water_rate' | 'pressure' | 'temperature' | 'liquid_flow' | 'ratio' | 'duration';

/** Canonical unit per quantity: barrels of oil per day, million standard cubic feet per day, etc. */
export const CANONICAL_UNITS: Record<Quantity, string> = {
    oil_rate: 'bopd',
    gas_rate: 'mmscfd',
    water_rate: 'bwpd',
    pressure: 'psi',
    temperature: 'degC',
    liquid_flow: 'bph',
    ratio: '%',
    duration: 'h',
};

export interface MetricDefinition {
    metric: string;
    quantity: Quantity;
    description: string;
    /** Physically plausible range in the canonical unit; values outside are flagged BAD. */
    plausible?: [number, number];
}

const definitions: MetricDefinition[] = [
    { metric: 'pressure_downhole', quantity: 'pressure', description: 'Pressure at the permanent downhole gauge (PDG) or bottom hole', plausible: [0, 30_000] },
    { metric: 'pressure_tpt', quantity: 'pressure', description: 'Pressure at the temperature/pressure transducer of the wet christmas tree', plausible: [0, 20_000] },
    { metric: 'pressure_upstream_choke', quantity: 'pressure', description: 'Pressure upstream of the production choke', plausible: [0, 20_000] },
    { metric: 'pressure_gas_lift', quantity: 'pressure', description: 'Pressure downstream of the gas-lift choke', plausible: [0, 20_000] },
    { metric: 'pressure_wellhead', quantity: 'pressure', description: 'Wellhead pressure', plausible: [0, 20_000] },
    { metric: 'pressure_annulus', quantity: 'pressure', description: 'Annulus pressure', plausible: [0, 20_000] },
    { metric: 'pressure_tubing_dp', quantity: 'pressure', description: 'Pressure drop along the tubing', plausible: [-5_000, 20_000] },
    { metric: 'pressure_choke_dp', quantity: 'pressure', description: 'Pressure drop across the production choke', plausible: [-5_000, 20_000] },
    { metric: 'temp_tpt', quantity: 'temperature', description: 'Temperature at the temperature/pressure transducer', plausible: [-50, 250] },
    { metric: 'temp_downstream_choke', quantity: 'temperature', description: 'Temperature downstream of the production choke', plausible: [-50, 250] },
    { metric: 'temp_gas_lift', quantity: 'temperature', description: 'Temperature downstream of the gas-lift choke', plausible: [-50, 250] },
    { metric: 'temp_downhole', quantity: 'temperature', description: 'Bottom-hole temperature', plausible: [-50, 350] },
    { metric: 'temp_wellhead', quantity: 'temperature', description: 'Wellhead temperature', plausible: [-50, 250] },
    { metric: 'gas_lift_rate', quantity: 'gas_rate', description: 'Gas-lift injection rate', plausible: [0, 1_000] },
    { metric: 'oil_rate', quantity: 'oil_rate', description: 'Oil production rate', plausible: [0, 1_000_000] },
    { metric: 'gas_rate', quantity: 'gas_rate', description: 'Gas production rate', plausible: [0, 10_000] },
    { metric: 'water_rate', quantity: 'water_rate', description: 'Water production rate', plausible: [0, 1_000_000] },
    { metric: 'water_injection_rate', quantity: 'water_rate', description: 'Water injection rate', plausible: [0, 1_000_000] },
    { metric: 'liquid_flow', quantity: 'liquid_flow', description: 'Liquid flow through a line or meter', plausible: [0, 100_000] },
    { metric: 'choke_opening', quantity: 'ratio', description: 'Production choke opening', plausible: [0, 100] },
    { metric: 'on_stream_hours', quantity: 'duration', description: 'Hours the well flowed in the reporting day', plausible: [0, 25] },
];

export const METRICS: ReadonlyMap<string, MetricDefinition> = new Map(definitions.map((d) => [d.metric, d]));

/** Returns the canonical unit of a metric, or undefined for a metric that is not in the catalogue. */
export function canonicalUnit(metric: string): string | undefined {
    const definition = METRICS.get(metric);
    return definition ? CANONICAL_UNITS[definition.quantity] : undefined;
}
