/**
 * The fleet audit log's hash chain: each row's `hash` is the SHA-256 (hex) of the canonical JSON
 * (`src/canonical`, the encoder TUF signs with) of the row without `hash`, and each row carries
 * the previous row's hash as `prevHash` (`'0' × 64` for the first row). Changing, removing,
 * inserting or reordering a row breaks the chain at that row; {@link verifyAuditChain} names the
 * first broken row and why.
 *
 * What a chain cannot show on its own: someone who can write the database may cut rows off the
 * end, or append rows with correctly computed hashes, and rewrite every row after a change. Only
 * a copy of the head (`seq`, `hash`) kept elsewhere (a ticket, a signed log, a second system)
 * catches that: pass it as `expectedHead`.
 *
 * Pure (no I/O, no clock): safe for concurrent use.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { encodeCanonical } from '../../canonical/index.js';
import { FleetError } from '../../errors.js';
import type { AuditEntry, AuditInput } from './fleet-store.js';

/** `prevHash` of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** Why a row breaks the chain. */
export type AuditChainBreak =
  /** The row's content does not match its hash: a column was changed. */
  | 'changed'
  /** A sequence number is missing before this row: a row was removed. */
  | 'removed'
  /** The row does not link to the previous row's hash: a row was inserted or re-hashed. */
  | 'inserted'
  /** The sequence number does not increase: rows were reordered or duplicated. */
  | 'reordered'
  /** The chain ends before (or differs from) the head kept elsewhere: rows were cut off. */
  | 'truncated';

/** What {@link verifyAuditChain} found. */
export type AuditChainResult =
  | {
      ok: true;
      /** Rows checked. */
      count: number;
      /** The last row checked (continue from it with the next page), if any. */
      head?: { seq: number; hash: string };
    }
  | {
      ok: false;
      /** The first sequence number at which the chain is broken. */
      seq: number;
      reason: AuditChainBreak;
      message: string;
    };

/** The row as it is hashed: every field but `hash`, absent optional fields left out. */
function hashedForm(entry: Omit<AuditEntry, 'hash'>): Record<string, unknown> {
  const form: Record<string, unknown> = {
    seq: entry.seq,
    prevHash: entry.prevHash,
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    at: entry.at,
  };
  if (entry.from !== undefined) form.from = entry.from;
  if (entry.before !== undefined) form.before = entry.before;
  if (entry.after !== undefined) form.after = entry.after;
  return form;
}

/**
 * The hash of an audit row: SHA-256 hex over the canonical JSON of the row without `hash`.
 *
 * @throws {CanonicalJsonError} when `before`/`after` hold values canonical JSON refuses (floats,
 *   `undefined` inside arrays, class instances); {@link normalizeAuditValue} prevents that.
 *
 * @example
 * ```ts
 * const hash = auditEntryHash({ seq: 1, prevHash: GENESIS_HASH, actor: 'system', action: 'init', subject: 'server', at: '2026-12-04T18:00:00.000Z' });
 * ```
 */
export function auditEntryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256')
    .update(encodeCanonical(hashedForm(entry)))
    .digest('hex');
}

/**
 * `value` as the audit log stores it: a plain JSON value (what `JSON.stringify` keeps), refused
 * when canonical JSON cannot hash it (a fractional number), so that the row written is exactly
 * the row read back and hashed.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_BAD_REQUEST` naming the field.
 *
 * @example
 * ```ts
 * normalizeAuditValue({ a: 1, b: undefined }, 'after'); // { a: 1 }
 * ```
 */
export function normalizeAuditValue(value: unknown, field: string): unknown {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  if (text === undefined) return undefined;
  const plain: unknown = JSON.parse(text);
  try {
    encodeCanonical(plain);
  } catch (error) {
    throw new FleetError(
      'ERR_TUF_FLEET_BAD_REQUEST',
      `audit ${field} cannot be hashed as canonical JSON (${(error as Error).message}); use integers and strings`,
      { cause: error },
    );
  }
  return plain;
}

/**
 * Build the next row of the chain from what was done (`input`) and the previous row's
 * `seq`/`hash` (`undefined` for the first row).
 *
 * @example
 * ```ts
 * const first = nextAuditEntry(undefined, { actor: 'system', action: 'init', subject: 'server', at });
 * const second = nextAuditEntry(first, { actor: 'user:ann', action: 'user.create', subject: 'user:bob', at });
 * ```
 */
