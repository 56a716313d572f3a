/**
 * The audit hash chain on its own (pure): the hash is SHA-256 over the canonical JSON of the row
 * without `hash`, and each kind of tampering is reported at the first broken row with its reason.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalString } from '../../../src/canonical/index.js';
import {
  assertAuditChain,
  auditEntryHash,
  GENESIS_HASH,
  nextAuditEntry,
  normalizeAuditValue,
  verifyAuditChain,
} from '../../../src/server/store/audit-chain.js';
import type { AuditEntry } from '../../../src/server/store/fleet-store.js';

function chain(n: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(
      nextAuditEntry(entries.at(-1), {
        actor: `user:u${i}`,
        action: 'device.accept',
        subject: `device:d${i}`,
        at: `2026-12-04T18:0${i}:00.000Z`,
        ...(i % 2
          ? { from: '10.0.0.1', before: { status: 'pending' }, after: { status: 'accepted' } }
          : {}),
      }),
    );
  }
  return entries;
}

/** Recompute a row's hash after changing it (an attacker who knows the algorithm). */
function rehash(entry: AuditEntry): AuditEntry {
  const { hash: _, ...rest } = entry;
  return { ...rest, hash: auditEntryHash(rest) };
}

describe('audit chain', () => {
  it('hashes the canonical JSON of the row without its hash, linked from the genesis hash', () => {
    const [first, second] = chain(2) as [AuditEntry, AuditEntry];
    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    const { hash, ...withoutHash } = first;
    expect(hash).toBe(createHash('sha256').update(canonicalString(withoutHash)).digest('hex'));
    expect(second.prevHash).toBe(first.hash);
    expect(verifyAuditChain(chain(5))).toEqual({
      ok: true,
      count: 5,
      head: { seq: 5, hash: chain(5)[4]?.hash },
    });
    expect(verifyAuditChain([])).toEqual({ ok: true, count: 0 });
  });

  it('reports a changed row at its seq', () => {
    const entries = chain(5);
    entries[2] = { ...(entries[2] as AuditEntry), actor: 'user:mallory' };
    expect(verifyAuditChain(entries)).toMatchObject({ ok: false, seq: 3, reason: 'changed' });
  });

  it('reports a changed and re-hashed row at the next row, which no longer links', () => {
    const entries = chain(5);
    entries[2] = rehash({ ...(entries[2] as AuditEntry), after: { status: 'rejected' } });
    expect(verifyAuditChain(entries)).toMatchObject({ ok: false, seq: 4, reason: 'inserted' });
  });

  it('reports a removed row as a gap at the missing seq', () => {
    const entries = chain(5);
    entries.splice(1, 2);
    const result = verifyAuditChain(entries);
    expect(result).toMatchObject({ ok: false, seq: 2, reason: 'removed' });
    expect(result.ok || result.message).toContain('2–3');
  });

  it('reports an inserted row (renumbered to fit) where it breaks the link', () => {
    const entries = chain(4);
    const forged = nextAuditEntry(entries[1], {
      actor: 'user:mallory',
      action: 'user.create',
      subject: 'user:m',
      at: '2026-12-04T18:09:00.000Z',
    });
    entries.splice(2, 0, forged);
    // Later rows keep their seq: the forged row 3 is followed by the original row 3.
    expect(verifyAuditChain(entries)).toMatchObject({ ok: false, seq: 3, reason: 'reordered' });
    const shifted = entries.map((e, i) => (i > 2 ? rehash({ ...e, seq: i + 1 }) : e));
    expect(verifyAuditChain(shifted)).toMatchObject({ ok: false, seq: 4, reason: 'inserted' });
  });

  it('reports reordered rows', () => {
    const entries = chain(4);
    [entries[1], entries[2]] = [entries[2] as AuditEntry, entries[1] as AuditEntry];
    expect(verifyAuditChain(entries)).toMatchObject({ ok: false, seq: 2, reason: 'removed' });
    const dup = chain(3);
    dup.push(dup[2] as AuditEntry);
    expect(verifyAuditChain(dup)).toMatchObject({ ok: false, seq: 3, reason: 'reordered' });
  });

  it('verifies page by page from a start, and finds a cut-off tail against a recorded head', () => {
    const entries = chain(6);
    const first = verifyAuditChain(entries.slice(0, 3));
    expect(first.ok).toBe(true);
    const start = first.ok ? first.head : undefined;
    expect(verifyAuditChain(entries.slice(3), { start })).toMatchObject({ ok: true, count: 3 });
    expect(verifyAuditChain(entries.slice(4), { start })).toMatchObject({
      ok: false,
      seq: 4,
      reason: 'removed',
    });
    const head = { seq: 6, hash: (entries[5] as AuditEntry).hash };
    expect(verifyAuditChain(entries, { expectedHead: head }).ok).toBe(true);
    expect(verifyAuditChain(entries.slice(0, 5), { expectedHead: head })).toMatchObject({
      ok: false,
      seq: 6,
      reason: 'truncated',
    });
    expect(() => assertAuditChain(entries.slice(0, 5), { expectedHead: head })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FLEET_AUDIT_TAMPERED' }),
    );
  });

  it('normalizes before/after to plain JSON and refuses what canonical JSON cannot hash', () => {
    expect(normalizeAuditValue({ a: 1, b: undefined, c: [1, 'x'] }, 'after')).toEqual({
      a: 1,
      c: [1, 'x'],
    });
    expect(() => normalizeAuditValue({ ratio: 0.5 }, 'after')).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FLEET_BAD_REQUEST' }),
    );
  });
});
