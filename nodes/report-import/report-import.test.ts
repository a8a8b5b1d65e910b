import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { REPORT_COLUMNS } from '../../lib/report/columns';
import { DATA_DIR } from '../../lib/paths';
import type { Reading, Rejection } from '../../lib/types';
import registerReportImport from './report-import';

const require = createRequire(import.meta.url);
const helper = require('node-red-node-test-helper');

const ASSETS_FILE = join(DATA_DIR, 'assets.json');
const VOLVE_CSV = join(DATA_DIR, 'equinor-volve', 'volve_daily_production.csv');

type Msg = Record<string, unknown>;

const LOCALE_FILE = join(__dirname, 'locales', 'en-US', 'report-import.json');
const MESSAGES = JSON.parse(readFileSync(LOCALE_FILE, 'utf8')) as Record<string, unknown>;

/** Looks up a message of the node's catalog, because the test helper's own RED._ returns the key only. */
function translate(key: string, substitutions: Record<string, unknown> = {}): string {
    const text = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], MESSAGES);
    if (typeof text !== 'string') throw new Error(`message ${key} is missing from the locale catalog`);
    return text.replace(/__(\w+)__/g, (_, name: string) => String(substitutions[name]));
}

function reportImportNode(RED: { _: unknown }): void {
    RED._ = translate;
    registerReportImport(RED as Parameters<typeof registerReportImport>[0]);
}

const HEADER = REPORT_COLUMNS.join(',');
const ROWS = [
    '2014-04-07,NO 15/9-F-12 H,5599,15/9-F-12,3420717,VOLVE,369304,MÆRSK INSPIRER,24,250.5,106.1,160.2,11,31.5,%,90.3,73.5,60.25,2735.53,422115.01,14.19,,production,OP',
    '2014-04-07,NO 15/9-F-14 H,5351,15/9-F-14,3420717,VOLVE,369304,MÆRSK INSPIRER,24,,,,,,,,,,0,0,0,5000,injection,WI',
    '2014-04-08,NO 15/9-F-12 H,5599,15/9-F-12,3420717,VOLVE,369304,MÆRSK INSPIRER,24,250.5,106.1,160.2,11,31.5,%,90.3,73.5,60.25,2735.53,422115.01,-3,,production,OP',
];
const REPORT = `${HEADER}\n${ROWS.join('\n')}\n`;

beforeAll(() => {
    helper.init(require.resolve('node-red'));
});

let dir: string;

beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ul-report-import-'));
});

afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await rm(dir, { recursive: true, force: true });
});

function flow(config: Record<string, unknown>): unknown[] {
    return [
        {
            id: 'import',
            type: 'ul-report-import',
            assetsFile: ASSETS_FILE,
            pollSeconds: 0.05,
            wires: [['readings'], ['rejected'], ['summary']],
            ...config,
        },
        { id: 'readings', type: 'helper' },
        { id: 'rejected', type: 'helper' },
        { id: 'summary', type: 'helper' },
    ];
}

interface Outputs {
    readings: Msg[];
    rejected: Msg[];
    summaries: Msg[];
    /** Resolves with the next message on an output that matches. */
    next(output: 'readings' | 'rejected' | 'summary', match?: (msg: Msg) => boolean): Promise<Msg>;
}

function outputs(): Outputs {
    const seen = { readings: [] as Msg[], rejected: [] as Msg[], summary: [] as Msg[] };
    const waiting: { output: keyof typeof seen; match: (msg: Msg) => boolean; resolve: (msg: Msg) => void }[] = [];
    for (const output of ['readings', 'rejected', 'summary'] as const) {
        helper.getNode(output).on('input', (msg: Msg) => {
            seen[output].push(msg);
            for (const waiter of [...waiting]) {
                if (waiter.output === output && waiter.match(msg)) {
                    waiting.splice(waiting.indexOf(waiter), 1);
                    waiter.resolve(msg);
                }
            }
        });
    }
    return {
        readings: seen.readings,
        rejected: seen.rejected,
        summaries: seen.summary,
        next: (output, match = () => true) => new Promise((resolve) => waiting.push({ output, match, resolve })),
    };
}

function errorLogs(): string[] {
    return helper
        .log()
        .args.filter((call: unknown[]) => (call[0] as { level: number }).level === 20)
        .map((call: unknown[]) => String((call[0] as { msg: unknown }).msg));
}

