// Signed envelopes: a batch of readings from one device with an Ed25519 signature over the
// canonical JSON of every field except `sig`.
import { sign, verify, type KeyObject } from 'node:crypto';

import { ValidationError } from '../errors';
import type { SignedEnvelope } from '../types';
import { canonicalJson } from './canonical';

export type UnsignedEnvelope = Omit<SignedEnvelope, 'sig'>;

/** Length of an Ed25519 signature in base64: 64 bytes. */
const SIGNATURE_BASE64_LENGTH = 88;
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

function requireEd25519(key: KeyObject, role: string): void {
    if (key.asymmetricKeyType !== 'ed25519') {
        throw new ValidationError('invalid_key', `The ${role} key is ${key.asymmetricKeyType ?? key.type}, not Ed25519; use an Ed25519 key pair.`);
    }
}

/** Returns the bytes that are signed: the canonical JSON of the envelope without `sig`. */
export function signingInput(envelope: UnsignedEnvelope | SignedEnvelope): Buffer {
    const fields: Record<string, unknown> = { ...envelope };
    delete fields.sig;
    return Buffer.from(canonicalJson(fields), 'utf8');
}

/**
 * Signs an envelope with an Ed25519 private key; any `sig` already present is replaced. The result
 * has its keys, and its readings' keys, in canonical order. JSON.stringify then writes the signed
 * bytes with the `sig` member in its sorted place, so the cloud can check the signature against
 * the received text without serializing the envelope again (see signedBytesOf).
 */
export function signEnvelope(envelope: UnsignedEnvelope, privateKey: KeyObject): SignedEnvelope {
    requireEd25519(privateKey, 'private');
    const input = signingInput(envelope);
    const sig = sign(null, input, privateKey).toString('base64');
    const ordered = JSON.parse(input.toString('utf8')) as Record<string, unknown>;
    const signed: Record<string, unknown> = {};
    for (const key of [...Object.keys(ordered), 'sig'].sort()) signed[key] = key === 'sig' ? sig : ordered[key];
    return signed as unknown as SignedEnvelope;
}

/** The top-level members that may follow `sig` in canonical order: `v` alone, in version 1. */
const AFTER_SIG = /^(,"v":\d+)?\}$/;

/**
 * Returns the bytes that were signed when `text`, the received JSON of an envelope, is laid out as
 * signEnvelope writes it: canonical JSON with the `sig` member in its sorted place. Returns
 * undefined for any other layout, which needs the canonical form computed (signingInput).
 * Removing the member cannot change what the text means: it is a top-level member, because only
 * `v` and the closing brace may follow it, and a signature that verifies over the result proves
 * those exact bytes came from the device.
 */
export function signedBytesOf(text: string, sig: string): Buffer | undefined {
    const member = `,"sig":"${sig}"`;
    const at = text.lastIndexOf(member);
    if (at < 0) return undefined;
    const rest = text.slice(at + member.length);
    if (!AFTER_SIG.test(rest)) return undefined;
    return Buffer.from(text.slice(0, at) + rest, 'utf8');
}

/** Decodes a base64 Ed25519 signature; undefined when the text is not exactly 64 bytes of base64. */
export function decodeSignature(sig: string): Buffer | undefined {
    if (sig.length !== SIGNATURE_BASE64_LENGTH || !BASE64_PATTERN.test(sig)) return undefined;
    const bytes = Buffer.from(sig, 'base64');
    return bytes.length === 64 ? bytes : undefined;
}

/**
 * Checks the signature of an envelope with the device's Ed25519 public key. Returns false for a
 * signature that is malformed or does not match, and for fields that have no canonical JSON form.
 * `text`, the JSON the envelope was parsed from, is checked first when given (see signedBytesOf).
 */
export function verifyEnvelope(envelope: SignedEnvelope, publicKey: KeyObject, text?: string): boolean {
    requireEd25519(publicKey, 'public');
    const signature = typeof envelope.sig === 'string' ? decodeSignature(envelope.sig) : undefined;
    if (!signature) return false;
    // The received text, when it is already canonical, spares serializing the envelope again.
    const received = text === undefined ? undefined : signedBytesOf(text, envelope.sig);
    if (received && verify(null, received, publicKey, signature)) return true;
    let input: Buffer;
    try {
        input = signingInput(envelope);
    } catch (err) {
        if (err instanceof ValidationError) return false;
        throw err;
    }
    return verify(null, input, publicKey, signature);
}
