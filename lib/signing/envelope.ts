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

/** Signs an envelope with an Ed25519 private key; any `sig` already present is replaced. */
export function signEnvelope(envelope: UnsignedEnvelope, privateKey: KeyObject): SignedEnvelope {
    requireEd25519(privateKey, 'private');
    const signature = sign(null, signingInput(envelope), privateKey);
    return { ...envelope, sig: signature.toString('base64') };
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
 */
export function verifyEnvelope(envelope: SignedEnvelope, publicKey: KeyObject): boolean {
    requireEd25519(publicKey, 'public');
    const signature = typeof envelope.sig === 'string' ? decodeSignature(envelope.sig) : undefined;
    if (!signature) return false;
    let input: Buffer;
    try {
        input = signingInput(envelope);
    } catch (err) {
        if (err instanceof ValidationError) return false;
        throw err;
    }
    return verify(null, input, publicKey, signature);
}