function warningLogs(): string[] {
    return helper
        .log()
        .args.filter((call: unknown[]) => (call[0] as { level: number }).level === 30)
        .map((call: unknown[]) => String((call[0] as { msg: unknown }).msg));
}

describe('ul-report-import watching a folder', () => {
    it('should import and archive a dropped file', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir }));
        const out = outputs();
        const summary = out.next('summary');

        await writeFile(join(dir, 'day.csv'), REPORT);
        const done = (await summary).payload as Record<string, unknown>;

        expect(done).toMatchObject({ file: 'day.csv', format: 'csv', rows: 3, accepted_rows: 2, rejected_rows: 1 });
        expect(done.readings).toBe(17);
        expect(done.by_code).toEqual({ negative_volume: 1 });
        expect(out.readings.map((m) => m.topic)).toEqual(['volve-15-9-f-12', 'volve-15-9-f-14']);
        expect(out.readings[0].source).toBe('report:day.csv');
        expect((out.readings[1].payload as Reading[]).map((r) => [r.metric, r.value, r.unit])).toEqual([
            ['on_stream_hours', 24, 'h'],
            ['oil_rate', 0, 'Sm3/d'],
            ['gas_rate', 0, 'Sm3/d'],
            ['water_rate', 0, 'Sm3/d'],
            ['water_injection_rate', 5000, 'Sm3/d'],
        ]);
        const rejected = out.rejected.flatMap((m) => m.payload as Rejection[]);
        expect(rejected.map((r) => [r.ref, r.code, r.field])).toEqual([['4', 'negative_volume', 'BORE_WAT_VOL']]);

        expect(await readdir(dir)).not.toContain('day.csv');
        expect(await readdir(join(dir, 'processed'))).toEqual(['day.csv']);
        const ledger = JSON.parse(await readFile(join(dir, '.imported.json'), 'utf8')) as Record<string, { file: string }>;
        const hash = createHash('sha256').update(REPORT).digest('hex');
        expect(done.sha256).toBe(hash);
        expect(ledger[hash].file).toBe('day.csv');
    });

    it('should not import the same content twice', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir }));
        const out = outputs();
        const first = out.next('summary');
        await writeFile(join(dir, 'day.csv'), REPORT);
        await first;
        const readingsAfterFirst = out.readings.length;

        const second = out.next('summary');
        await writeFile(join(dir, 'day-again.csv'), REPORT);
        const skipped = (await second).payload as Record<string, unknown>;

        expect(skipped.file).toBe('day-again.csv');
        expect(skipped.accepted_rows).toBe(0);
        expect(skipped.already_imported).toMatchObject({ file: 'day.csv', accepted_rows: 2 });
        expect(out.readings.length).toBe(readingsAfterFirst);
        expect((await readdir(join(dir, 'processed'))).sort()).toEqual(['day-again.csv', 'day.csv']);
    });

    it('should move a file with a wrong header to failed', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir }));
        const out = outputs();
        const rejectedMsg = out.next('rejected');

        await writeFile(join(dir, 'no-hours.csv'), REPORT.replace('ON_STREAM_HRS', 'HOURS'));
        const rejection = ((await rejectedMsg).payload as Rejection[])[0];

        expect(rejection.code).toBe('missing_columns');
        expect(rejection.source).toBe('report:no-hours.csv');
        expect(rejection.reason).toContain('ON_STREAM_HRS');
        expect(out.readings.length).toBe(0);
        expect(out.summaries.length).toBe(0);
        expect((await readdir(join(dir, 'failed'))).sort()).toEqual(['no-hours.csv', 'no-hours.csv.error.txt']);
        const errorText = await readFile(join(dir, 'failed', 'no-hours.csv.error.txt'), 'utf8');
        expect(errorText).toContain('missing the required column ON_STREAM_HRS');
        expect(errorText).toContain(`Expected header: ${HEADER}`);
        expect(errorLogs().some((text) => text.includes('ON_STREAM_HRS'))).toBe(true);
    });

    it('should warn once about a file that is not a report', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir }));
        await writeFile(join(dir, 'notes.txt'), 'call the operator');

        const inboxWarnings = () => warningLogs().filter((text) => text.includes('report inbox'));
        const started = Date.now();
        while (inboxWarnings().length === 0 && Date.now() - started < 5_000) await new Promise((resolve) => setTimeout(resolve, 20));
        // Several more polls (every 50 ms) must not repeat the warning.
        await new Promise((resolve) => setTimeout(resolve, 300));

        expect(inboxWarnings()).toHaveLength(1);
        expect(inboxWarnings()[0]).toContain('File notes.txt in the report inbox');
        expect(await readdir(dir)).toContain('notes.txt');
    });

    it('should resolve a relative watch folder', async () => {
        helper.settings({ upstreamLive: { dataDir: dir } });
        await helper.load(reportImportNode, flow({ watchDir: 'inbox' }));
        const out = outputs();
        const summary = out.next('summary');

        await writeFile(join(dir, 'inbox', 'day.csv'), REPORT);
        await summary;

        expect(await readdir(join(dir, 'inbox', 'processed'))).toEqual(['day.csv']);
    });

    it('should import the Volve CSV without blocking', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir }));
        const out = outputs();
        const summary = out.next('summary');
        let ticks = 0;
        const timer = setInterval(() => (ticks += 1), 20);

        await copyFile(VOLVE_CSV, join(dir, 'volve.csv'));
        const done = (await summary).payload as Record<string, number>;
        clearInterval(timer);

        expect(done.accepted_rows).toBe(15_630);
        expect(out.readings.length).toBe(15_630);
        expect(out.readings.reduce((n, m) => n + (m.payload as Reading[]).length, 0)).toBe(done.readings);
        expect(out.rejected.flatMap((m) => m.payload as Rejection[]).map((r) => r.code)).toEqual(Array(4).fill('negative_volume'));
        expect(ticks).toBeGreaterThan(5);
    }, 60_000);
});