export function nextAuditEntry(
  previous: { seq: number; hash: string } | undefined,
  input: AuditInput,
): AuditEntry {
  const entry: Omit<AuditEntry, 'hash'> = {
    seq: (previous?.seq ?? 0) + 1,
    prevHash: previous?.hash ?? GENESIS_HASH,
    actor: input.actor,
    action: input.action,
    subject: input.subject,
    at: input.at,
    ...(input.from !== undefined ? { from: input.from } : {}),
    ...(input.before !== undefined ? { before: normalizeAuditValue(input.before, 'before') } : {}),
    ...(input.after !== undefined ? { after: normalizeAuditValue(input.after, 'after') } : {}),
  };
  return { ...entry, hash: auditEntryHash(entry) };
}

/** Where a page of the chain starts (the head returned for the previous page). */
export interface AuditChainStart {
  seq: number;
  hash: string;
}

/**
 * Check a run of audit rows, in the order read (by `seq`). From the first row (`start` absent)
 * the run must begin at seq 1 with the genesis `prevHash`; a later page passes the previous
 * page's `head` as `start`. `expectedHead`, a head recorded elsewhere, makes a cut-off tail
 * detectable.
 *
 * @returns `{ok: true, count, head}` or the first broken row: `changed` (content does not match
 *   its hash), `removed` (a seq gap), `inserted` (does not link to the previous row),
 *   `reordered` (seq does not increase), `truncated` (ends before `expectedHead`).
 *
 * @example
 * ```ts
 * const result = verifyAuditChain(await store.listAudit({ limit: 1000 }));
 * if (!result.ok) console.error(`audit row ${result.seq}: ${result.message}`);
 * ```
 */
export function verifyAuditChain(
  entries: readonly AuditEntry[],
  options: { start?: AuditChainStart; expectedHead?: AuditChainStart } = {},
): AuditChainResult {
  let previous: AuditChainStart = options.start ?? { seq: 0, hash: GENESIS_HASH };
  for (const entry of entries) {
    const expected = previous.seq + 1;
    if (entry.seq < expected) {
      return {
        ok: false,
        seq: entry.seq,
        reason: 'reordered',
        message: `row ${entry.seq} comes after row ${previous.seq}: rows were reordered or duplicated`,
      };
    }
    if (entry.seq > expected) {
      const missing = entry.seq - 1 === expected ? `${expected}` : `${expected}–${entry.seq - 1}`;
      return {
        ok: false,
        seq: expected,
        reason: 'removed',
        message: `row ${missing} is missing (row ${entry.seq} follows row ${previous.seq}): a row was removed`,
      };
    }
    let recomputed: string;
    try {
      recomputed = auditEntryHash(entry);
    } catch {
      recomputed = '';
    }
    if (recomputed !== entry.hash) {
      return {
        ok: false,
        seq: entry.seq,
        reason: 'changed',
        message: `row ${entry.seq} does not match its hash: its content was changed`,
      };
    }
    if (entry.prevHash !== previous.hash) {
      return {
        ok: false,
        seq: entry.seq,
        reason: 'inserted',
        message: `row ${entry.seq} does not link to row ${previous.seq}'s hash: a row was inserted, or an earlier row changed and re-hashed`,
      };
    }
    previous = { seq: entry.seq, hash: entry.hash };
  }
  const head = options.expectedHead;
  if (head !== undefined && (previous.seq !== head.seq || previous.hash !== head.hash)) {
    return {
      ok: false,
      seq: Math.min(previous.seq + 1, head.seq),
      reason: 'truncated',
      message: `the chain ends at row ${previous.seq}, not at the recorded head row ${head.seq} (${head.hash.slice(0, 12)}…): rows were cut off or rewritten`,
    };
  }
  return {
    ok: true,
    count: entries.length,
    ...(previous.seq > (options.start?.seq ?? 0) ? { head: previous } : {}),
  };
}

/**
 * {@link verifyAuditChain}, throwing when the chain is broken.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_AUDIT_TAMPERED` with the first broken row and why.
 *
 * @example
 * ```ts
 * assertAuditChain(await store.listAudit());
 * ```
 */
export function assertAuditChain(
  entries: readonly AuditEntry[],
  options: { start?: AuditChainStart; expectedHead?: AuditChainStart } = {},
): { count: number; head?: AuditChainStart } {
  const result = verifyAuditChain(entries, options);
  if (!result.ok) {
    throw new FleetError(
      'ERR_TUF_FLEET_AUDIT_TAMPERED',
      `audit log broken at row ${result.seq} (${result.reason}): ${result.message}`,
    );
  }
  return result.head === undefined
    ? { count: result.count }
    : { count: result.count, head: result.head };
}
