// Conversion of source units to the canonical unit of each quantity (CANONICAL_UNITS in
// lib/metrics.ts). Unit spellings are matched case-sensitively after trimming, because case
// carries meaning in oilfield units: `Mscf` is a thousand standard cubic feet, `MPa` a megapascal.
//
// Exact factors and their sources:
// - 1 bbl (US oil barrel) = 42 US gal = 9702 in3 = 0.158987294928 m3 exactly, since 1 in = 0.0254 m
//   (NIST SP 811, appendix B.8). Hence 1 m3 = 6.28981077 bbl.
// - 1 ft = 0.3048 m exactly (international foot), so 1 ft3 = 0.028316846592 m3 and
//   1 m3 = 35.3146667 ft3.
// - 1 psi = 1 lbf/in2 = 6894.757293168 Pa, from 1 lbf = 0.45359237 kg x 9.80665 m/s2 (NIST SP 811).
// - 1 bar = 1e5 Pa; 1 kgf/cm2 = 9.80665 N / 1e-4 m2 = 98066.5 Pa exactly.
// - Temperatures: degC = K - 273.15 and degC = (degF - 32) x 5/9.
//
// NOTE: standard volumes (Sm3 at 15 degC and 101.325 kPa, scf at 60 degF and 14.696 psia) are
// converted by volume alone. The two reference conditions differ by about 0.2 %, and the
// correction depends on the gas, so none is applied here.
//
// Gauge and absolute pressure units (psig, psia, barg, bara, kPag, kPaa) are rejected. The
// canonical unit `psi` carries no reference, and a scale-only conversion would silently mix
// gauge and absolute values (an offset of about 14.7 psi) in one metric's history.
import { ValidationError } from './errors';
import { CANONICAL_UNITS, METRICS, type Quantity } from './metrics';

/** Size of one unit in the quantity's base (SI-derived) unit, or an affine conversion for temperature. */
type UnitDefinition = { scale: number } | { toBase: (value: number) => number };

const BBL_M3 = 0.158987294928;
const FT3_M3 = 0.028316846592;
const PSI_PA = 6894.757293168;
const KGF_CM2_PA = 98066.5;
const SECONDS_PER_DAY = 86_400;

/**
 * Units accepted per quantity, as sizes in one base unit per quantity: Pa for pressure, degC for
 * temperature, m3/d for oil, gas and water rates, m3/h for liquid flow, % for ratio, h for duration.
 */
const UNITS: Record<Quantity, Record<string, UnitDefinition>> = {
    pressure: {
        Pa: { scale: 1 },
        kPa: { scale: 1e3 },
        MPa: { scale: 1e6 },
        bar: { scale: 1e5 },
        psi: { scale: PSI_PA },
        'kgf/cm2': { scale: KGF_CM2_PA },
    },
    temperature: {
        degC: { scale: 1 },
        degF: { toBase: (f) => ((f - 32) * 5) / 9 },
        K: { toBase: (k) => k - 273.15 },
    },
    oil_rate: {
        bopd: { scale: BBL_M3 },
        'bbl/d': { scale: BBL_M3 },
        'Sm3/d': { scale: 1 },
        'm3/d': { scale: 1 },
    },
    gas_rate: {
        mmscfd: { scale: 1e6 * FT3_M3 },
        'Mscf/d': { scale: 1e3 * FT3_M3 },
        'scf/d': { scale: FT3_M3 },
        'Sm3/d': { scale: 1 },
        'Sm3/h': { scale: 24 },
        'Sm3/s': { scale: SECONDS_PER_DAY },
    },
    water_rate: {
        bwpd: { scale: BBL_M3 },
        'bbl/d': { scale: BBL_M3 },
        'Sm3/d': { scale: 1 },
        'm3/d': { scale: 1 },
    },
    liquid_flow: {
        bph: { scale: BBL_M3 },
        'bbl/h': { scale: BBL_M3 },
        'm3/h': { scale: 1 },
    },
    ratio: {
        '%': { scale: 1 },
        fraction: { scale: 100 },
    },
    duration: {
        h: { scale: 1 },
        min: { scale: 1 / 60 },
        s: { scale: 1 / 3600 },
    },
};

/**
 * Other spellings of accepted units. Superscript digits are replaced before this lookup, so
 * `m³/d` and `kgf/cm²` need no entry.
 */
const UNIT_ALIASES: Readonly<Record<string, string>> = {
    '°C': 'degC',
    'ºC': 'degC',
    C: 'degC',
    '°F': 'degF',
    'ºF': 'degF',
    F: 'degF',
    'sm3/d': 'Sm3/d',
    'sm3/h': 'Sm3/h',
    'sm3/s': 'Sm3/s',
    MMscfd: 'mmscfd',
    'MMscf/d': 'mmscfd',
    'mmscf/d': 'mmscfd',
    Mscfd: 'Mscf/d',
    scfd: 'scf/d',
    'stb/d': 'bbl/d',
    'STB/d': 'bbl/d',
    hr: 'h',
};

const GAUGE_OR_ABSOLUTE = /^(psi|bar|kPa|MPa)[ga]$/;

const QUANTITY_WORDS: Record<Quantity, string> = {
    oil_rate: 'an oil rate',
    gas_rate: 'a gas rate',
    water_rate: 'a water rate',
    pressure: 'a pressure',
    temperature: 'a temperature',
    liquid_flow: 'a liquid flow',
    ratio: 'a ratio',
    duration: 'a duration',
};

