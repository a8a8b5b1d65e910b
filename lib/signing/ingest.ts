// Verification of signed envelopes at the cloud front door, for MQTT messages and for the lines of
// `POST /v1/ingest`. Every failure becomes a Rejection whose reason names the field, the value and
// the fix.
import { assetSetOf } from '../asset-set';
import { parseTime } from '../time';
import type { QualityFlag, Rejection, SignedEnvelope } from '../types';
import { decodeSignature, verifyEnvelope } from './envelope';
import type { DeviceLookup } from './registry';
import type { SequenceState } from './sequence';
import { parseReadingsTopic } from './topic';

/**
 * Outcome of verifying one envelope. `redelivered` marks an envelope accepted before with the same
 * signature: a repeated delivery, which callers may count and drop instead of quarantining.
 */
export type IngestResult = { ok: true; envelope: SignedEnvelope } | { ok: false; rejection: Rejection; redelivered?: boolean };

export interface IngestOptions {
    /**
     * MQTT topic the envelope arrived on. When given, it must be `ops/{operator}/{asset_id}/readings`
     * with the envelope's operator and the asset of every reading, or `ops/{operator}/{device_id}/readings`
     * with the signing device for a batch of several assets (code `topic_mismatch`).
     */
    topic?: string;
    /** Time stamped on rejections. Default now. */
    now?: Date;
}

const ENVELOPE_FIELDS = new Set(['v', 'device_id', 'cert_id', 'seq', 'operator', 'readings', 'sig']);
const READING_FIELDS = new Set(['asset_id', 'metric', 'value', 'unit', 'ts', 'quality_flag']);
const QUALITY_FLAGS = new Set<QualityFlag>(['GOOD', 'SUSPECT', 'BAD']);
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export interface ShapeProblem {
    field: string;
    value: unknown;
    reason: string;
}

/** Returns a short JSON rendering of a received value for a reason sentence. */
function show(value: unknown): string {
    if (value === undefined) return 'missing';
    let text: string;
    try {
        text = JSON.stringify(value) ?? String(value);
    } catch {
        // Circular and BigInt values come only from a caller's object, and values nested thousands
        // of levels deep overflow the stack in both JSON.stringify and String.
        text = Array.isArray(value) ? 'an array that cannot be shown' : `a ${typeof value} that cannot be shown`;
    }
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Nesting depth that a version 1 envelope never needs: the envelope, its readings array and each
 * reading make 3 levels. Deeper values are rejected before any recursive step touches them.
 */
export const MAX_ENVELOPE_DEPTH = 8;

/** Returns whether arrays and objects in `value` nest deeper than `limit` levels, without recursion. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
    if (typeof value !== 'object' || value === null) return false;
    // Two parallel stacks, so that a walk over a large envelope allocates no pair per object.
    const items: object[] = [value];
    const depths: number[] = [1];
    while (items.length > 0) {
        const item = items.pop() as object;
        const depth = depths.pop() as number;
        if (depth > limit) return true;
        for (const child of Array.isArray(item) ? item : Object.values(item)) {
            if (typeof child !== 'object' || child === null) continue;
            items.push(child);
            depths.push(depth + 1);
        }
    }
    return false;
}

/** Reason for an envelope nested deeper than MAX_ENVELOPE_DEPTH. */
const TOO_DEEP_REASON = `The envelope nests arrays or objects more than ${MAX_ENVELOPE_DEPTH} levels deep, and a version 1 envelope needs 3 `
    + '(envelope, readings, reading); send { v, device_id, cert_id, seq, operator, readings, sig } with readings as flat objects.';

function nonEmptyString(value: unknown): value is string {
    return typeof value === 'string' && value !== '';
}

function checkReading(reading: unknown, index: number): ShapeProblem | undefined {
    const at = `readings[${index}]`;
    if (typeof reading !== 'object' || reading === null || Array.isArray(reading)) {
        return { field: at, value: reading, reason: `${at} is ${show(reading)}, not an object; send each reading as { asset_id, metric, value, unit, ts }.` };
    }
    const record = reading as Record<string, unknown>;
    const unknown = Object.keys(record).find((key) => !READING_FIELDS.has(key));
    if (unknown !== undefined) {
        return { field: `${at}.${unknown}`, value: record[unknown], reason: `${at}.${unknown} is an unknown field; remove it, since readings carry only asset_id, metric, value, unit, ts and quality_flag.` };
    }
    for (const key of ['asset_id', 'metric', 'unit'] as const) {
        if (!nonEmptyString(record[key])) {
            return { field: `${at}.${key}`, value: record[key], reason: `${at}.${key} is ${show(record[key])}; send a non-empty string.` };
        }
    }
    const value = record.value;
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
        return { field: `${at}.value`, value, reason: `${at}.value is ${show(value)}; send a finite number, or null for a missing value.` };
    }
    const ts = record.ts;
    if (typeof ts !== 'string' || !ISO_TIMESTAMP.test(ts) || !Number.isFinite(parseTime(ts))) {
        return { field: `${at}.ts`, value: ts, reason: `${at}.ts is ${show(ts)}; send an ISO 8601 time with zone, such as 2017-10-31T19:30:25.000Z.` };
    }
    if (record.quality_flag !== undefined && !QUALITY_FLAGS.has(record.quality_flag as QualityFlag)) {
        return { field: `${at}.quality_flag`, value: record.quality_flag, reason: `${at}.quality_flag is ${show(record.quality_flag)}; send GOOD, SUSPECT or BAD, or leave it out.` };
    }
    return undefined;
}

