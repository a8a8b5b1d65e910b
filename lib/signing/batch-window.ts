// Collects readings of several messages into one batch, so the edge signs and the cloud verifies
// one envelope for many assets. A batch closes when it contains `maxReadings` readings or `windowMs`
// after its first message, whichever comes first.
import type { Reading } from '../types';

/** Called once per message of a closed batch: without an error once the batch was sent. */
export type Settle = (err?: Error) => void;

export interface BatchWindowOptions {
    /** Maximum time a reading waits for its batch to close, in milliseconds. */
    windowMs: number;
    /** Maximum readings in one batch; a message with more than this goes out alone. */
    maxReadings: number;
    /**
     * Receives a closed batch. It returns normally when the batch was sent and throws when it
     * could not be; the messages of the batch are settled with that error.
     */
    send(readings: Reading[]): void;
}

export class BatchWindow {
    private readings: Reading[] = [];
    private settles: Settle[] = [];
    private timer: NodeJS.Timeout | undefined;

    constructor(private readonly options: BatchWindowOptions) {}

    /** Readings waiting for their batch to close. */
    get pending(): number {
        return this.readings.length;
    }

    /** Adds the readings of one message; `settle` is called when their batch was sent or failed. */
    add(readings: Reading[], settle: Settle): void {
        if (this.readings.length > 0 && this.readings.length + readings.length > this.options.maxReadings) this.flush();
        for (const reading of readings) this.readings.push(reading);
        this.settles.push(settle);
        if (this.readings.length >= this.options.maxReadings) {
            this.flush();
            return;
        }
        if (this.timer === undefined) {
            this.timer = setTimeout(() => this.flush(), this.options.windowMs);
            this.timer.unref?.();
        }
    }

    /** Closes the current batch now, unless it is empty. */
    flush(): void {
        if (this.timer !== undefined) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
        if (this.readings.length === 0) return;
        const readings = this.readings;
        const settles = this.settles;
        this.readings = [];
        this.settles = [];
        let failure: Error | undefined;
        try {
            this.options.send(readings);
        } catch (err) {
            failure = err instanceof Error ? err : new Error(String(err));
        }
        for (const settle of settles) settle(failure);
    }
}
