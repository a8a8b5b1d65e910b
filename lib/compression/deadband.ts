// Exception (deadband) filter of one numeric series: a point passes when it differs from the last
// passed point by more than the deadband.
import type { SeriesPoint } from './swinging-door';

export interface DeadbandOptions {
    /** Deadband, in the series' unit; 0 passes every change of value. */
    deadband: number;
    /**
     * Whether an exception also passes the last point suppressed before it, as historian
     * interfaces report exceptions. With it, linear interpolation between passed points stays
     * within twice the deadband of every point. Without it, only a step (hold last value)
     * reconstruction is bounded, by the deadband. Default true.
     */
    passPrevious?: boolean;
}

/** Deadband filter for one series. */
export class DeadbandFilter<P extends SeriesPoint = SeriesPoint> {
    readonly deadband: number;
    private readonly passPrevious: boolean;
    /** Last passed point: the reference of the deadband. */
    private reference: P | undefined;
    /** Last point suppressed since the reference. */
    private held: P | undefined;

    constructor(options: DeadbandOptions) {
        if (!(options.deadband >= 0) || !Number.isFinite(options.deadband)) {
            throw new RangeError(`The deadband ${options.deadband} is invalid; use a finite number of 0 or more.`);
        }
        this.deadband = options.deadband;
        this.passPrevious = options.passPrevious ?? true;
    }

    /** Adds the next point, later than all earlier ones, and returns the points that pass, in time order. */
    add(point: P): P[] {
        if (this.reference === undefined || Math.abs(point.v - this.reference.v) > this.deadband) {
            const passed = this.passPrevious && this.held !== undefined ? [this.held, point] : [point];
            this.reference = point;
            this.held = undefined;
            return passed;
        }
        this.held = point;
        return [];
    }

    /** Passes the last suppressed point, if any, so that the output reaches the last point received. */
    flush(): P[] {
        if (this.held === undefined) return [];
        const passed = this.held;
        this.reference = passed;
        this.held = undefined;
        return [passed];
    }

    /** Forgets the series. */
    reset(): void {
        this.reference = undefined;
        this.held = undefined;
    }
}
