// Disk-backed FIFO queue for store and forward at the edge: records are appended to segment files
// and removed once acknowledged, so that they survive a crash or a power cut and leave in order.
//
// Layout of the queue folder:
//   <first seq, 16 digits>.seg   append-only segment files of records
//   cursor.json                  { "acked": n }: every record up to sequence number n is acknowledged
//
// Record layout (big-endian): payload length u32, CRC-32 u32 of the rest, sequence number f64,
// enqueue time f64 (epoch ms), then the payload as UTF-8 JSON. Sequence numbers increase by one
// from record to record across segments. A torn record at the end of a segment (a write cut by a
// crash) fails its length or CRC check and is cut off when the queue opens.
import {
    closeSync,
    existsSync,
    fsync,
    fsyncSync,
    ftruncateSync,
    mkdirSync,
    openSync,
    readdirSync,
    readFileSync,
    readSync,
    renameSync,
    statSync,
    unlinkSync,
    writeFileSync,
    writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

import { ConfigError, ServiceError, ValidationError } from '../errors';

const HEADER_BYTES = 24;
const SEGMENT_SUFFIX = '.seg';
const CURSOR_FILE = 'cursor.json';

/** Behaviour of an append when the disk budget is used up. */
export type WhenFull = 'block' | 'drop-oldest';

export interface ForwardQueueOptions {
    /** Folder of the queue; created when missing. One queue instance per folder at a time. */
    folder: string;
    /** Disk budget for segment files, in bytes. */
    maxBytes: number;
    /** `block` rejects appends while the budget is used up; `drop-oldest` deletes the oldest segments. */
    whenFull: WhenFull;
    /**
     * Interval of flushing written records to disk (fsync), in milliseconds. 0 flushes each append
     * before its promise resolves. A positive interval resolves appends at once and flushes at most
     * that often, so a power cut can lose the last interval, but a process crash loses nothing. Default 0.
     */
    fsyncIntervalMs?: number;
    /** Size at which a new segment file starts, in bytes. Default the smaller of 4 MiB and maxBytes / 8. */
    segmentBytes?: number;
    /** Clock for enqueue times, in epoch milliseconds. Default Date.now. */
    now?: () => number;
}

/** One queued record. */
export interface QueueRecord {
    seq: number;
    /** Time of the append, epoch milliseconds. */
    enqueuedAt: number;
    payload: unknown;
}

export interface QueueStats {
    /** Records appended and not yet acknowledged. */
    depth: number;
    /** Size of the segment files, in bytes. */
    bytes: number;
    /** Enqueue time of the oldest record not yet acknowledged, epoch milliseconds. */
    oldestEnqueuedAt?: number;
    /** Records deleted unacknowledged by `drop-oldest` since the queue opened. */
    dropped: number;
    /** Records rejected by `block` since the queue opened. */
    blocked: number;
    /** Bytes of torn or corrupt records cut off when the queue opened. */
    truncatedBytes: number;
}

/** An append that does not fit the disk budget while the queue blocks. Retrying after acknowledgements can succeed. */
export class QueueFullError extends ServiceError {}

interface Segment {
    firstSeq: number;
    /** Sequence number of the last record, or firstSeq - 1 for an empty segment. */
    lastSeq: number;
    path: string;
    bytes: number;
}

/** Position of the first unacknowledged record. */
interface Head {
    segment: Segment;
    offset: number;
    seq: number;
}

function segmentName(firstSeq: number): string {
    return `${String(firstSeq).padStart(16, '0')}${SEGMENT_SUFFIX}`;
}

/** Serializes a payload; the record header is added by frameRecord once the sequence number is known. */
function encodePayload(payload: unknown): Buffer {
    const json = JSON.stringify(payload);
    if (json === undefined) throw new ValidationError('invalid_payload', 'The record payload cannot be written as JSON; send an object, array, text or number.');
    return Buffer.from(json, 'utf8');
}

function frameRecord(seq: number, enqueuedAt: number, body: Buffer): Buffer {
    const record = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    record.writeUInt32BE(body.length, 0);
    record.writeDoubleBE(seq, 8);
    record.writeDoubleBE(enqueuedAt, 16);
    body.copy(record, HEADER_BYTES);
    record.writeUInt32BE(crc32(record.subarray(8)), 4);
    return record;
}

/** Reads the header at `offset`; undefined when the file ends within it. */
function readHeader(fd: number, offset: number, fileBytes: number): { length: number; crc: number; seq: number; enqueuedAt: number } | undefined {
    if (offset + HEADER_BYTES > fileBytes) return undefined;
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    readSync(fd, header, 0, HEADER_BYTES, offset);
    return { length: header.readUInt32BE(0), crc: header.readUInt32BE(4), seq: header.readDoubleBE(8), enqueuedAt: header.readDoubleBE(16) };
}

/** Reads and checks the whole record at `offset`; undefined when it is torn or corrupt. */
function readRecord(fd: number, offset: number, fileBytes: number): { record: QueueRecord; bytes: number } | undefined {
    const header = readHeader(fd, offset, fileBytes);
    if (!header || offset + HEADER_BYTES + header.length > fileBytes) return undefined;
    const buffer = Buffer.allocUnsafe(HEADER_BYTES + header.length);
    readSync(fd, buffer, 0, buffer.length, offset);
    if (crc32(buffer.subarray(8)) !== header.crc) return undefined;
    let payload: unknown;
    try {
        payload = JSON.parse(buffer.subarray(HEADER_BYTES).toString('utf8'));
    } catch {
        return undefined;
    }
    return { record: { seq: header.seq, enqueuedAt: header.enqueuedAt, payload }, bytes: buffer.length };
}

/** A disk-backed FIFO queue. All file work is synchronous except the fsync after appends. */
export class ForwardQueue {
    private readonly folder: string;
    private readonly maxBytes: number;
    private readonly whenFull: WhenFull;
    private readonly fsyncIntervalMs: number;
    private readonly segmentBytes: number;
    private readonly now: () => number;
    private segments: Segment[] = [];
    private acked = 0;
    private head: Head | undefined;
    private headRecord: QueueRecord | undefined;
    private writeFd: number | undefined;
    private readFd: { segment: Segment; fd: number } | undefined;
    private dropped = 0;
    private blocked = 0;
    private truncatedBytes = 0;
    private closed = false;
    /** fsync in progress, and whether another is needed for writes made during it. */
    private syncing: Promise<void> | undefined;
    private syncAgain: Promise<void> | undefined;
    private syncTimer: NodeJS.Timeout | undefined;

    private constructor(options: ForwardQueueOptions) {
        this.folder = options.folder;
        this.maxBytes = options.maxBytes;
        this.whenFull = options.whenFull;
        this.fsyncIntervalMs = options.fsyncIntervalMs ?? 0;
        this.segmentBytes = options.segmentBytes ?? Math.max(64 * 1024, Math.min(4 * 1024 * 1024, Math.floor(options.maxBytes / 8)));
        this.now = options.now ?? Date.now;
    }

    /** Opens the queue in its folder, recovering from a crash: cuts torn records and deletes acknowledged segments. */
    static open(options: ForwardQueueOptions): ForwardQueue {
        if (!(options.maxBytes > 0)) throw new ConfigError(`The queue disk budget is ${options.maxBytes} bytes; use a positive size.`);
        if (options.whenFull !== 'block' && options.whenFull !== 'drop-oldest') {
            throw new ConfigError(`The queue full behaviour "${String(options.whenFull)}" is unknown; use block or drop-oldest.`);
        }
        if (options.fsyncIntervalMs !== undefined && !(options.fsyncIntervalMs >= 0)) {
            throw new ConfigError(`The fsync interval is ${options.fsyncIntervalMs} ms; use 0 (every append) or a positive interval.`);
        }
        const queue = new ForwardQueue(options);
        queue.recover();
        return queue;
    }

    /** Folder of the queue. */
    get path(): string {
        return this.folder;
    }

    /**
     * Appends payloads as one batch and resolves with their records once they are written (and
     * flushed, with an fsync interval of 0). Throws QueueFullError when the batch does not fit the
     * budget and the queue blocks; with `drop-oldest` the oldest segments are deleted to make room.
     */
    async append(payloads: unknown[]): Promise<QueueRecord[]> {
        this.checkOpen();
        const enqueuedAt = this.now();
        const bodies = payloads.map((payload) => encodePayload(payload));
        const needed = bodies.reduce((sum, body) => sum + HEADER_BYTES + body.length, 0);
        if (needed > this.maxBytes) {
            throw new ValidationError('batch_too_large', `The batch needs ${needed} bytes, more than the queue's whole disk budget of ${this.maxBytes} bytes; send smaller messages or raise the budget.`);
        }
        this.makeRoom(needed, payloads.length);

        const records: QueueRecord[] = [];
        let seq = this.lastSeq() + 1;
        for (let index = 0; index < bodies.length; index++) {
            const buffer = frameRecord(seq, enqueuedAt, bodies[index]);
            let segment = this.segments[this.segments.length - 1];
            if (!segment || (segment.bytes > 0 && segment.bytes + buffer.length > this.segmentBytes)) segment = this.startSegment(seq);
            writeSync(this.writeFd as number, buffer);
            segment.bytes += buffer.length;
            segment.lastSeq = seq;
            records.push({ seq, enqueuedAt, payload: payloads[index] });
            seq++;
        }
        if (!this.head) this.locateHead();

        if (this.fsyncIntervalMs === 0) await this.sync();
        else this.scheduleSync();
        return records;
    }

    /** Returns the oldest record not yet acknowledged, or undefined when the queue is empty. */
    peek(): QueueRecord | undefined {
        this.checkOpen();
        if (!this.head) return undefined;
        if (this.headRecord?.seq === this.head.seq) return this.headRecord;
        const fd = this.readFdOf(this.head.segment);
        const read = readRecord(fd, this.head.offset, this.head.segment.bytes);
        if (!read || read.record.seq !== this.head.seq) {
            throw new ServiceError(`Queue segment ${this.head.segment.path} has no valid record ${this.head.seq} at byte ${this.head.offset}; the file was changed outside the queue.`);
        }
        this.headRecord = read.record;
        return read.record;
    }

    /**
     * Acknowledges every record up to and including `seq` and stores the cursor before returning,
     * so that an acknowledged record is not delivered again after a process crash. Sequence
     * numbers already acknowledged or dropped are ignored.
     * NOTE: the cursor file is renamed into place without fsync, so after a power cut the last
     * acknowledgements can be lost and those records delivered again (at least once still holds).
     */
    ack(seq: number): void {
        this.checkOpen();
        if (seq <= this.acked) return;
        if (seq > this.lastSeq()) throw new RangeError(`Sequence number ${seq} is beyond the last record ${this.lastSeq()} of the queue.`);
        this.acked = seq;
        this.writeCursor();
        this.locateHead();
        this.deleteAcknowledgedSegments();
    }

    /** Returns depth, size and counters. A damaged head record leaves the age out instead of throwing, so status timers can call it. */
    stats(): QueueStats {
        const bytes = this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
        const stats: QueueStats = { depth: this.lastSeq() - this.acked, bytes, dropped: this.dropped, blocked: this.blocked, truncatedBytes: this.truncatedBytes };
        if (!this.closed && this.head) {
            try {
                stats.oldestEnqueuedAt = this.peek()?.enqueuedAt;
            } catch {
                // A damaged head record is reported by peek() to the reader; the figures stay usable.
            }
        }
        return stats;
    }

    /** Flushes and closes the files. The queue cannot be used afterwards; open the folder again. */
    async close(): Promise<void> {
        if (this.closed) return;
        if (this.syncTimer) clearTimeout(this.syncTimer);
        await (this.syncAgain ?? this.syncing);
        this.closed = true;
        if (this.writeFd !== undefined) {
            fsyncSync(this.writeFd);
            closeSync(this.writeFd);
            this.writeFd = undefined;
        }
        this.closeReadFd();
    }

    private checkOpen(): void {
        if (this.closed) throw new ServiceError(`The queue in ${this.folder} is closed; open it again.`);
    }

    private lastSeq(): number {
        const last = this.segments[this.segments.length - 1];
        return last ? Math.max(last.lastSeq, this.acked) : this.acked;
    }

    private recover(): void {
        mkdirSync(this.folder, { recursive: true });
        this.acked = this.readCursor();
        const names = readdirSync(this.folder)
            .filter((name) => /^\d{16}\.seg$/.test(name))
            .sort();
        for (const name of names) {
            const path = join(this.folder, name);
            const segment: Segment = { firstSeq: Number(name.slice(0, 16)), lastSeq: 0, path, bytes: 0 };
            segment.lastSeq = segment.firstSeq - 1;
            this.scanSegment(segment);
            if (segment.lastSeq < segment.firstSeq || segment.lastSeq <= this.acked) {
                unlinkSync(path);
                continue;
            }
            this.segments.push(segment);
        }
        this.locateHead();
    }

    /** Reads every record of a segment, cutting the file at the first torn or corrupt one. */
    private scanSegment(segment: Segment): void {
        const fd = openSync(segment.path, 'r+');
        try {
            const fileBytes = statSync(segment.path).size;
            let offset = 0;
            let expected = segment.firstSeq;
            while (offset < fileBytes) {
                const read = readRecord(fd, offset, fileBytes);
                if (!read || read.record.seq !== expected) break;
                offset += read.bytes;
                segment.lastSeq = expected;
                expected++;
            }
            if (offset < fileBytes) {
                ftruncateSync(fd, offset);
                fsyncSync(fd);
                this.truncatedBytes += fileBytes - offset;
            }
            segment.bytes = offset;
        } finally {
            closeSync(fd);
        }
    }

    private readCursor(): number {
        const path = join(this.folder, CURSOR_FILE);
        if (!existsSync(path)) return 0;
        let acked: unknown;
        try {
            acked = (JSON.parse(readFileSync(path, 'utf8')) as { acked?: unknown }).acked;
        } catch (err) {
            throw new ServiceError(`The queue cursor ${path} is not valid JSON; restore it or delete the queue folder to start empty.`, { cause: err });
        }
        if (typeof acked !== 'number' || !Number.isInteger(acked) || acked < 0) {
            throw new ServiceError(`The queue cursor ${path} has no valid "acked" number; restore it or delete the queue folder to start empty.`);
        }
        return acked;
    }

    /** Writes the cursor to a temporary file and renames it, so that a crash leaves the old or the new cursor. */
    private writeCursor(): void {
        const path = join(this.folder, CURSOR_FILE);
        const temporary = `${path}.tmp`;
        writeFileSync(temporary, JSON.stringify({ acked: this.acked }));
        renameSync(temporary, path);
    }

    /** Finds the first record after the cursor, walking record headers from the previous head when it can. */
    private locateHead(): void {
        const target = this.acked + 1;
        const previous = this.head && this.head.seq <= target && this.segments.includes(this.head.segment) ? this.head : undefined;
        this.head = undefined;
        for (const segment of this.segments) {
            if (segment.lastSeq < target) continue;
            let offset = 0;
            let seq = segment.firstSeq;
            if (previous?.segment === segment) ({ offset, seq } = previous);
            const fd = this.readFdOf(segment);
            while (seq < target) {
                const header = readHeader(fd, offset, segment.bytes);
                if (!header) throw new ServiceError(`Queue segment ${segment.path} ends before record ${seq}; the file was changed outside the queue.`);
                offset += HEADER_BYTES + header.length;
                seq++;
            }
            this.head = { segment, offset, seq };
            return;
        }
    }

    private readFdOf(segment: Segment): number {
        if (this.readFd?.segment === segment) return this.readFd.fd;
        this.closeReadFd();
        this.readFd = { segment, fd: openSync(segment.path, 'r') };
        return this.readFd.fd;
    }

    private closeReadFd(): void {
        if (!this.readFd) return;
        closeSync(this.readFd.fd);
        this.readFd = undefined;
    }

    private startSegment(firstSeq: number): Segment {
        if (this.writeFd !== undefined) {
            fsyncSync(this.writeFd);
            closeSync(this.writeFd);
        }
        const segment: Segment = { firstSeq, lastSeq: firstSeq - 1, path: join(this.folder, segmentName(firstSeq)), bytes: 0 };
        this.writeFd = openSync(segment.path, 'a');
        this.syncFolder();
        this.segments.push(segment);
        return segment;
    }

    /** fsyncs the folder, so that a new segment file's entry survives a power cut. */
    private syncFolder(): void {
        const fd = openSync(this.folder, 'r');
        try {
            fsyncSync(fd);
        } finally {
            closeSync(fd);
        }
    }

    /** Opens the last segment for appending, the first time after the queue opened. */
    private ensureWriter(): void {
        const last = this.segments[this.segments.length - 1];
        if (this.writeFd === undefined && last) this.writeFd = openSync(last.path, 'a');
    }

    private bytesUsed(): number {
        return this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
    }

    /** Frees disk for `needed` bytes: acknowledged segments first, then per the full behaviour. */
    private makeRoom(needed: number, count: number): void {
        this.ensureWriter();
        if (this.bytesUsed() + needed <= this.maxBytes) return;
        this.deleteAcknowledgedSegments(true);
        while (this.bytesUsed() + needed > this.maxBytes) {
            if (this.whenFull === 'block') {
                this.blocked += count;
                const stats = this.stats();
                throw new QueueFullError(
                    `The forward queue in ${this.folder} is full: ${stats.depth} records use ${stats.bytes} of ${this.maxBytes} bytes, ` +
                        `so ${count} new record(s) were not accepted; restore the link so that the queue drains, or raise the disk budget.`,
                    { retriable: true, badge: 'queue full', context: { folder: this.folder, depth: stats.depth } },
                );
            }
            this.dropOldestSegment();
        }
    }

    /** Deletes the oldest segment with its unacknowledged records and moves the cursor past them. */
    private dropOldestSegment(): void {
        const oldest = this.segments[0];
        this.dropped += oldest.lastSeq - Math.max(this.acked, oldest.firstSeq - 1);
        this.acked = Math.max(this.acked, oldest.lastSeq);
        this.writeCursor();
        this.removeSegment(oldest);
        this.locateHead();
    }

    /**
     * Deletes segments whose records are all acknowledged. The segment being written is kept unless
     * `includeActive` is set, in which case the next append starts a new one.
     */
    private deleteAcknowledgedSegments(includeActive = false): void {
        while (this.segments.length > 0 && this.segments[0].lastSeq <= this.acked) {
            const isActive = this.segments.length === 1;
            if (isActive && !includeActive) return;
            this.removeSegment(this.segments[0]);
        }
    }

    private removeSegment(segment: Segment): void {
        if (this.readFd?.segment === segment) this.closeReadFd();
        if (segment === this.segments[this.segments.length - 1] && this.writeFd !== undefined) {
            closeSync(this.writeFd);
            this.writeFd = undefined;
        }
        unlinkSync(segment.path);
        this.segments = this.segments.filter((entry) => entry !== segment);
    }

    /** fsyncs the segment being written; appends made during a running fsync share the next one. */
    private sync(): Promise<void> {
        if (!this.syncing) {
            this.syncing = this.fsyncWriter().finally(() => {
                this.syncing = undefined;
            });
            return this.syncing;
        }
        if (!this.syncAgain) {
            this.syncAgain = this.syncing.then(() => {
                this.syncAgain = undefined;
                return this.sync();
            });
        }
        return this.syncAgain;
    }

    private fsyncWriter(): Promise<void> {
        const fd = this.writeFd;
        if (fd === undefined) return Promise.resolve();
        return new Promise((resolve, reject) => {
            fsync(fd, (err) => {
                // The segment may have been closed by a rollover meanwhile; closing it fsynced it.
                if (err && err.code !== 'EBADF') reject(new ServiceError(`fsync of the forward queue in ${this.folder} failed: ${err.message}`, { cause: err }));
                else resolve();
            });
        });
    }

    private scheduleSync(): void {
        if (this.syncTimer) return;
        this.syncTimer = setTimeout(() => {
            this.syncTimer = undefined;
            // A failed interval flush is retried with the next append; the records are still written.
            this.sync().catch(() => undefined);
        }, this.fsyncIntervalMs);
    }
}