describe('ul-report-import with input messages', () => {
    it('should import an upload keeping msg properties', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir }));
        const out = outputs();
        const summary = out.next('summary');

        helper.getNode('import').receive({ filename: 'C:\\uploads\\day.csv', payload: Buffer.from(REPORT), requestId: 'r-1' });
        const msg = await summary;

        expect(msg.requestId).toBe('r-1');
        expect(msg.topic).toBe('report:day.csv');
        expect((msg.payload as Record<string, unknown>).accepted_rows).toBe(2);
        expect(out.readings.length).toBe(2);
        expect(await readdir(join(dir, 'processed'))).toEqual(['day.csv']);
    });

    it('should import a path in place', async () => {
        await helper.load(reportImportNode, flow({ watchDir: '' }));
        const out = outputs();
        const path = join(dir, 'day.csv');
        await writeFile(path, REPORT);
        const summary = out.next('summary');

        helper.getNode('import').receive({ filename: path });
        expect(((await summary).payload as Record<string, unknown>).readings).toBe(17);

        const again = out.next('summary');
        helper.getNode('import').receive({ filename: path });
        expect(((await again).payload as Record<string, unknown>).already_imported).toBeDefined();

        const forced = out.next('summary');
        helper.getNode('import').receive({ filename: path, reimport: true });
        expect(((await forced).payload as Record<string, unknown>).accepted_rows).toBe(2);
        expect(await readdir(dir)).toEqual(['day.csv']);
    });

    it('should fail a message without a file name', async () => {
        await helper.load(reportImportNode, flow({ watchDir: '' }));
        const node = helper.getNode('import');
        const failed = new Promise<void>((resolve) => node.on('call:error', () => resolve()));

        node.receive({ payload: Buffer.from(REPORT) });
        await failed;

        expect(errorLogs().some((text) => text.includes('msg.filename is missing'))).toBe(true);
    });

    it('should fail a message whose file does not exist', async () => {
        await helper.load(reportImportNode, flow({ watchDir: '' }));
        const node = helper.getNode('import');
        const failed = new Promise<void>((resolve) => node.on('call:error', () => resolve()));

        node.receive({ filename: join(dir, 'missing.csv') });
        await failed;

        expect(errorLogs().some((text) => text.includes('missing.csv'))).toBe(true);
    });
});

describe('ul-report-import configuration', () => {
    it('should report a bad poll interval once at deploy', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir, pollSeconds: 'often' }));

        expect(errorLogs()).toHaveLength(1);
        expect(errorLogs()[0]).toContain('often');
    });

    it('should report a missing assets file at deploy', async () => {
        await helper.load(reportImportNode, flow({ watchDir: dir, assetsFile: join(dir, 'nothing.json') }));

        expect(errorLogs()).toHaveLength(1);
        expect(errorLogs()[0]).toContain('nothing.json');
    });
});
