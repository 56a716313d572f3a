/**
 * Shared suite, part: device history and logs with retention, users, API tokens, single-use
 * challenges and settings.
 */
import { describe, expect, it } from 'vitest';
import type { ApiToken, FleetStore } from '../../../src/server/store/fleet-store.js';
import { at, audit, INJECTIONS, type StoreHarness, T0 } from './fleet-store.suite.js';

function token(tokenId: string, sha: string, over: Partial<ApiToken> = {}): ApiToken {
  return {
    tokenId,
    userId: 'ann',
    sha256: sha.repeat(64 / sha.length),
    scopes: ['read'],
    createdAt: T0,
    expiresAt: at(60),
    ...over,
  };
}

export function peopleSuite(
  _harness: StoreHarness,
  current: () => FleetStore,
  open: () => Promise<FleetStore>,
): void {
  describe('device events and logs', () => {
    it('appends and pages events per device and correlation id', async () => {
      await open();
      const store = current();
      for (let i = 0; i < 7; i++) {
        await store.appendEvent({
          deviceId: i % 2 ? 'vin-1' : 'vin-2',
          kind: 'phase',
          correlationId: i < 4 ? 'c-1' : 'c-2',
          at: at(i),
          data: { phase: `p${i}`, nested: { n: i, text: INJECTIONS[i] } },
        });
      }
      const first = await store.listEvents('vin-1', { limit: 2 });
      expect(first.items.map((e) => e.data.phase)).toEqual(['p1', 'p3']);
      expect(first.items[0]?.data).toEqual({ phase: 'p1', nested: { n: 1, text: INJECTIONS[1] } });
      const second = await store.listEvents('vin-1', {
        limit: 2,
        cursor: first.nextCursor as string,
      });
      expect(second.items.map((e) => e.data.phase)).toEqual(['p5']);
      expect(second.nextCursor).toBeUndefined();
      expect(
        (await store.listEvents('vin-2', { correlationId: 'c-2' })).items.map((e) => e.at),
      ).toEqual([at(4), at(6)]);
      await expect(
        store.appendEvent({ deviceId: 'vin-1', kind: 'bogus' as 'phase', at: T0, data: {} }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      await expect(
        store.appendEvent({
          deviceId: 'vin-1',
          kind: 'phase',
          at: T0,
          data: { big: 'x'.repeat(70_000) },
        }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_TOO_LARGE' });
      await expect(store.listEvents('vin-1', { cursor: 'garbage!' })).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_BAD_REQUEST',
      });
      expect((await store.listEvents('vin-1', { limit: 100 })).items).toHaveLength(3);
    });

    it('stores log chunks, caps them, and prunes by age and by count per device', async () => {
      await open();
      const store = current();
      for (let i = 0; i < 6; i++) {
        await store.appendLog({
          deviceId: 'vin-1',
          correlationId: 'c-1',
          at: at(i),
          lines: [`line ${i}`, INJECTIONS[0] as string],
        });
      }
      for (let i = 0; i < 3; i++) {
        await store.appendLog({
          deviceId: 'vin-2',
          correlationId: 'c-9',
          at: at(i),
          lines: [`v2 ${i}`],
        });
      }
      const page = await store.listLogs('vin-1', { correlationId: 'c-1', limit: 4 });
      expect(page.items.map((l) => l.lines[0])).toEqual(['line 0', 'line 1', 'line 2', 'line 3']);
      expect(page.items[0]?.lines[1]).toBe(INJECTIONS[0]);
      await expect(
        store.appendLog({
          deviceId: 'vin-1',
          correlationId: 'c',
          at: T0,
          lines: ['x'.repeat(4097)],
        }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_TOO_LARGE' });
      await expect(
        store.appendLog({
          deviceId: 'vin-1',
          correlationId: 'c',
          at: T0,
          lines: Array(1001).fill('x'),
        }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_TOO_LARGE' });

      expect(await store.pruneLogs({ olderThan: at(1) })).toBe(2); // at(0) of each device
      expect(await store.pruneLogs({ keepPerDevice: 2 })).toBe(3); // vin-1 keeps 2 of 5
      expect((await store.listLogs('vin-1')).items.map((l) => l.lines[0])).toEqual([
        'line 4',
        'line 5',
      ]);
      expect((await store.listLogs('vin-2')).items.map((l) => l.lines[0])).toEqual([
        'v2 1',
        'v2 2',
      ]);
      expect(await store.pruneLogs({})).toBe(0);
      await expect(store.pruneLogs({ keepPerDevice: -1 })).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_BAD_REQUEST',
      });
    });
  });

  describe('people', () => {
    it('creates, lists and updates users; a duplicate is a conflict', async () => {
      await open();
      const store = current();
      await store.createUser({ userId: 'ann', name: 'Ann', role: 'admin', createdAt: T0 });
      await store.createUser({ userId: 'bob', name: "Bob'; --", role: 'viewer', createdAt: T0 });
      await expect(
        store.createUser({ userId: 'ann', name: 'Other', role: 'viewer', createdAt: T0 }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
      await expect(
        store.createUser({ userId: 'eve', name: 'Eve', role: 'root' as 'admin', createdAt: T0 }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_BAD_REQUEST' });
      expect((await store.listUsers()).map((u) => [u.userId, u.name])).toEqual([
        ['ann', 'Ann'],
        ['bob', "Bob'; --"],
      ]);
      const bob = await store.updateUser('bob', { role: 'operator', disabledAt: at(5) });
      expect(bob).toEqual({
        userId: 'bob',
        name: "Bob'; --",
        role: 'operator',
        createdAt: T0,
        disabledAt: at(5),
      });
      expect(await store.getUser('bob')).toEqual(bob);
      expect((await store.updateUser('bob', { disabledAt: undefined })).disabledAt).toBeUndefined();
      await expect(store.updateUser('nobody', { role: 'admin' })).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_NOT_FOUND',
      });
    });

    it('finds tokens only by the hash of their secret, revokes and touches them', async () => {
      await open();
      const store = current();
      await store.createToken(token('t1', 'a', { scopes: ['read', 'devices'], description: 'ci' }));
      await store.createToken(token('t2', 'b', { userId: undefined, deviceId: 'vin-1' }));
      await expect(store.createToken(token('t3', 'a'))).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_CONFLICT',
      });
      await expect(
        store.createToken(token('t4', 'c', { scopes: ['sudo' as 'read'] })),
      ).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_BAD_REQUEST',
      });
      expect(await store.findTokenBySha256('a'.repeat(64))).toEqual(
        token('t1', 'a', { scopes: ['read', 'devices'], description: 'ci' }),
      );
      expect(await store.findTokenBySha256('c'.repeat(64))).toBeUndefined();
      expect(await store.findTokenBySha256("' OR '1'='1")).toBeUndefined();
      expect((await store.listTokens({ userId: 'ann' })).map((t) => t.tokenId)).toEqual(['t1']);
      expect((await store.listTokens({ deviceId: 'vin-1' })).map((t) => t.tokenId)).toEqual(['t2']);
      expect((await store.listTokens({})).map((t) => t.tokenId)).toEqual(['t1', 't2']);

      const revoked = await store.revokeToken('t1', at(3));
      expect(revoked.revokedAt).toBe(at(3));
      // Revoking again keeps the first time.
      expect((await store.revokeToken('t1', at(9))).revokedAt).toBe(at(3));
      expect((await store.findTokenBySha256('a'.repeat(64)))?.revokedAt).toBe(at(3));
      await store.touchToken('t2', at(4));
      expect((await store.findTokenBySha256('b'.repeat(64)))?.lastUsedAt).toBe(at(4));
      await expect(store.revokeToken('nope', at(1))).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_NOT_FOUND',
      });
      await expect(store.touchToken('nope', at(1))).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_NOT_FOUND',
      });
    });
  });

  describe('challenges', () => {
    const challenge = (id: string, expires = at(1)) => ({
      challengeId: id,
      deviceId: 'vin-1',
      nonce: 'bm9uY2U=',
      createdAt: T0,
      expiresAt: expires,
    });

    it('are single use, expire, and a duplicate id is a conflict', async () => {
      await open();
      const store = current();
      await store.createChallenge(challenge('c1'));
      await expect(store.createChallenge(challenge('c1'))).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_CONFLICT',
      });
      expect(await store.consumeChallenge('c1', at(0.5))).toEqual(challenge('c1'));
      expect(await store.consumeChallenge('c1', at(0.5))).toBeUndefined();
      await store.createChallenge(challenge('c2'));
      expect(await store.consumeChallenge('c2', at(1))).toBeUndefined(); // expired at expiresAt
      expect(await store.consumeChallenge('c2', at(0))).toBeUndefined(); // and gone
      expect(await store.consumeChallenge("c3' OR '1'='1", at(0))).toBeUndefined();
    });

    it('lets exactly one of many concurrent consumers win', async () => {
      await open();
      const store = current();
      for (let round = 0; round < 5; round++) {
        await store.createChallenge(challenge(`race-${round}`));
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.consumeChallenge(`race-${round}`, at(0))),
        );
        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      }
    });

    it('drops expired challenges when new ones are made', async () => {
      await open();
      const store = current();
      await store.createChallenge(challenge('old', at(1)));
      await store.createChallenge({ ...challenge('new', at(10)), createdAt: at(2) });
      expect(await store.consumeChallenge('old', at(0))).toBeUndefined();
      expect((await store.consumeChallenge('new', at(3)))?.challengeId).toBe('new');
    });
  });

  describe('settings', () => {
    it('round-trips JSON values, replaces them, and caps their size', async () => {
      await open();
      const store = current();
      expect(await store.getSetting('retention')).toBeUndefined();
      await store.setSetting('retention', { days: 30, keepPerDevice: 50 });
      await store.setSetting('retention', { days: 7 }, audit('settings.set', 'setting:retention'));
      expect(await store.getSetting('retention')).toEqual({ days: 7 });
      await expect(store.setSetting('big', 'x'.repeat(70_000))).rejects.toMatchObject({
        code: 'ERR_TUF_FLEET_TOO_LARGE',
      });
      expect((await store.listAudit()).map((e) => e.action)).toEqual(['settings.set']);
    });
  });
}
