import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Rejection } from '../../lib/types';
import replayNode from './replay';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const FILE = 'petrobras-3w/6/WELL-00004_20171031193025.csv';
const HEADER = 'timestamp,P-PDG,P-TPT,T-TPT,P-MON-CKP,T-JUS-CKP,P-JUS-CKGL,T-JUS-CKGL,QGL,class';

interface RowPayload {
    ts: string;
    values: Record<string, number | null>;
    label: string | null;
    row: number;
    source_ts: string;
}

const tempDir = mkdtempSync(join(tmpdir(), 'ul-replay-node-'));

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

afterEach(async () => {
    await helper.unload();
});

afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

function flow(config: Record<string, unknown>) {
    return [
        { id: 'replay-1', type: 'ul-replay', file: FILE, speed: '1e9', timestamps: 'shift-to-now', autostart: false, loop: false, startRow: '', endRow: '', wires: [['rows'], ['end'], ['rejected']], ...config },
        { id: 'rows', type: 'helper' },
        { id: 'end', type: 'helper' },
        { id: 'rejected', type: 'helper' },
    ];
}

function collect(id: string) {
    const messages: { msg: Record<string, unknown>; at: number }[] = [];
    helper.getNode(id).on('input', (msg: Record<string, unknown>) => messages.push({ msg, at: Date.now() }));
    return messages;
}

