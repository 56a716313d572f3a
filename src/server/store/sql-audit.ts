/**
 * Appending to the audit chain inside a store transaction: lock the chain head (one row,
 * `audit_head`), build the next row from it (`audit-chain.ts`), insert it and move the head —
 * all in the caller's transaction, so the entry commits or rolls back with the write it records,
 * and concurrent writers queue on the head lock instead of forking the chain.
 *
 * @module
 */
import { CanonicalJsonError, FleetError } from '../../errors.js';
import { nextAuditEntry } from './audit-chain.js';
import type { AuditEntry, AuditInput } from './fleet-store.js';
import type { SqlDialect, SqlTransaction } from './sql-database.js';
import { auditFromRow } from './sql-rows.js';
import {
  badRequest,
  checkOptionalText,
  checkText,
  checkTime,
  jsonText,
  LIMITS,
} from './validation.js';

function checkAuditInput(input: AuditInput): AuditInput {
  if (typeof input !== 'object' || input === null) throw badRequest('audit must be an object');
  const from = checkOptionalText(input.from, 'audit from', LIMITS.address);
  return {
    actor: checkText(input.actor, 'audit actor', LIMITS.shortText),
    action: checkText(input.action, 'audit action', LIMITS.shortText),
    subject: checkText(input.subject, 'audit subject', LIMITS.shortText),
    ...(from !== undefined ? { from } : {}),
    at: checkTime(input.at, 'audit at'),
    ...(input.before !== undefined ? { before: input.before } : {}),
    ...(input.after !== undefined ? { after: input.after } : {}),
  };
}

/** Append `input` to the chain within `tx`; returns the row written. */
export async function appendAuditTx(
  dialect: SqlDialect,
  tx: SqlTransaction,
  input: AuditInput,
): Promise<AuditEntry> {
  const checked = checkAuditInput(input);
  const [head] = await tx.all(`SELECT seq, hash FROM audit_head WHERE id = 1${dialect.forUpdate}`);
  if (head === undefined) {
    throw new FleetError('ERR_TUF_FLEET_STORE', 'the audit chain head row is missing');
  }
  const seq = Number(head.seq);
  let entry: AuditEntry;
  try {
    entry = nextAuditEntry(seq === 0 ? undefined : { seq, hash: String(head.hash) }, checked);
  } catch (error) {
    if (error instanceof CanonicalJsonError) {
      throw badRequest(`audit entry cannot be hashed as canonical JSON: ${error.message}`);
    }
    throw error;
  }
  await tx.run(
    'INSERT INTO audit_log (seq, actor, action, subject, from_address, at, before_json, after_json, prev_hash, hash)' +
      ' VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      entry.seq,
      entry.actor,
      entry.action,
      entry.subject,
      entry.from ?? null,
      entry.at,
      entry.before === undefined ? null : jsonText(entry.before, 'audit before', LIMITS.auditJson),
      entry.after === undefined ? null : jsonText(entry.after, 'audit after', LIMITS.auditJson),
      entry.prevHash,
      entry.hash,
    ],
  );
  await tx.run('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [entry.seq, entry.hash]);
  return entry;
}

/** Audit rows after `afterSeq`, oldest first. */
export async function listAuditTx(
  tx: SqlTransaction,
  afterSeq: number,
  limit: number,
): Promise<AuditEntry[]> {
  const rows = await tx.all('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?', [
    afterSeq,
    limit,
  ]);
  return rows.map(auditFromRow);
}
