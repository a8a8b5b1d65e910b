import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { DATA_DIR } from '../paths';
import { ReplayPlayer, type ReplayOptions, type ReplaySummary } from './player';
import type { ReplayRow, RowError } from './reader';

const LF_FILE = join(DATA_DIR, 'petrobras-3w/6/WELL-00004_20171031193025.csv');
const HEADER = 'timestamp,P-PDG,P-TPT,T-TPT,P-MON-CKP,T-JUS-CKP,P-JUS-CKGL,T-JUS-CKGL,QGL,class';

const tempDir = mkdtempSync(join(tmpdir(), 'ul-replay-player-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

/** Writes a file with one row per second starting at 2020-01-01 00:00:00, P-PDG = row number. */
function secondsFile(name: string, rows: number, extraLines: string[] = []): string {
    const lines = [HEADER];
    for (let index = 0; index < rows; index++) {
        const time = new Date(Date.UTC(2020, 0, 1, 0, 0, index)).toISOString().replace('T', ' ').replace('Z', '000');
        lines.push(`${time},${index + 1},,,,,,,,0`);
    }
    const path = join(tempDir, name);
    writeFileSync(path, [...lines, ...extraLines].join('\n') + '\n');
    return path;
}

interface Emitted {
    row: ReplayRow;
    ts: number;
    at: number;
    index: number;
    total: number;
}

function recorder() {
    const rows: Emitted[] = [];
    const rejected: RowError[] = [];
    const ends: ReplaySummary[] = [];
    const errors: Error[] = [];
    let onEnd: (() => void) | undefined;
    let onRow: (() => void) | undefined;
    const handlers = {
        row: (row: ReplayRow, ts: number, progress: { index: number; total: number }) => {
            rows.push({ row, ts, at: Date.now(), ...progress });
            onRow?.();
        },
        rejected: (error: RowError) => rejected.push(error),
        end: (summary: ReplaySummary) => {
            ends.push(summary);
            onEnd?.();
        },
        error: (err: Error) => errors.push(err),
    };
    const ended = (count = 1) =>
        new Promise<void>((resolve) => {
            if (ends.length >= count) return resolve();
            onEnd = () => {
                if (ends.length >= count) resolve();
            };
        });
    const reached = (count: number) =>
        new Promise<void>((resolve) => {
            if (rows.length >= count) return resolve();
            onRow = () => {
                if (rows.length >= count) resolve();
            };
        });
    return { rows, rejected, ends, errors, handlers, ended, reached };
}

const players: ReplayPlayer[] = [];
function player(options: ReplayOptions, handlers: ReturnType<typeof recorder>['handlers']): ReplayPlayer {
    const created = new ReplayPlayer(options, handlers);
    players.push(created);
    return created;
}
afterEach(async () => {
    await Promise.all(players.splice(0).map((created) => created.stop()));
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ReplayPlayer as fast as possible', () => {
    it('should emit a slice in order with shifted timestamps', async () => {
        const record = recorder();
        const replay = player(
            { path: LF_FILE, speed: Number.POSITIVE_INFINITY, timestamps: 'shift-to-now', startRow: 101, endRow: 300 },
            record.handlers,
        );
        const before = Date.now();
        await replay.start();
        await record.ended();

        expect(record.rows.length).toBe(200);
        expect(record.rows.map((emitted) => emitted.row.row)).toEqual(Array.from({ length: 200 }, (_, index) => 101 + index));
        const last = record.rows[199];
        expect(last.index).toBe(200);
        expect(last.total).toBe(200);
        expect(last.ts).toBeGreaterThanOrEqual(before);
        for (const emitted of record.rows) {
            expect(emitted.ts).toBeLessThanOrEqual(emitted.at);
            expect(last.ts - emitted.ts).toBe(last.row.source_ms - emitted.row.source_ms);
        }
        expect(record.ends).toEqual([
            expect.objectContaining({ file: 'WELL-00004_20171031193025.csv', rows: 200, rejected: 0 }),
        ]);
        expect(replay.state).toBe('finished');
    });

    it('should keep original timestamps on request', async () => {
        const record = recorder();
        const replay = player({ path: LF_FILE, speed: 1e9, timestamps: 'original', endRow: 5 }, record.handlers);
        await replay.start();
        await record.ended();

        expect(record.rows.map((emitted) => new Date(emitted.ts).toISOString())).toEqual([
            '2017-10-31T19:30:25.000Z',
            '2017-10-31T19:30:26.000Z',
            '2017-10-31T19:30:27.000Z',
            '2017-10-31T19:30:28.000Z',
            '2017-10-31T19:30:29.000Z',
        ]);
    });

    it('should yield to the event loop between chunks', async () => {
        const record = recorder();
        const replay = player({ path: LF_FILE, speed: Number.POSITIVE_INFINITY, timestamps: 'original', chunkSize: 100 }, record.handlers);
        let ticks = 0;
        let ticking = true;
        const tick = () => {
            ticks++;
            if (ticking) setImmediate(tick);
        };
        setImmediate(tick);
        await replay.start();
        await record.ended();
        ticking = false;

        expect(record.rows.length).toBe(1079);
        expect(ticks).toBeGreaterThanOrEqual(10);
    });
});

describe('ReplayPlayer timing', () => {
    it('should emit rows at their scaled source times', async () => {
        const record = recorder();
        const path = secondsFile('timing.csv', 5);
        const replay = player({ path, speed: 20, timestamps: 'shift-to-now' }, record.handlers);
        const before = Date.now();
        await replay.start();
        await record.ended();

        expect(record.rows.length).toBe(5);
        for (const [index, emitted] of record.rows.entries()) {
            // Row i is due 50 ms * i after the start.
            expect(emitted.at - before).toBeGreaterThanOrEqual(index * 50 - 1);
            expect(emitted.ts).toBeLessThanOrEqual(emitted.at);
        }
        expect(record.rows[4].ts - record.rows[0].ts).toBe(4000);
    });

    it('should hold rows while paused', async () => {
        const record = recorder();
        const path = secondsFile('pause.csv', 6);
        const replay = player({ path, speed: 20, timestamps: 'shift-to-now' }, record.handlers);
        await replay.start();
        await record.reached(2);
        replay.pause();
        const heldAt = record.rows.length;
        await wait(250);

        expect(replay.state).toBe('paused');
        expect(record.rows.length).toBe(heldAt);

        replay.resume();
        await record.ended();

        expect(record.rows.map((emitted) => emitted.row.row)).toEqual([1, 2, 3, 4, 5, 6]);
        for (const emitted of record.rows) expect(emitted.ts).toBeLessThanOrEqual(emitted.at);
    });

    it('should emit nothing after stop', async () => {
        const record = recorder();
        const path = secondsFile('stop.csv', 20);
        const replay = player({ path, speed: 20, timestamps: 'shift-to-now' }, record.handlers);
        await replay.start();
        await record.reached(2);
        await replay.stop();
        const stoppedAt = record.rows.length;
        await wait(200);

        expect(record.rows.length).toBe(stoppedAt);
        expect(record.ends).toEqual([]);
        expect(replay.state).toBe('stopped');
    });

    it('should start again from the first row after stop', async () => {
        const record = recorder();
        const path = secondsFile('restart.csv', 3);
        const replay = player({ path, speed: 1e6, timestamps: 'original' }, record.handlers);
        await replay.start();
        await record.ended();
        await replay.start();
        await record.ended(2);

        expect(record.rows.map((emitted) => emitted.row.row)).toEqual([1, 2, 3, 1, 2, 3]);
    });
});

describe('ReplayPlayer loop and errors', () => {
    it('should play the file again when looping', async () => {
        const record = recorder();
        const path = secondsFile('loop.csv', 3);
        const replay = player({ path, speed: 1e6, timestamps: 'shift-to-now', loop: true }, record.handlers);
        await replay.start();
        await record.ended(3);
        await replay.stop();

        expect(record.ends.length).toBeGreaterThanOrEqual(3);
        expect(record.rows.slice(0, 9).map((emitted) => emitted.row.row)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
        expect(record.ends[0].rows).toBe(3);
    });

    it('should keep timestamps increasing across passes', async () => {
        const record = recorder();
        const path = secondsFile('loop-time.csv', 3);
        const replay = player({ path, speed: 1e6, timestamps: 'shift-to-now', loop: true }, record.handlers);
        await replay.start();
        await record.ended(2);
        await replay.stop();

        const times = record.rows.slice(0, 6).map((emitted) => emitted.ts);
        for (let index = 1; index < times.length; index++) {
            expect(times[index], `row ${index} after row ${index - 1}`).toBeGreaterThan(times[index - 1]);
        }
        // The second pass runs at real time, so its rows keep their one-second spacing.
        expect(times[4] - times[3]).toBeGreaterThanOrEqual(999);
        expect(times[4] - times[3]).toBeLessThanOrEqual(1001);
    });

    it('should report invalid rows in file order', async () => {
        const record = recorder();
        const path = secondsFile('bad.csv', 2, ['2020-01-01 00:00:05.000000,x,,,,,,,,0', '2020-01-01 00:00:06.000000,7,,,,,,,,0']);
        const replay = player({ path, speed: 1e6, timestamps: 'original' }, record.handlers);
        await replay.start();
        await record.ended();

        expect(record.rows.map((emitted) => emitted.row.row)).toEqual([1, 2, 4]);
        expect(record.rejected.map((error) => [error.row, error.code])).toEqual([[3, 'invalid_number']]);
        expect(record.ends[0]).toEqual(expect.objectContaining({ rows: 3, rejected: 1 }));
        expect(record.rows[2].total).toBe(4);
    });

    it('should reject start for a missing file', async () => {
        const record = recorder();
        const replay = player({ path: join(tempDir, 'absent.csv'), speed: 1, timestamps: 'original' }, record.handlers);

        await expect(replay.start()).rejects.toThrow(/ENOENT/);
        expect(replay.state).toBe('idle');
    });
});
