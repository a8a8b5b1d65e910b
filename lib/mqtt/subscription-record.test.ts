import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
    readSubscriptions, staleSubscriptions, subscriptionRecordPath, updateSubscriptions, writeSubscriptions,
} from './subscription-record';

let dataDir: string;

beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ul-subscription-record-'));
});

afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
});

/** Returns a writer that counts its calls and writes through writeSubscriptions. */
function countingWriter(): { write: (path: string, topics: readonly string[]) => void; calls: string[][] } {
    const calls: string[][] = [];
    return {
        calls,
        write: (path, topics) => {
            calls.push([...topics]);
            writeSubscriptions(path, topics);
        },
    };
}

describe('subscriptionRecordPath', () => {
    it('should replace unsafe characters in the client id', () => {
        expect(subscriptionRecordPath('/data', 'ul cloud/1')).toBe(join('/data', 'mqtt', 'ul_cloud_1.subscriptions.json'));
    });
});

describe('updateSubscriptions', () => {
    it('should write a missing record', () => {
        const path = subscriptionRecordPath(dataDir, 'ingest-1');
        const writer = countingWriter();

        expect(updateSubscriptions(path, ['ops/+/+/readings'], writer.write)).toBe(true);
        expect(writer.calls).toEqual([['ops/+/+/readings']]);
        expect(readSubscriptions(path)).toEqual(['ops/+/+/readings']);
    });

    it('should skip unchanged topics', () => {
        const path = subscriptionRecordPath(dataDir, 'ingest-1');
        const topics = ['ops/+/+/readings', '$share/cloud/ops/+/+/quarantine'];
        writeSubscriptions(path, topics);
        const before = statSync(path);
        const writer = countingWriter();

        expect(updateSubscriptions(path, topics, writer.write)).toBe(false);
        expect(updateSubscriptions(path, [...topics], writer.write)).toBe(false);
        expect(writer.calls).toEqual([]);
        const after = statSync(path);
        expect(after.ino).toBe(before.ino);
        expect(after.mtimeMs).toBe(before.mtimeMs);
    });

    it('should write changed topics', () => {
        const path = subscriptionRecordPath(dataDir, 'ingest-1');
        writeSubscriptions(path, ['ops/+/+/readings', 'ops/+/+/quarantine']);
        const writer = countingWriter();

        expect(updateSubscriptions(path, ['ops/+/+/readings'], writer.write)).toBe(true);
        expect(readSubscriptions(path)).toEqual(['ops/+/+/readings']);
        expect(updateSubscriptions(path, ['ops/+/+/readings'], writer.write)).toBe(false);
        expect(writer.calls).toEqual([['ops/+/+/readings']]);
    });

    it('should rewrite a damaged record', () => {
        const path = subscriptionRecordPath(dataDir, 'ingest-1');
        writeSubscriptions(path, ['ops/+/+/readings']);
        writeFileSync(path, '{"topics": ["ops/+/+/read');

        expect(updateSubscriptions(path, ['ops/+/+/readings'])).toBe(true);
        expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ topics: ['ops/+/+/readings'] });
    });

    it('should propagate a failed write', () => {
        const path = subscriptionRecordPath(dataDir, 'ingest-1');
        const failing = (): void => {
            throw new Error('EACCES: permission denied');
        };

        expect(() => updateSubscriptions(path, ['ops/+/+/readings'], failing)).toThrow('EACCES: permission denied');
    });
});

describe('readSubscriptions', () => {
    it('should return no topics for a missing or invalid file', () => {
        const path = subscriptionRecordPath(dataDir, 'ingest-1');
        expect(readSubscriptions(path)).toEqual([]);

        writeSubscriptions(path, ['a/+']);
        writeFileSync(path, 'not json');
        expect(readSubscriptions(path)).toEqual([]);

        writeFileSync(path, JSON.stringify({ topics: ['a/+', 3, '', 'b/#'] }));
        expect(readSubscriptions(path)).toEqual(['a/+', 'b/#']);
    });
});

describe('staleSubscriptions', () => {
    it('should list recorded topics no longer configured', () => {
        expect(staleSubscriptions(['a/+', 'b/#', 'c'], ['b/#'])).toEqual(['a/+', 'c']);
        expect(staleSubscriptions(['a/+'], ['a/+'])).toEqual([]);
    });
});
