// Swinging-door compression of one numeric series, as process historians archive data.
//
// A segment starts at the last archived point A. Every point received after A narrows a "door":
// the range of slopes from A for which a straight line passes within `deviation` of that point.
// A point C may end the segment only when the slope of the line A→C lies inside the door of every
// point strictly between A and C. When C does not fit, the previous point, which did fit, is
// archived and starts the next segment.
//
// NOTE: the textbook algorithm only checks that the door is still open (some line fits), and then
// archives the previous point, whose own line may miss earlier points by up to twice the
// deviation. Checking the line to the candidate end point, as done here, keeps every original
// point within `deviation` of the linear interpolation between archived points.

/** One sample: time in milliseconds and value. Compressors return the objects they were given. */
export interface SeriesPoint {
    t: number;
    v: number;
}

/** Swinging-door compressor for one series with a fixed maximum deviation. */
export class SwingingDoor<P extends SeriesPoint = SeriesPoint> {
    /** Last archived point: the start of the current segment. */
    private anchor: P | undefined;
    /** Last point received and not archived: the end of the current segment so far. */
    private snapshot: P | undefined;
    /** Door of the points strictly between anchor and snapshot, as slopes per millisecond. */
    private lowerSlope = Number.NEGATIVE_INFINITY;
    private upperSlope = Number.POSITIVE_INFINITY;

    /** @param deviation maximum absolute error of the reconstruction, in the series' unit; 0 or more */
    /**
     * Deviation used in the checks, a billionth narrower than the configured one. The margin absorbs
     * the rounding of slopes and of the interpolation that reads the archive back.
     */
    private readonly width: number;

    constructor(readonly deviation: number) {
        if (!(deviation >= 0) || !Number.isFinite(deviation)) {
            throw new RangeError(`The swinging-door deviation ${deviation} is invalid; use a finite number of 0 or more.`);
        }
        this.width = deviation * (1 - 1e-9);
    }

    /** Time of the last archived point, or undefined before the first. */
    get lastArchivedTime(): number | undefined {
        return this.anchor?.t;
    }

    /** The point received last and not yet archived, if any. */
    get pending(): P | undefined {
        return this.snapshot;
    }

    /**
     * Adds the next point of the series, whose time must be later than every earlier point, and
     * returns the points archived by it: none, the previous point, or (for the first point) the
     * point itself.
     */
    add(point: P): P[] {
        if (this.anchor === undefined) {
            this.anchor = point;
            return [point];
        }
        if (this.snapshot === undefined) {
            this.snapshot = point;
            return [];
        }

        const slope = (point.v - this.anchor.v) / (point.t - this.anchor.t);
        if (this.fitsDoor(slope) && this.fitsPoint(this.snapshot, point)) {
            this.narrowDoor(this.snapshot);
            this.snapshot = point;
            return [];
        }

        // The segment cannot reach this point: archive the previous one, which can end it.
        const archived = this.snapshot;
        this.startSegment(archived);
        this.snapshot = point;
        return [archived];
    }

    /** Archives the pending point, if any, so that the archive reaches the last point received. */
    flush(): P[] {
        if (this.snapshot === undefined) return [];
        const archived = this.snapshot;
        this.startSegment(archived);
        return [archived];
    }

    /** Forgets the series, so that the next point is archived as a first point. */
    reset(): void {
        this.anchor = undefined;
        this.snapshot = undefined;
        this.lowerSlope = Number.NEGATIVE_INFINITY;
        this.upperSlope = Number.POSITIVE_INFINITY;
    }

    private startSegment(anchor: P): void {
        this.anchor = anchor;
        this.snapshot = undefined;
        this.lowerSlope = Number.NEGATIVE_INFINITY;
        this.upperSlope = Number.POSITIVE_INFINITY;
    }

    private fitsDoor(slope: number): boolean {
        return slope >= this.lowerSlope && slope <= this.upperSlope;
    }

    /**
     * Checks the new intermediate point directly against the line to the candidate end. The door
     * slopes carry rounding error, and this exact check keeps the guarantee for the newest point.
     */
    private fitsPoint(middle: SeriesPoint, end: SeriesPoint): boolean {
        const anchor = this.anchor as SeriesPoint;
        const fraction = (middle.t - anchor.t) / (end.t - anchor.t);
        const interpolated = anchor.v + (end.v - anchor.v) * fraction;
        return Math.abs(interpolated - middle.v) <= this.width;
    }

    private narrowDoor(point: SeriesPoint): void {
        const anchor = this.anchor as SeriesPoint;
        const dt = point.t - anchor.t;
        this.upperSlope = Math.min(this.upperSlope, (point.v + this.width - anchor.v) / dt);
        this.lowerSlope = Math.max(this.lowerSlope, (point.v - this.width - anchor.v) / dt);
    }
}
