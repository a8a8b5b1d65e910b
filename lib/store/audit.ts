// Append-only audit log with a hash chain: each entry's hash covers its own fields and the hash
// of the entry before it, so a changed or removed row breaks every hash after it.
import { createHash } from 'node:crypto';

import { canonicalJson } from '../signing/canonical';
import type { Queryable } from './db';

export interface AuditEntryInput {
    actor: string;
    action: string;
    subject?: string;
    details?: Record<string, unknown>;
    /** ISO 8601 time of the action; default now. */
    at?: string;
}

export interface AuditEntry extends Required<Omit<AuditEntryInput, 'subject'>> {
    id: number;
    subject: string | null;
    prev_hash: string | null;
    hash: string;
}

/** Returns the chain hash of an entry: SHA-256 over the previous hash and the canonical JSON of the entry. */
export function auditHash(prevHash: string | null, entry: { at: string; actor: string; action: string; subject: string | null; details: Record<string, unknown> }): string {
    return createHash('sha256')
        .update(prevHash ?? '')
        .update('\n')
        .update(canonicalJson({ at: entry.at, actor: entry.actor, action: entry.action, subject: entry.subject, details: entry.details }))
        .digest('hex');
}

/**
 * Appends an entry after the newest one.
 * NOTE: two processes appending at the same moment can both read the same previous hash. The
 * unique index on hash then rejects the second append with an error.
 */
export async function appendAudit(db: Queryable, input: AuditEntryInput): Promise<AuditEntry> {
    const at = new Date(input.at ?? Date.now()).toISOString();
    const entry = { at, actor: input.actor, action: input.action, subject: input.subject ?? null, details: input.details ?? {} };
    const previous = await db.query<{ hash: string }>('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1');
    const prevHash = previous.rows[0]?.hash ?? null;
    const hash = auditHash(prevHash, entry);
    const { rows } = await db.query<{ id: string | number }>(
        `INSERT INTO audit_log (at, actor, action, subject, details, prev_hash, hash)
        VALUES ($1::timestamptz, $2, $3, $4, $5::jsonb, $6, $7) RETURNING id`,
        [at, entry.actor, entry.action, entry.subject, JSON.stringify(entry.details), prevHash, hash],
    );
    return { id: Number(rows[0].id), ...entry, prev_hash: prevHash, hash };
}

/**
 * Appends an entry inside the caller's transaction, holding a transaction-scoped lock so that
 * concurrent appends chain one after the other instead of failing on the same previous hash.
 */
export async function appendAuditLocked(tx: Queryable, input: AuditEntryInput): Promise<AuditEntry> {
    // The key differs from the partition, refresh and migration keys.
    await tx.query('SELECT pg_advisory_xact_lock(7517260745)');
    return appendAudit(tx, input);
}

type AuditRow = { id: string | number; at: string | Date; actor: string; action: string; subject: string | null; details: Record<string, unknown> | string; prev_hash: string | null; hash: string };

const AUDIT_COLUMNS = 'id, at, actor, action, subject, details, prev_hash, hash';

/** Returns the newest entries first. */
export async function selectAudit(db: Queryable, limit = 100): Promise<AuditEntry[]> {
    const { rows } = await db.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY id DESC LIMIT $1`, [Math.min(Math.max(limit, 1), 10_000)]);
    return rows.map(toEntry);
}

function toEntry(row: AuditRow): AuditEntry {
    return {
        id: Number(row.id),
        at: new Date(row.at).toISOString(),
        actor: row.actor,
        action: row.action,
        subject: row.subject,
        details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
        prev_hash: row.prev_hash,
        hash: row.hash,
    };
}

/** Recomputes the chain from the oldest entry; returns the id of the first entry that does not match, or undefined. */
export async function verifyAuditChain(db: Queryable): Promise<number | undefined> {
    const { rows } = await db.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY id`);
    const entries = rows.map(toEntry);
    let prevHash: string | null = null;
    for (const entry of entries) {
        if (entry.prev_hash !== prevHash || auditHash(prevHash, entry) !== entry.hash) return entry.id;
        prevHash = entry.hash;
    }
    return undefined;
}
