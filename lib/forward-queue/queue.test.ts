import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';

import { ValidationError } from '../errors';
import { DATA_DIR } from '../paths';
import { readReplayFile } from '../replay/reader';
import { ForwardQueue, QueueFullError, type ForwardQueueOptions } from './queue';

const folders: string[] = [];
const open: ForwardQueue[] = [];

function tempFolder(): string {
    const folder = mkdtempSync(join(tmpdir(), 'ul-queue-'));
    folders.push(folder);
    return folder;
}

function openQueue(options: Partial<ForwardQueueOptions> & { folder: string }): ForwardQueue {
    const queue = ForwardQueue.open({ maxBytes: 10 * 1024 * 1024, whenFull: 'block', ...options });
    open.push(queue);
    return queue;
}

/** Takes every record from the queue in order, acknowledging each. */
function drain(queue: ForwardQueue): { seq: number; payload: unknown }[] {
    const records: { seq: number; payload: unknown }[] = [];
    for (let record = queue.peek(); record; record = queue.peek()) {
        records.push({ seq: record.seq, payload: record.payload });
        queue.ack(record.seq);
    }
    return records;
}

function segmentFiles(folder: string): string[] {
    return readdirSync(folder).filter((name) => name.endsWith('.seg'));
}

afterEach(async () => {
    for (const queue of open.splice(0)) await queue.close();
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('ForwardQueue order and acknowledgement', () => {
    it('should deliver records in order across segments', async () => {
        const queue = openQueue({ folder: tempFolder(), segmentBytes: 1024 });
        for (let i = 0; i < 50; i++) await queue.append([{ i, text: 'x'.repeat(100) }]);

        expect(queue.stats().depth).toBe(50);
        expect(segmentFiles(queue.path).length).toBeGreaterThan(3);
        const records = drain(queue);
        expect(records.map((r) => (r.payload as { i: number }).i)).toEqual([...Array(50).keys()]);
        expect(records.map((r) => r.seq)).toEqual([...Array(50).keys()].map((i) => i + 1));
        expect(queue.stats().depth).toBe(0);
        expect(segmentFiles(queue.path).length).toBe(1);
    });

    it('should return the same head until it is acknowledged', async () => {
        const queue = openQueue({ folder: tempFolder() });
        await queue.append(['a', 'b']);

        expect(queue.peek()?.payload).toBe('a');
        expect(queue.peek()?.payload).toBe('a');
        queue.ack(1);
        expect(queue.peek()?.payload).toBe('b');
        queue.ack(1);
        expect(queue.peek()?.payload).toBe('b');
    });

    it('should redeliver only unacknowledged records after reopening', async () => {
        const folder = tempFolder();
        const first = openQueue({ folder, segmentBytes: 512 });
        await first.append([...Array(20).keys()].map((i) => ({ i })));
        first.ack(7);
        await first.close();

        const second = openQueue({ folder, segmentBytes: 512 });
        expect(second.stats().depth).toBe(13);
        expect(drain(second).map((r) => r.seq)).toEqual([...Array(13).keys()].map((i) => i + 8));
        await second.append(['next']);
        expect(second.peek()?.seq).toBe(21);
    });

    it('should keep numbering after every segment was deleted', async () => {
        const folder = tempFolder();
        const first = openQueue({ folder });
        await first.append(['a', 'b', 'c']);
        first.ack(3);
        await first.close();

        const second = openQueue({ folder });
        const [record] = await second.append(['d']);
        expect(record.seq).toBe(4);
    });

    it('should reject an acknowledgement beyond the last record', async () => {
        const queue = openQueue({ folder: tempFolder() });
        await queue.append(['a']);

        expect(() => queue.ack(2)).toThrow(RangeError);
    });

    it('should flush on an interval without delaying appends', async () => {
        const folder = tempFolder();
        const first = openQueue({ folder, fsyncIntervalMs: 50 });
        await first.append(['a', 'b']);
        await first.close();

        expect(drain(openQueue({ folder })).map((r) => r.payload)).toEqual(['a', 'b']);
    });
});

describe('ForwardQueue crash recovery', () => {
    it('should cut a torn last record', async () => {
        const folder = tempFolder();
        const first = openQueue({ folder });
        await first.append(['a', 'b', 'c']);
        await first.close();
        const [segment] = segmentFiles(folder);
        const path = join(folder, segment);
        truncateSync(path, statSync(path).size - 3);

        const second = openQueue({ folder });
        expect(second.stats().truncatedBytes).toBeGreaterThan(0);
        expect(drain(second).map((r) => r.payload)).toEqual(['a', 'b']);
        await second.append(['d']);
        expect(drain(second)).toEqual([{ seq: 3, payload: 'd' }]);
    });

    it('should cut a record whose checksum fails', async () => {
        const folder = tempFolder();
        const first = openQueue({ folder });
        await first.append(['a', 'b']);
        await first.close();
        const path = join(folder, segmentFiles(folder)[0]);
        const bytes = readFileSync(path);
        bytes[bytes.length - 2] ^= 0xff;
        writeFileSync(path, bytes);
        appendFileSync(path, Buffer.alloc(5));

        expect(drain(openQueue({ folder })).map((r) => r.payload)).toEqual(['a']);
    });

    it('should reject a damaged cursor with the fix', () => {
        const folder = tempFolder();
        writeFileSync(join(folder, 'cursor.json'), '{"acked":');

        expect(() => ForwardQueue.open({ folder, maxBytes: 1024, whenFull: 'block' })).toThrow(/delete the queue folder/);
    });

    it('should recover every record after SIGKILL', async () => {
        const folder = tempFolder();
        const bundle = join(folder, 'queue.cjs');
        await build({ entryPoints: [join(__dirname, 'queue.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
        const rows: unknown[] = [];
        for await (const line of readReplayFile(join(DATA_DIR, 'petrobras-3w/6/WELL-00004_20171031193025.csv'), { endRow: 200 })) {
            if (line.ok) rows.push(line.row);
        }
        const runner = join(folder, 'runner.cjs');
        // Appends batches of real 3W rows without end and acknowledges one record per batch, printing
        // each append and acknowledgement after it returned, until the parent kills it.
        writeFileSync(
            runner,
            `const { ForwardQueue } = require(${JSON.stringify(bundle)});
const rows = ${JSON.stringify(rows)};
const queue = ForwardQueue.open({ folder: process.argv[2], maxBytes: 64 * 1024 * 1024, whenFull: 'block', segmentBytes: 256 * 1024 });
(async () => {
    for (let i = 0; ; i += 3) {
        const records = await queue.append([0, 1, 2].map((k) => ({ i: i + k, row: rows[(i + k) % rows.length] })));
        process.stdout.write('appended ' + records[records.length - 1].seq + '\\n');
        const head = queue.peek();
        queue.ack(head.seq);
        process.stdout.write('acked ' + head.seq + '\\n');
    }
})();
`,
        );
        const data = join(folder, 'queue');
        const child = spawn(process.execPath, [runner, data], { stdio: ['ignore', 'pipe', 'inherit'] });
        let appended = 0;
        let acked = 0;
        await new Promise<void>((resolve) => {
            createInterface({ input: child.stdout }).on('line', (line) => {
                const [kind, seq] = line.split(' ');
                if (kind === 'appended') appended = Number(seq);
                if (kind === 'acked') acked = Number(seq);
                if (appended >= 1500 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
            });
            child.on('exit', () => resolve());
        });

        expect(child.signalCode).toBe('SIGKILL');
        const queue = openQueue({ folder: data, maxBytes: 64 * 1024 * 1024, segmentBytes: 256 * 1024 });
        const records = drain(queue);
        const first = records[0].seq;
        // The acknowledgement after the last one printed may have been stored before the kill.
        expect(first === acked + 1 || first === acked + 2).toBe(true);
        expect(records.map((r) => r.seq)).toEqual(records.map((_, index) => first + index));
        expect(records[records.length - 1].seq).toBeGreaterThanOrEqual(appended);
        for (const record of records) {
            const payload = record.payload as { i: number; row: unknown };
            expect(payload.i).toBe(record.seq - 1);
            expect(payload.row).toEqual(rows[payload.i % rows.length]);
        }
    });
});

describe('ForwardQueue disk budget', () => {
    it('should block when full and accept again after acknowledgements', async () => {
        const queue = openQueue({ folder: tempFolder(), maxBytes: 64 * 1024, segmentBytes: 8 * 1024, whenFull: 'block' });
        const payload = 'p'.repeat(1000);
        let accepted = 0;
        let error: unknown;
        try {
            for (;;) {
                await queue.append([payload]);
                accepted++;
            }
        } catch (err) {
            error = err;
        }

        expect(error).toBeInstanceOf(QueueFullError);
        expect((error as QueueFullError).message).toMatch(/is full: \d+ records use \d+ of 65536 bytes/);
        expect((error as QueueFullError).retriable).toBe(true);
        expect(accepted).toBeGreaterThan(50);
        expect(queue.stats()).toMatchObject({ depth: accepted, blocked: 1, dropped: 0 });
        for (let i = 0; i < 20; i++) queue.ack(queue.peek()?.seq as number);
        await queue.append([payload]);
        expect(queue.stats().depth).toBe(accepted - 20 + 1);
    });

    it('should drop the oldest records when full', async () => {
        const queue = openQueue({ folder: tempFolder(), maxBytes: 64 * 1024, segmentBytes: 8 * 1024, whenFull: 'drop-oldest' });
        for (let i = 0; i < 200; i++) await queue.append([{ i, text: 'p'.repeat(1000) }]);

        const stats = queue.stats();
        expect(stats.dropped).toBeGreaterThan(0);
        expect(stats.bytes).toBeLessThanOrEqual(64 * 1024);
        expect(stats.depth + stats.dropped).toBe(200);
        const order = drain(queue).map((r) => (r.payload as { i: number }).i);
        expect(order).toEqual([...Array(order.length).keys()].map((k) => 200 - order.length + k));
    });

    it('should ignore the acknowledgement of a dropped record', async () => {
        const queue = openQueue({ folder: tempFolder(), maxBytes: 16 * 1024, segmentBytes: 4 * 1024, whenFull: 'drop-oldest' });
        await queue.append(['first']);
        const head = queue.peek();
        for (let i = 0; i < 40; i++) await queue.append(['p'.repeat(1000)]);

        expect(() => queue.ack(head?.seq as number)).not.toThrow();
        expect(queue.peek()?.seq).toBeGreaterThan(head?.seq as number);
    });

    it('should reject a batch larger than the budget', async () => {
        const queue = openQueue({ folder: tempFolder(), maxBytes: 1024, whenFull: 'drop-oldest' });

        await expect(queue.append(['p'.repeat(2000)])).rejects.toThrow(ValidationError);
    });
});