function nextMessage(id: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

function errorLogs(): { msg: unknown }[] {
    return helper
        .log()
        .args.map((call: unknown[]) => call[0] as { level: number; msg: unknown })
        .filter((entry: { level: number }) => entry.level === 20);
}

describe('ul-replay playback', () => {
    it('should play a slice in order with shifted timestamps', async () => {
        await helper.load(replayNode, flow({ startRow: '100', endRow: '399' }));
        const rows = collect('rows');
        const end = nextMessage('end');
        const startedAt = Date.now();
        helper.getNode('replay-1').receive({ payload: 'start' });
        const summary = await end;

        expect(rows.length).toBe(300);
        const payloads = rows.map((received) => received.msg.payload as RowPayload);
        expect(payloads.map((payload) => payload.row)).toEqual(Array.from({ length: 300 }, (_, index) => 100 + index));
        expect(rows[0].msg.topic).toBe('WELL-00004_20171031193025.csv');
        expect(payloads[0].source_ts).toBe('2017-10-31T19:32:04.000Z');
        expect(payloads[0].values['P-TPT']).toBeTypeOf('number');
        expect(payloads[0].values.QGL).toBeNull();
        for (const [index, received] of rows.entries()) {
            const ts = Date.parse(payloads[index].ts);
            expect(ts).toBeLessThanOrEqual(received.at);
            expect(ts).toBeGreaterThanOrEqual(startedAt - 300_000);
            // Spacing between rows is the source spacing.
            expect(Date.parse(payloads[299].ts) - ts).toBe(Date.parse(payloads[299].source_ts) - Date.parse(payloads[index].source_ts));
        }
        expect(Date.parse(payloads[299].ts)).toBeGreaterThanOrEqual(startedAt);

        expect(summary.topic).toBe('WELL-00004_20171031193025.csv');
        const completion = summary.payload as Record<string, unknown>;
        expect(completion.file).toBe('WELL-00004_20171031193025.csv');
        expect(completion.rows).toBe(300);
        expect(completion.rejected).toBe(0);
        expect(Date.parse(completion.started_at as string)).toBeLessThanOrEqual(Date.parse(completion.finished_at as string));
    });

    it('should start on deploy when autostart is set', async () => {
        await helper.load(replayNode, flow({ autostart: 'true', endRow: '20' }));
        const summary = await nextMessage('end');

        expect((summary.payload as { rows: number }).rows).toBe(20);
    });

    it('should keep original timestamps on request', async () => {
        await helper.load(replayNode, flow({ timestamps: 'original', endRow: '2' }));
        const rows = collect('rows');
        const end = nextMessage('end');
        helper.getNode('replay-1').receive({ payload: 'start' });
        await end;

        expect(rows.map((received) => (received.msg.payload as RowPayload).ts)).toEqual(['2017-10-31T19:30:25.000Z', '2017-10-31T19:30:26.000Z']);
    });

    it('should send invalid rows to the rejected output', async () => {
        const path = join(tempDir, 'with-bad-row.csv');
        writeFileSync(path, [HEADER, '2020-01-01 00:00:00.000000,1,,,,,,,,0', '2020-01-01 00:00:01.000000,1,2', '2020-01-01 00:00:02.000000,3,,,,,,,,0'].join('\r\n'));
        await helper.load(replayNode, flow({ file: path }));
        const rows = collect('rows');
        const rejected = nextMessage('rejected');
        const end = nextMessage('end');
        helper.getNode('replay-1').receive({ payload: 'start' });
        const rejection = (await rejected).payload as Rejection[];
        await end;

        expect(rows.map((received) => (received.msg.payload as RowPayload).row)).toEqual([1, 3]);
        expect(rejection.length).toBe(1);
        expect(rejection[0].source).toBe('replay:with-bad-row.csv');
        expect(rejection[0].code).toBe('wrong_column_count');
        expect(rejection[0].ref).toBe('2');
        expect(rejection[0].payload).toBe('2020-01-01 00:00:01.000000,1,2');
    });
});

describe('ul-replay commands', () => {
    it('should pause, resume and stop on command', async () => {
        await helper.load(replayNode, flow({ speed: '20', endRow: '40' }));
        const rows = collect('rows');
        const node = helper.getNode('replay-1');
        const firstRow = nextMessage('rows');
        node.receive({ payload: 'start' });
        await firstRow;
        node.receive({ payload: 'pause' });
        const countAtPause = rows.length;
        await new Promise((resolve) => setTimeout(resolve, 200));

        expect(rows.length).toBe(countAtPause);

        const resumed = nextMessage('rows');
        node.receive({ payload: 'resume' });
        await resumed;
        node.receive({ payload: 'stop' });
        await new Promise((resolve) => setTimeout(resolve, 150));
        const stopped = rows.length;
        await new Promise((resolve) => setTimeout(resolve, 150));

        expect(rows.length).toBe(stopped);
        expect(stopped).toBeLessThan(40);
        expect(rows.map((received) => (received.msg.payload as RowPayload).row)).toEqual(Array.from({ length: stopped }, (_, index) => index + 1));
    });

    it('should fail an unknown command', async () => {
        await helper.load(replayNode, flow({}));
        helper.getNode('replay-1').receive({ payload: 'rewind' });
        await new Promise((resolve) => setImmediate(resolve));

        const errors = errorLogs();
        expect(errors.length).toBe(1);
        expect(String(errors[0].msg)).toContain('ul-replay.errors.bad-command');
    });

    it('should stop playback on close', async () => {
        await helper.load(replayNode, flow({ speed: '1', autostart: true }));
        await nextMessage('rows');
        const rows = collect('rows');
        const started = Date.now();
        await helper.unload();

        expect(Date.now() - started).toBeLessThan(2000);
        await new Promise((resolve) => setTimeout(resolve, 1200));
        expect(rows.length).toBe(0);
    });
});

describe('ul-replay configuration', () => {
    it('should report a missing file once at deploy', async () => {
        await helper.load(replayNode, flow({ file: 'petrobras-3w/absent.csv' }));
        const errors = errorLogs();

        expect(errors.length).toBe(1);
        expect(String(errors[0].msg)).toContain('absent.csv was not found');
    });

    it('should report an invalid speed once at deploy', async () => {
        await helper.load(replayNode, flow({ speed: 'fast' }));
        const errors = errorLogs();

        expect(errors.length).toBe(1);
        expect(String(errors[0].msg)).toContain('Speed "fast" is invalid');
    });
});

describe('ul-replay restart', () => {
    const collect = (into: RowPayload[]) => helper.getNode('rows').on('input', (msg: { payload: RowPayload }) => into.push(msg.payload));
    const waitFor = async (rows: RowPayload[], count: number) => {
        for (let attempt = 0; attempt < 200 && rows.length < count; attempt++) await new Promise((resolve) => setTimeout(resolve, 25));
    };

    it('should continue the same timeline after a restart', async () => {
        const dataDir = mkdtempSync(join(tempDir, 'resume-'));
        helper.settings({ upstreamLive: { dataDir } });
        const config = { speed: '20', autostart: true, endRow: '60' };
        const before: RowPayload[] = [];
        await helper.load(replayNode, flow(config));
        collect(before);
        await waitFor(before, 15);
        await helper.unload();

        const after: RowPayload[] = [];
        await helper.load(replayNode, flow(config));
        collect(after);
        await waitFor(after, 60 - before.length);
        await helper.unload();
        helper.settings({});

        const rows = [...before, ...after];
        const offsets = new Set(rows.map((row) => Date.parse(row.ts) - Date.parse(row.source_ts)));
        expect(before.length).toBeGreaterThanOrEqual(15);
        expect(after[0].row).toBe(before[before.length - 1].row + 1);
        expect(rows.map((row) => row.row)).toEqual(Array.from({ length: 60 }, (_, index) => index + 1));
        expect(offsets.size).toBe(1);
    });

    it('should not replay a finished file after a restart', async () => {
        const dataDir = mkdtempSync(join(tempDir, 'finished-'));
        helper.settings({ upstreamLive: { dataDir } });
        const config = { autostart: true, endRow: '5' };
        const first: RowPayload[] = [];
        await helper.load(replayNode, flow(config));
        collect(first);
        await waitFor(first, 5);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await helper.unload();

        const second: RowPayload[] = [];
        await helper.load(replayNode, flow(config));
        collect(second);
        await new Promise((resolve) => setTimeout(resolve, 300));
        helper.settings({});

        expect(first).toHaveLength(5);
        expect(second).toHaveLength(0);
    });
});
