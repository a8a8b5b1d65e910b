// Lower bounds for the noise scale of a metric. Many sensors in the field report flat or
// step-wise values (historian compression, frozen transmitters), so a measured spread of 0 would
// turn the smallest change into an infinite score. The floor is the larger of an absolute amount
// per quantity and a fraction of the signal level.
import { METRICS, type Quantity } from '../metrics';

/** Absolute floor per quantity, in the canonical unit (psi, degC, mmscfd, ...). */
export const ABSOLUTE_SCALE_FLOOR: Record<Quantity, number> = {
    pressure: 0.5,
    temperature: 0.05,
    gas_rate: 0.01,
    oil_rate: 1,
    water_rate: 1,
    liquid_flow: 0.1,
    ratio: 0.1,
    duration: 0.01,
};

/** Relative floor: fraction of |level|. */
export const RELATIVE_SCALE_FLOOR = 0.001;

export interface ScaleFloor {
    absolute?: Partial<Record<Quantity, number>>;
    relative?: number;
}

/** Returns the floor of the noise scale of `metric` around `level`. Unknown metrics get only the relative floor. */
export function scaleFloor(metric: string, level: number, floor: ScaleFloor = {}): number {
    const quantity = METRICS.get(metric)?.quantity;
    const absolute = quantity ? (floor.absolute?.[quantity] ?? ABSOLUTE_SCALE_FLOOR[quantity]) : 0;
    const relative = floor.relative ?? RELATIVE_SCALE_FLOOR;
    return Math.max(absolute, relative * Math.abs(level), Number.MIN_VALUE);
}
