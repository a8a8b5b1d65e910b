// Reads the last row number of a worksheet from the `<dimension>` element at the head of its XML,
// through the zip central directory, without unpacking the sheet. Used only for progress: the
// streaming workbook reader learns the row count only at the end of the sheet.
import { open } from 'node:fs/promises';
import { constants, inflateRawSync } from 'node:zlib';

import type { ReportInput } from './source';

interface ByteSource {
    size: number;
    read(offset: number, length: number): Promise<Buffer>;
    close(): Promise<void>;
}

interface ZipEntry {
    method: number;
    compressedSize: number;
    localOffset: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
/** Compressed bytes inflated from the start of a sheet to find `<dimension>`, which follows `<sheetPr>`. */
const SHEET_HEAD_BYTES = 16_384;
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;

async function byteSource(input: ReportInput): Promise<ByteSource> {
    if (input.buffer) {
        const buffer = input.buffer;
        return {
            size: buffer.length,
            read: async (offset, length) => buffer.subarray(offset, offset + length),
            close: async () => {},
        };
    }
    const handle = await open(input.path as string, 'r');
    const { size } = await handle.stat();
    return {
        size,
        read: async (offset, length) => {
            const buffer = Buffer.alloc(length);
            const { bytesRead } = await handle.read({ buffer, position: offset, length });
            return buffer.subarray(0, bytesRead);
        },
        close: () => handle.close(),
    };
}

/** Lists the zip entries, or returns undefined for a ZIP64 archive or anything unexpected. */
async function zipEntries(source: ByteSource): Promise<Map<string, ZipEntry> | undefined> {
    const tailLength = Math.min(source.size, 22 + 65_535);
    const tail = await source.read(source.size - tailLength, tailLength);
    let end = -1;
    for (let i = tail.length - 22; i >= 0; i -= 1) {
        if (tail.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
            end = i;
            break;
        }
    }
    if (end < 0) return undefined;

    const directorySize = tail.readUInt32LE(end + 12);
    const directoryOffset = tail.readUInt32LE(end + 16);
    if (directoryOffset === 0xffffffff || directoryOffset + directorySize > source.size) return undefined;

    const directory = await source.read(directoryOffset, directorySize);
    const entries = new Map<string, ZipEntry>();
    let position = 0;
    while (position + 46 <= directory.length && directory.readUInt32LE(position) === CENTRAL_FILE_HEADER) {
        const nameLength = directory.readUInt16LE(position + 28);
        const extraLength = directory.readUInt16LE(position + 30);
        const commentLength = directory.readUInt16LE(position + 32);
        entries.set(directory.toString('utf8', position + 46, position + 46 + nameLength), {
            method: directory.readUInt16LE(position + 10),
            compressedSize: directory.readUInt32LE(position + 20),
            localOffset: directory.readUInt32LE(position + 42),
        });
        position += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
}

/** Inflates an entry, or only its first `maxCompressed` bytes (a truncated deflate stream is fine). */
async function entryText(
    source: ByteSource,
    entry: ZipEntry | undefined,
    maxCompressed = Infinity,
): Promise<string | undefined> {
    if (!entry) return undefined;
    const local = await source.read(entry.localOffset, 30);
    if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_FILE_HEADER) return undefined;

    const start = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const data = await source.read(start, Math.min(entry.compressedSize, maxCompressed));
    if (entry.method === 0) return data.toString('utf8');
    if (entry.method !== 8) return undefined;
    const inflated = inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED_BYTES });
    return inflated.toString('utf8');
}

function attributes(tag: string): Map<string, string> {
    const found = new Map<string, string>();
    for (const match of tag.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) found.set(match[1], match[2]);
    return found;
}

function decodeXml(text: string): string {
    return text
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, '&');
}

/** Finds the zip path of the sheet with the given name, else of the first sheet. */
function sheetPath(workbookXml: string, relsXml: string, sheetName: string): string | undefined {
    const sheets = [...workbookXml.matchAll(/<(?:\w+:)?sheet\b([^>]*)>/g)].map((match) => {
        const attrs = attributes(match[1]);
        const relationKey = [...attrs.keys()].find((key) => /(^|:)id$/.test(key));
        return { name: decodeXml(attrs.get('name') ?? ''), relation: relationKey ? attrs.get(relationKey) : undefined };
    });
    const sheet = sheets.find((s) => s.name === sheetName) ?? sheets[0];
    if (!sheet?.relation) return undefined;

    for (const match of relsXml.matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
        const attrs = attributes(match[1]);
        if (attrs.get('Id') !== sheet.relation) continue;
        const target = attrs.get('Target');
        if (!target) return undefined;
        return target.startsWith('/') ? target.slice(1) : `xl/${target.replace(/^\.\//, '')}`;
    }
    return undefined;
}

/**
 * Returns the last row number the sheet declares in `<dimension ref="A1:X15635">`, or undefined when
 * the workbook does not say (the element is optional) or cannot be read this way.
 */
export async function xlsxLastRow(input: ReportInput, sheetName: string): Promise<number | undefined> {
    let source: ByteSource | undefined;
    try {
        source = await byteSource(input);
        const entries = await zipEntries(source);
        if (!entries) return undefined;

        const workbookXml = await entryText(source, entries.get('xl/workbook.xml'));
        const relsXml = await entryText(source, entries.get('xl/_rels/workbook.xml.rels'));
        const path = workbookXml && relsXml ? sheetPath(workbookXml, relsXml, sheetName) : undefined;
        const head = path ? await entryText(source, entries.get(path), SHEET_HEAD_BYTES) : undefined;

        const ref = head && /<(?:\w+:)?dimension\s+ref="([^"]+)"/.exec(head)?.[1];
        const lastRow = ref ? Number(/(\d+)$/.exec(ref)?.[1]) : NaN;
        return Number.isInteger(lastRow) && lastRow > 0 ? lastRow : undefined;
    } catch {
        // Only the progress badge depends on this, and the workbook reader reports a broken file.
        return undefined;
    } finally {
        await source?.close();
    }
}