/** Checks that `readings` is a non-empty array of well-formed readings; returns the first problem. */
export function checkReadingsShape(readings: unknown): ShapeProblem | undefined {
    if (!Array.isArray(readings) || readings.length === 0) {
        return { field: 'readings', value: readings, reason: `Field readings is ${show(readings)}; send a non-empty array of readings.` };
    }
    for (let index = 0; index < readings.length; index++) {
        const problem = checkReading(readings[index], index);
        if (problem) return problem;
    }
    return undefined;
}

/** Checks the fields and types of a signed envelope, without its signature; returns the first problem. */
export function checkEnvelopeShape(value: unknown): ShapeProblem | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return { field: 'envelope', value, reason: `The envelope is ${show(value)}, not a JSON object; send { v, device_id, cert_id, seq, operator, readings, sig }.` };
    }
    const record = value as Record<string, unknown>;
    const unknown = Object.keys(record).find((key) => !ENVELOPE_FIELDS.has(key));
    if (unknown !== undefined) {
        return { field: unknown, value: record[unknown], reason: `Field ${unknown} is unknown; remove it, since version 1 envelopes carry only v, device_id, cert_id, seq, operator, readings and sig.` };
    }
    if (record.v !== 1) return { field: 'v', value: record.v, reason: `Field v is ${show(record.v)}; this version accepts only envelopes with v = 1.` };
    for (const key of ['device_id', 'cert_id', 'operator'] as const) {
        if (!nonEmptyString(record[key])) return { field: key, value: record[key], reason: `Field ${key} is ${show(record[key])}; send a non-empty string.` };
    }
    const seq = record.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
        return { field: 'seq', value: seq, reason: `Field seq is ${show(seq)}; send a whole number of 1 or more that grows with every envelope.` };
    }
    const problem = checkReadingsShape(record.readings);
    if (problem) return problem;
    if (typeof record.sig !== 'string' || !decodeSignature(record.sig)) {
        return { field: 'sig', value: record.sig, reason: `Field sig is ${show(record.sig)}; send the 64-byte Ed25519 signature in base64 (88 characters).` };
    }
    return undefined;
}

/**
 * Parses and verifies one envelope in JSON text: a line of `POST /v1/ingest` or an MQTT message.
 * Accepted sequence numbers are recorded in `sequences`.
 */
export function verifyIngestLine(text: string, registry: DeviceLookup, sequences: SequenceState, source: string, options: IngestOptions = {}): IngestResult {
    const receivedAt = (options.now ?? new Date()).toISOString();
    // A rejection of the text itself keeps the text, because the parsed value may not be storable.
    const rejectText = (code: string, reason: string): IngestResult => ({ ok: false, rejection: { source, code, reason, payload: text, received_at: receivedAt } });
    const unit = options.topic === undefined ? 'line' : 'message';
    if (text.trim() === '') {
        return rejectText('malformed_json', `The ${unit} is empty; send one signed JSON envelope${unit === 'line' ? ' per line' : ''}.`);
    }
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (err) {
        const fix = unit === 'line' ? 'send one complete JSON envelope per line' : 'publish one complete JSON envelope per message';
        return rejectText('malformed_json', `The ${unit} is not valid JSON (${(err as Error).message}); ${fix}.`);
    }
    if (nestsDeeperThan(value, MAX_ENVELOPE_DEPTH)) {
        return { ok: false, rejection: { source, code: 'invalid_envelope', reason: TOO_DEEP_REASON, field: 'envelope', payload: text, received_at: receivedAt } };
    }
    return verifyShallowValue(value, registry, sequences, source, options, receivedAt, text);
}

/**
 * Verifies a parsed envelope: shape, known device, certificate, operator, signature, permitted assets,
 * topic (when given) and a sequence number above the device's last accepted one. Only an envelope
 * that passes every check updates `sequences`.
 */
export function verifyIngestValue(value: unknown, registry: DeviceLookup, sequences: SequenceState, source: string, options: IngestOptions = {}): IngestResult {
    const receivedAt = (options.now ?? new Date()).toISOString();
    if (nestsDeeperThan(value, MAX_ENVELOPE_DEPTH)) {
        // The value itself is left out: the store could not serialize it.
        return { ok: false, rejection: { source, code: 'invalid_envelope', reason: TOO_DEEP_REASON, field: 'envelope', received_at: receivedAt } };
    }
    return verifyShallowValue(value, registry, sequences, source, options, receivedAt);
}

