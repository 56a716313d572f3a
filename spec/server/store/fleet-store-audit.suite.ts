/**
 * Shared suite, part: the audit log (written in the same transaction as the write it records,
 * hash-chained, tampering found at the right row, linear under concurrent writers) and the
 * versioned migrations (idempotent, each all-or-nothing, a newer schema refused).
 */
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../src/server/store/audit-chain.js';
import type { FleetStore } from '../../../src/server/store/fleet-store.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from '../../../src/server/store/migrations.js';
import { at, audit, device, type StoreHarness, T0 } from './fleet-store.suite.js';

export function auditSuite(
  harness: StoreHarness,
  current: () => FleetStore,
  open: () => Promise<FleetStore>,
): void {
  /** Five audited writes of different kinds. */
  async function history(store: FleetStore): Promise<void> {
    await store.createUser(
      { userId: 'bob', name: 'Bob', role: 'viewer', createdAt: T0 },
      audit('user.create', 'user:bob', { after: { role: 'viewer' } }),
    );
    await store.createDevice(device('vin-1'), audit('device.create', 'device:vin-1'));
    await store.updateDevice(
      'vin-1',
      { status: 'rejected' },
      audit('device.reject', 'device:vin-1', {
        before: { status: 'accepted' },
        after: { status: 'rejected' },
      }),
    );
    await store.appendAudit(audit('login', 'user:ann', { from: '192.0.2.1', at: at(1) }));
    await store.setSetting('retention', { days: 7 }, audit('settings.set', 'setting:retention'));
  }

  describe('audit log', () => {
    it('records each audited write in order, with its chain verifying end to end', async () => {
      await open();
      const store = current();
      await history(store);
      const entries = await store.listAudit();
      expect(entries.map((e) => [e.seq, e.action])).toEqual([
        [1, 'user.create'],
        [2, 'device.create'],
        [3, 'device.reject'],
        [4, 'login'],
        [5, 'settings.set'],
      ]);
      expect(entries[2]).toMatchObject({
        actor: 'user:ann',
        from: '127.0.0.1',
        before: { status: 'accepted' },
        after: { status: 'rejected' },
      });
      expect(entries[0]?.prevHash).toBe('0'.repeat(64));
      expect(entries[1]?.prevHash).toBe(entries[0]?.hash);
      expect(verifyAuditChain(entries)).toEqual({
        ok: true,
        count: 5,
        head: { seq: 5, hash: entries[4]?.hash },
      });
      // Paging with afterSeq and a start continues the chain.
      const tail = await store.listAudit({ afterSeq: 3 });
      expect(tail.map((e) => e.seq)).toEqual([4, 5]);
      const start = { seq: 3, hash: entries[2]?.hash as string };
      expect(verifyAuditChain(tail, { start }).ok).toBe(true);
      expect((await store.listAudit({ limit: 2 })).map((e) => e.seq)).toEqual([1, 2]);
    });

    it('writes no audit entry when the write fails, and no write when the audit entry fails', async () => {
      await open();
      const store = current();
      await store.createDevice(device('vin-1'), audit('device.create', 'device:vin-1'));
      await expect(
        store.createDevice(device('vin-1'), audit('device.create', 'device:vin-1')),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
      await expect(
        store.createUser(
          { userId: 'bob', name: 'Bob', role: 'viewer', createdAt: T0 },
          audit('user.create', 'user:bob', { at: 'not a time' }),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      expect(await store.getUser('bob')).toBeUndefined();
      await expect(
        store.updateDevice(
          'vin-1',
          { status: 'rejected' },
          audit('device.reject', 'device:vin-1', { after: { ratio: 0.5 } }),
        ),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      expect((await store.getDevice('vin-1'))?.status).toBe('accepted');
      expect((await store.listAudit()).map((e) => e.seq)).toEqual([1]);
    });

    it('detects a changed row at its seq', async () => {
      await open();
      await history(current());
      await harness.sql("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3");
      expect(verifyAuditChain(await current().listAudit())).toMatchObject({
        ok: false,
        seq: 3,
        reason: 'changed',
      });
    });

    it('detects a changed before/after value at its seq', async () => {
      await open();
      await history(current());
      await harness.sql(`UPDATE audit_log SET after_json = '{"status":"accepted"}' WHERE seq = 3`);
      expect(verifyAuditChain(await current().listAudit())).toMatchObject({
        ok: false,
        seq: 3,
        reason: 'changed',
      });
    });

    it('detects a removed row as a gap at the missing seq', async () => {
      await open();
      await history(current());
      await harness.sql('DELETE FROM audit_log WHERE seq = 2');
      expect(verifyAuditChain(await current().listAudit())).toMatchObject({
        ok: false,
        seq: 2,
        reason: 'removed',
      });
    });

    it('detects a removed last row at the next append, and against a recorded head', async () => {
      await open();
      const store = current();
      await history(store);
      const head = (await store.listAudit()).at(-1) as { seq: number; hash: string };
      await harness.sql('DELETE FROM audit_log WHERE seq = 5');
      expect(verifyAuditChain(await store.listAudit(), { expectedHead: head })).toMatchObject({
        ok: false,
        reason: 'truncated',
      });
      await store.appendAudit(audit('login', 'user:ann'));
      expect(verifyAuditChain(await store.listAudit())).toMatchObject({ ok: false, seq: 5 });
    });

    it('detects an inserted row at its seq', async () => {
      await open();
      const store = current();
      await history(store);
      const entries = await store.listAudit();
      // A forged row that copies row 4's link (a fork) with a correctly computed hash.
      const { auditEntryHash } = await import('../../../src/server/store/audit-chain.js');
      const forged = {
        seq: 6,
        prevHash: entries[3]?.hash as string,
        actor: 'user:mallory',
        action: 'user.create',
        subject: 'user:mallory',
        at: T0,
      };
      await harness.sql(
        'INSERT INTO audit_log (seq, actor, action, subject, at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [
          6,
          forged.actor,
          forged.action,
          forged.subject,
          forged.at,
          forged.prevHash,
          auditEntryHash(forged),
        ],
      );
      expect(verifyAuditChain(await store.listAudit())).toMatchObject({
        ok: false,
        seq: 6,
        reason: 'inserted',
      });
    });

    it('stays one linear chain under 50 concurrent appenders, and beside a second store', async () => {
      await open();
      const store = current();
      const other = await harness.reopen();
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 ? store : other).appendAudit(audit('login', `user:u${i}`, { at: at(i) })),
        ),
      );
      const entries = await store.listAudit();
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(entries.map((e) => e.subject)).size).toBe(50);
      expect(verifyAuditChain(entries)).toMatchObject({ ok: true, count: 50 });
    });
  });

  describe('migrations', () => {
    it('are idempotent and recorded once per version', async () => {
      await open();
      const store = current();
      expect(await store.migrate()).toBe(SCHEMA_VERSION);
      expect(await store.migrate()).toBe(SCHEMA_VERSION);
      const again = await harness.reopen();
      expect(await again.migrate()).toBe(SCHEMA_VERSION);
      const rows = await harness.sql('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    });

    it('apply a failing migration all or nothing', async () => {
      await open();
      const db = await harness.database();
      const broken = [
        ...MIGRATIONS,
        {
          version: SCHEMA_VERSION + 1,
          name: 'half-broken',
          statements: () => [
            'CREATE TABLE half_done (x INTEGER)',
            'CREATE TABLE oops (syntax error',
          ],
        },
      ];
      await expect(migrate(db, broken)).rejects.toThrow();
      await expect(harness.sql('SELECT * FROM half_done')).rejects.toThrow();
      const rows = await harness.sql('SELECT MAX(version) AS v FROM schema_migrations');
      expect(Number(rows[0]?.v)).toBe(SCHEMA_VERSION);
      // The next migration of a fixed program applies once, on top.
      const fixed = [
        ...MIGRATIONS,
        {
          version: SCHEMA_VERSION + 1,
          name: 'fixed',
          statements: () => ['CREATE TABLE half_done (x INTEGER)'],
        },
      ];
      expect(await migrate(db, fixed)).toBe(SCHEMA_VERSION + 1);
      expect(await migrate(db, fixed)).toBe(SCHEMA_VERSION + 1);
      expect(await harness.sql('SELECT * FROM half_done')).toEqual([]);
    });

    it('refuse a database whose schema is newer than the program, naming both versions', async () => {
      await open();
      await harness.sql(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', '2030-01-01')",
      );
      const error = await harness.reopen().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'ERR_TUF_FLEET_STORE' });
      expect((error as Error).message).toContain('version 99');
      expect((error as Error).message).toContain(`version ${SCHEMA_VERSION}`);
      await expect(current().migrate()).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_STORE' });
    });
  });
}
