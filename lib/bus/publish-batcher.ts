// Collects publishes into batches, because awaiting one broker round trip per message caps the
// rate at one message per round trip. A publish waits up to `lingerMs` for others to
// join its batch, and one batch is in flight at a time, so batches grow by themselves while the
// broker is slow and the publish order of each key is kept.

export interface OutgoingMessage {
    key: string;
    value: string;
    /** Record headers; the bus marks text values with TEXT_HEADERS. */
    headers?: Record<string, string>;
}

/** Messages of one batch by topic, in publish order. */
export type TopicBatch = Map<string, OutgoingMessage[]>;

export interface PublishBatcherOptions {
    /** Sends one batch; resolves once the broker has stored every message of it. */
    send: (batch: TopicBatch) => Promise<void>;
    /** Time a publish waits for others to join its batch, in milliseconds; default 5. */
    lingerMs?: number;
    /** Maximum messages per batch; default 5,000. */
    maxBatchMessages?: number;
}

interface Queued extends OutgoingMessage {
    topic: string;
    resolve: () => void;
    reject: (error: Error) => void;
}

export class PublishBatcher {
    private readonly send: PublishBatcherOptions['send'];
    private readonly lingerMs: number;
    private readonly maxBatchMessages: number;
    private queue: Queued[] = [];
    private timer: NodeJS.Timeout | undefined;
    private inFlight: Promise<void> | undefined;
    private sending = 0;

    constructor(options: PublishBatcherOptions) {
        this.send = options.send;
        this.lingerMs = options.lingerMs ?? 5;
        this.maxBatchMessages = options.maxBatchMessages ?? 5_000;
    }

    /** Messages waiting for a batch, plus those in the batch being sent. */
    get queued(): number {
        return this.queue.length + this.sending;
    }

    publish(topic: string, key: string, value: string, headers?: Record<string, string>): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            this.queue.push({ topic, key, value, headers, resolve, reject });
            if (this.queue.length >= this.maxBatchMessages) this.sendNext();
            else if (!this.timer) this.timer = setTimeout(() => this.sendNext(), this.lingerMs);
        });
    }

    /** Sends everything queued now; resolves when the queue is empty, whether the sends succeeded or not. */
    async flush(): Promise<void> {
        while (this.queue.length > 0 || this.inFlight) {
            this.sendNext();
            await this.inFlight;
        }
    }

    private sendNext(): void {
        if (this.timer) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
        if (this.inFlight || this.queue.length === 0) return;

        const batchItems = this.queue.splice(0, this.maxBatchMessages);
        this.sending = batchItems.length;
        const batch: TopicBatch = new Map();
        for (const item of batchItems) {
            let messages = batch.get(item.topic);
            if (!messages) {
                messages = [];
                batch.set(item.topic, messages);
            }
            messages.push(item.headers ? { key: item.key, value: item.value, headers: item.headers } : { key: item.key, value: item.value });
        }

        this.inFlight = this.send(batch).then(
            () => {
                for (const item of batchItems) item.resolve();
            },
            (error: unknown) => {
                const failure = error instanceof Error ? error : new Error(String(error));
                for (const item of batchItems) item.reject(failure);
            },
        ).finally(() => {
            this.inFlight = undefined;
            this.sending = 0;
            // Publishes that arrived during the send have waited long enough already.
            if (this.queue.length > 0) this.sendNext();
        });
    }
}