/** Verifies a parsed envelope whose nesting depth was checked already, so it is walked once. */
function verifyShallowValue(value: unknown, registry: DeviceLookup, sequences: SequenceState, source: string, options: IngestOptions, receivedAt: string, text?: string): IngestResult {
    const reject = (code: string, reason: string, field: string, offending: unknown, ref?: string): IngestResult => {
        const rejection: Rejection = { source, code, reason, field, value: offending, payload: value, received_at: receivedAt };
        if (ref !== undefined) rejection.ref = ref;
        return { ok: false, rejection };
    };

    const problem = checkEnvelopeShape(value);
    if (problem) return reject('invalid_envelope', problem.reason, problem.field, problem.value);
    const envelope = value as SignedEnvelope;
    const ref = String(envelope.seq);
    const device = registry.get(envelope.device_id);
    if (!device) {
        return reject('unknown_device', `Device ${envelope.device_id} is not in the device registry; register it with its public key, or correct device_id.`, 'device_id', envelope.device_id, ref);
    }
    if (envelope.cert_id !== device.cert_id) {
        return reject(
            'cert_mismatch',
            `Certificate ${envelope.cert_id} of device ${device.device_id} does not match the registered certificate ${device.cert_id}; sign with the registered key or update the registry entry.`,
            'cert_id',
            envelope.cert_id,
            ref,
        );
    }
    if (!verifyEnvelope(envelope, device.key, text)) {
        return reject(
            'bad_signature',
            `The signature of envelope ${ref} from device ${device.device_id} does not match its content and the key of certificate ${device.cert_id}; the envelope was changed after signing or signed with another key, so resend it signed with the device's registered key.`,
            'sig',
            envelope.sig,
            ref,
        );
    }
    // After the signature, so that an operator changed in transit is reported as a bad signature.
    if (envelope.operator !== device.operator) {
        return reject(
            'operator_mismatch',
            `Operator ${envelope.operator} does not match operator ${device.operator} registered for device ${device.device_id}; configure the device with operator ${device.operator}, or correct its registry entry if the device changed operator.`,
            'operator',
            envelope.operator,
            ref,
        );
    }
    if (device.assets) {
        const allowed = assetSetOf(device.assets);
        const index = envelope.readings.findIndex((reading) => !allowed.has(reading.asset_id));
        if (index >= 0) {
            const assetId = envelope.readings[index].asset_id;
            return reject(
                'asset_not_allowed',
                `Asset ${assetId} in readings[${index}] is not among the assets of device ${device.device_id} (${device.assets.join(', ') || 'none'}); add it to the device's assets in the registry or send it from its own device.`,
                `readings[${index}].asset_id`,
                assetId,
                ref,
            );
        }
    }
    if (options.topic !== undefined) {
        const mismatch = topicMismatch(options.topic, envelope);
        if (mismatch) return reject('topic_mismatch', mismatch, 'topic', options.topic, ref);
    }
    if (!sequences.isFresh(device.device_id, envelope.seq)) {
        const highest = sequences.lastAccepted(device.device_id);
        const reason = sequences.isStale(device.device_id, envelope.seq)
            ? `Sequence ${envelope.seq} of device ${device.device_id} is older than the replay window (${sequences.window} below the highest accepted sequence ${highest}); the envelope is a replay or was held back too long, so send the readings again in a new envelope.`
            : `Sequence ${envelope.seq} of device ${device.device_id} was already accepted; the envelope is a replay or a duplicate delivery, and its readings are stored already.`;
        const result = reject('replayed_sequence', reason, 'seq', envelope.seq, ref);
        if (!result.ok && sequences.isRedelivery(device.device_id, envelope.seq, envelope.sig)) return { ...result, redelivered: true };
        return result;
    }
    sequences.accept(device.device_id, envelope.seq, envelope.sig);
    return { ok: true, envelope };
}

function topicMismatch(topic: string, envelope: SignedEnvelope): string | undefined {
    const parsed = parseReadingsTopic(topic);
    if (!parsed) return `Topic ${topic} is not of the form ops/{operator}/{asset_id}/readings; publish signed readings on their asset's readings topic, or a batch of several assets on ops/{operator}/{device_id}/readings.`;
    if (parsed.operator !== envelope.operator) {
        return `Topic ${topic} names operator ${parsed.operator} but the envelope is from operator ${envelope.operator}; publish on ops/${envelope.operator}/{asset_id}/readings.`;
    }
    // A batch of the signing device may carry any of its assets; they were checked against the
    // device's asset list before.
    if (parsed.level === envelope.device_id) return undefined;
    const other = envelope.readings.find((reading) => reading.asset_id !== parsed.level);
    if (other) {
        return `Topic ${topic} names asset ${parsed.level} but the envelope contains readings of ${other.asset_id}; publish each asset's readings on ops/${envelope.operator}/${other.asset_id}/readings, or the whole batch on the device's topic ops/${envelope.operator}/${envelope.device_id}/readings.`;
    }
    return undefined;
}