/** Returns the accepted spelling of a unit: trimmed, superscripts replaced, aliases resolved. */
export function normalizeUnitSpelling(unit: string): string {
    const trimmed = unit.trim().replace(/³/g, '3').replace(/²/g, '2');
    return Object.hasOwn(UNIT_ALIASES, trimmed) ? UNIT_ALIASES[trimmed] : trimmed;
}

/** Returns the units accepted for a quantity, canonical unit first. */
export function acceptedUnits(quantity: Quantity): string[] {
    const canonical = CANONICAL_UNITS[quantity];
    return [canonical, ...Object.keys(UNITS[quantity]).filter((unit) => unit !== canonical)];
}

/** Looks a unit up in one quantity's table. Only own keys count, so `constructor` is not a unit. */
function findUnit(quantity: Quantity, unit: string): UnitDefinition | undefined {
    return Object.hasOwn(UNITS[quantity], unit) ? UNITS[quantity][unit] : undefined;
}

/** Returns the quantities that accept a unit spelling, or an empty array for an unknown unit. */
function quantitiesOf(unit: string): Quantity[] {
    return (Object.keys(UNITS) as Quantity[]).filter((quantity) => findUnit(quantity, unit) !== undefined);
}

function toBase(definition: UnitDefinition, value: number): number {
    return 'scale' in definition ? value * definition.scale : definition.toBase(value);
}

/** Converts a value from the quantity's base unit to the canonical unit. */
function fromBaseToCanonical(quantity: Quantity, value: number): number {
    const canonical = UNITS[quantity][CANONICAL_UNITS[quantity]];
    if ('scale' in canonical) return value / canonical.scale;
    // Every canonical unit is scale-based (degC is the temperature base), so this is unreachable.
    throw new Error(`Canonical unit of ${quantity} has no scale`);
}

/**
 * Removes floating-point noise from a converted value by rounding to 12 significant digits.
 * The relative change is at most 5e-12, far below any meter's accuracy, and a volume of
 * 1e9 bbl keeps a resolution of 0.001 bbl. Values already in the canonical unit are never rounded.
 */
export function removeRoundingNoise(value: number): number {
    if (value === 0 || !Number.isFinite(value)) return value;
    return Number(value.toPrecision(12));
}

/** A resolved conversion from one source unit to the canonical unit of a metric. */
export interface UnitConversion {
    metric: string;
    quantity: Quantity;
    /** The source unit in its accepted spelling. */
    sourceUnit: string;
    canonicalUnit: string;
    /** Converts a value in the source unit to the canonical unit. */
    convert(value: number): number;
}

/**
 * Returns the conversion of `unit` to the canonical unit of `metric`.
 * Throws a ValidationError with code `unknown_metric` for a metric outside the catalogue,
 * `unknown_unit` for a unit the platform does not know, and `wrong_unit` for a unit of another
 * quantity (for example `degC` for `pressure_downhole`). Its message names the metric, the unit
 * given and the units accepted for the metric.
 */
export function resolveConversion(metric: string, unit: string): UnitConversion {
    const definition = METRICS.get(metric);
    if (!definition) {
        const message = `Metric '${metric}' is not in the metric catalogue.`;
        throw new ValidationError('unknown_metric', message, { field: 'metric', value: metric });
    }
    const quantity = definition.quantity;
    const spelling = normalizeUnitSpelling(unit);
    const canonicalUnit = CANONICAL_UNITS[quantity];
    const unitDefinition = findUnit(quantity, spelling);

    if (!unitDefinition) throw unitError(metric, quantity, unit, spelling);

    if (spelling === canonicalUnit) {
        return { metric, quantity, sourceUnit: spelling, canonicalUnit, convert: (value) => value };
    }
    return {
        metric,
        quantity,
        sourceUnit: spelling,
        canonicalUnit,
        convert: (value) => removeRoundingNoise(fromBaseToCanonical(quantity, toBase(unitDefinition, value))),
    };
}

/** Converts `value` given in `unit` to the canonical unit of `metric`. Throws as resolveConversion does. */
export function toCanonical(metric: string, value: number, unit: string): { value: number; unit: string } {
    const conversion = resolveConversion(metric, unit);
    return { value: conversion.convert(value), unit: conversion.canonicalUnit };
}

function unitError(metric: string, quantity: Quantity, given: string, spelling: string): ValidationError {
    const accepted = acceptedUnits(quantity).join(', ');
    const label = `Metric '${metric}' is ${QUANTITY_WORDS[quantity]} in ${CANONICAL_UNITS[quantity]}`;
    const otherQuantities = quantitiesOf(spelling);

    if (otherQuantities.length > 0) {
        const kinds = otherQuantities.map((q) => QUANTITY_WORDS[q]).join(' or ');
        return new ValidationError(
            'wrong_unit',
            `${label}, but unit '${given}' is ${kinds} unit. Send the value in one of: ${accepted}, or correct the metric name.`,
            { field: 'unit', value: given, badge: 'wrong unit' },
        );
    }
    if (GAUGE_OR_ABSOLUTE.test(spelling)) {
        return new ValidationError(
            'unknown_unit',
            `${label}, and unit '${given}' states a gauge or absolute reference that the platform does not convert, ` +
                `because psi is stored without a reference. Send the value in one of: ${accepted}, using the ` +
                `reference that the other sources of this metric use.`,
            { field: 'unit', value: given, badge: 'unknown unit' },
        );
    }
    return new ValidationError(
        'unknown_unit',
        `${label}, but unit '${given}' is not a known unit. Send the value in one of: ${accepted}.`,
        { field: 'unit', value: given, badge: 'unknown unit' },
    );
}
