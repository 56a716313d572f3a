/**
 * The admin API over loopback HTTP on the real SQLite store: authentication (401) and RBAC
 * (403) refusals that write nothing, tokens hashed at rest with scopes no wider than the role,
 * expiry and revocation, users, the audit log of granted and revoked access, inventory filters
 * (with SQL-injection strings matched literally), cursor pagination and CSV/JSON export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newToken, sha256Hex } from '../../../src/server/fleet/tokens.js';
import {
  assertWritesNothing,
  deviceToken,
  type Fleet,
  makeFleet,
  refused,
  simDevice,
} from './helpers.js';

let fleet: Fleet;
const writesNothing = (attempt: () => Promise<void>) => assertWritesNothing(fleet, attempt);

const NASTY = [
  "' OR 1=1 --",
  "x'; DROP TABLE devices; --",
  '%',
  '_',
  '" OR ""="',
  '\\',
  "oslo' OR '1'='1",
];

beforeAll(async () => {
  fleet = await makeFleet({ modes: ['device-key'] });
  // Nine devices with attributes, one with a model that looks like SQL.
  for (let i = 1; i <= 9; i += 1) {
    const device = await simDevice(`dev-${i}`);
    const res = await fleet.call('POST', '/api/admin/v1/devices', {
      token: fleet.tokens.operator,
      body: {
        deviceId: device.deviceId,
        publicKey: device.key.publicKey,
        model: i === 9 ? NASTY[1] : i % 2 === 0 ? 'gw-200' : 'gw-100',
        attributes: { site: i <= 3 ? 'oslo' : 'bergen', ring: String(i % 3) },
      },
    });
    expect(res.status, res.text).toBe(201);
  }
});
afterAll(async () => {
  await fleet?.close();
});

describe('authentication and roles', () => {
  it('refuses every admin endpoint without a token (401), writing nothing', async () => {
    await writesNothing(async () => {
      for (const [method, url, body] of [
        ['GET', '/api/admin/v1/devices'],
        ['GET', '/api/admin/v1/devices/export?format=csv'],
        ['GET', '/api/admin/v1/devices/dev-1'],
        ['POST', '/api/admin/v1/devices/dev-1/accept'],
        ['PATCH', '/api/admin/v1/devices/dev-1', { model: 'x' }],
        ['GET', '/api/admin/v1/users'],
        ['POST', '/api/admin/v1/users', { userId: 'eve', name: 'Eve', role: 'admin' }],
        ['POST', '/api/admin/v1/tokens', { scopes: ['admin'], expiresInDays: 1, description: 'x' }],
        ['GET', '/api/admin/v1/audit'],
      ] as const) {
        refused(
          await fleet.call(method, url, body === undefined ? {} : { body }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
      }
      refused(
        await fleet.call('GET', '/api/admin/v1/devices', { token: `tfa_${'x'.repeat(43)}` }),
        401,
        'ERR_TUF_FLEET_UNAUTHENTICATED',
      );
    });
  });

  it('refuses actions beyond the role (403), writing nothing', async () => {
    const d = await simDevice('dev-new');
    await writesNothing(async () => {
      const cases: [string, string, string, unknown?][] = [
        [
          'viewer',
          'POST',
          '/api/admin/v1/devices',
          { deviceId: 'dev-new', publicKey: d.key.publicKey },
        ],
        ['viewer', 'POST', '/api/admin/v1/devices/dev-1/reject'],
        ['viewer', 'PATCH', '/api/admin/v1/devices/dev-1', { model: 'x' }],
        [
          'operator',
          'POST',
          '/api/admin/v1/devices/dev-1/assign',
          { correlationId: 'c', images: [{ ecuSerial: 'e', targetPath: 'fw/gw-1.0.img' }] },
        ],
        ['releaser', 'POST', '/api/admin/v1/devices/dev-1/decommission'],
        ['operator', 'POST', '/api/admin/v1/users', { userId: 'eve', name: 'Eve', role: 'admin' }],
        ['releaser', 'PATCH', '/api/admin/v1/users/viewer-1', { role: 'admin' }],
        ['operator', 'GET', '/api/admin/v1/audit'],
        ['viewer', 'GET', '/api/admin/v1/users'],
        [
          'viewer',
          'POST',
          '/api/admin/v1/tokens',
          { scopes: ['devices'], expiresInDays: 1, description: 'escalate' },
        ],
        [
          'operator',
          'POST',
          '/api/admin/v1/tokens',
          { userId: 'viewer-1', scopes: ['read'], expiresInDays: 1, description: 'for another' },
        ],
      ];
      for (const [role, method, url, body] of cases) {
        const res = await fleet.call(method, url, {
          token: fleet.tokens[role as 'viewer'],
          ...(body !== undefined ? { body } : {}),
        });
        refused(res, 403, 'ERR_TUF_FLEET_FORBIDDEN');
      }
    });
  });

  it('a read-only token of an admin cannot act as admin, nor mint a wider token', async () => {
    const res = await fleet.call('POST', '/api/admin/v1/tokens', {
      token: fleet.tokens.admin,
      body: { scopes: ['read'], expiresInDays: 1, description: 'read only' },
    });
    expect(res.status).toBe(201);
    const readOnly = res.json.token as string;
    await writesNothing(async () => {
      refused(
        await fleet.call('GET', '/api/admin/v1/audit', { token: readOnly }),
        403,
        'ERR_TUF_FLEET_FORBIDDEN',
      );
      refused(
        await fleet.call('POST', '/api/admin/v1/tokens', {
          token: readOnly,
          body: { scopes: ['admin'], expiresInDays: 1, description: 'escalate' },
        }),
        403,
        'ERR_TUF_FLEET_FORBIDDEN',
      );
    });
    expect((await fleet.call('GET', '/api/admin/v1/devices', { token: readOnly })).status).toBe(
      200,
    );
  });
});

describe('tokens and users', () => {
  it('stores only the SHA-256 of a token, shows the secret once, and touches lastUsedAt', async () => {
    const res = await fleet.call('POST', '/api/admin/v1/tokens', {
      token: fleet.tokens.viewer,
      body: { scopes: ['read'], expiresInDays: 2, description: 'my laptop' },
    });
    expect(res.status).toBe(201);
    expect(res.json.token).toMatch(/^tfa_[A-Za-z0-9_-]{43}$/);
    expect(res.json.sha256).toBeUndefined();
    const stored = await fleet.store.findTokenBySha256(sha256Hex(res.json.token));
    expect(stored?.tokenId).toBe(res.json.tokenId);
    expect(JSON.stringify(await fleet.store.listTokens({}))).not.toContain(res.json.token);
    expect(stored?.lastUsedAt).toBeUndefined();
    await fleet.call('GET', '/api/admin/v1/devices', { token: res.json.token });
    expect(
      (await fleet.store.findTokenBySha256(sha256Hex(res.json.token)))?.lastUsedAt,
    ).toBeDefined();
    const listed = await fleet.call('GET', '/api/admin/v1/tokens', { token: fleet.tokens.viewer });
    expect(
      listed.json.items.every(
        (t: { userId: string; sha256?: string }) =>
          t.userId === 'viewer-1' && t.sha256 === undefined,
      ),
    ).toBe(true);
  });

  it('refuses revoked and expired tokens; the revocation is in the audit log', async () => {
    const made = await fleet.call('POST', '/api/admin/v1/tokens', {
      token: fleet.tokens.operator,
      body: { scopes: ['read', 'devices'], expiresInDays: 1, description: 'temp' },
    });
    const revoke = await fleet.call('DELETE', `/api/admin/v1/tokens/${made.json.tokenId}`, {
      token: fleet.tokens.operator,
    });
    expect(revoke.status).toBe(200);
    expect(revoke.json.revokedAt).toBeDefined();
    const audit = await fleet.store.listAudit({ limit: 1000 });
    expect(audit.at(-1)).toMatchObject({
      action: 'token.revoke',
      actor: 'user:operator-1',
      subject: `token:${made.json.tokenId}`,
    });
    await writesNothing(async () => {
      const res = await fleet.call('GET', '/api/admin/v1/devices', { token: made.json.token });
      refused(res, 401, 'ERR_TUF_FLEET_UNAUTHENTICATED');
      expect(res.json.error.message).toMatch(/revoked/);
    });
    const old = newToken('tfa_');
    await fleet.store.createToken({
      tokenId: 'expired-admin-token',
      userId: 'root-admin',
      sha256: old.sha256,
      scopes: ['admin'],
      createdAt: new Date(Date.now() - 7_200_000).toISOString(),
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    await writesNothing(async () => {
      const res = await fleet.call('GET', '/api/admin/v1/devices', { token: old.secret });
      refused(res, 401, 'ERR_TUF_FLEET_UNAUTHENTICATED');
      expect(res.json.error.message).toMatch(/expired/);
    });
  });

  it('records granted and revoked access: user creation, role change, disabling', async () => {
    const created = await fleet.call('POST', '/api/admin/v1/users', {
      token: fleet.tokens.admin,
      body: { userId: 'carol', name: 'Carol', role: 'operator' },
    });
    expect(created.status).toBe(201);
    const token = await fleet.call('POST', '/api/admin/v1/tokens', {
      token: fleet.tokens.admin,
      body: {
        userId: 'carol',
        scopes: ['read', 'devices'],
        expiresInDays: 1,
        description: 'carol',
      },
    });
    expect(token.status).toBe(201);
    const demote = await fleet.call('PATCH', '/api/admin/v1/users/carol', {
      token: fleet.tokens.admin,
      body: { role: 'viewer' },
    });
    expect(demote.json.role).toBe('viewer');
    // The old token keeps its scopes on paper, but the role now decides.
    refused(
      await fleet.call('POST', '/api/admin/v1/devices/dev-1/reject', { token: token.json.token }),
      403,
      'ERR_TUF_FLEET_FORBIDDEN',
    );
    const disable = await fleet.call('PATCH', '/api/admin/v1/users/carol', {
      token: fleet.tokens.admin,
      body: { disabled: true },
    });
    expect(disable.json.disabledAt).toBeDefined();
    refused(
      await fleet.call('GET', '/api/admin/v1/devices', { token: token.json.token }),
      401,
      'ERR_TUF_FLEET_UNAUTHENTICATED',
    );
    const audit = await fleet.call('GET', '/api/admin/v1/audit?limit=1000', {
      token: fleet.tokens.admin,
    });
    const carol = audit.json.items.filter((e: { subject: string }) => e.subject === 'user:carol');
    expect(carol.map((e: { action: string }) => e.action)).toEqual([
      'user.create',
      'user.update',
      'user.update',
    ]);
    expect(carol[1]).toMatchObject({
      before: { role: 'operator' },
      after: { role: 'viewer' },
      actor: 'user:root-admin',
    });
    expect(carol[1].from).toBe('127.0.0.1');
    const seqs = audit.json.items.map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x: number, y: number) => x - y));
  });
});

describe('inventory queries', () => {
  it('filters by status, model, attributes and id substring', async () => {
    const ids = async (query: string) =>
      (
        await fleet.call('GET', `/api/admin/v1/devices?${query}`, { token: fleet.tokens.viewer })
      ).json.items
        .map((d: { deviceId: string }) => d.deviceId)
        .sort();
    expect(await ids('model=gw-200')).toEqual(['dev-2', 'dev-4', 'dev-6', 'dev-8']);
    expect(await ids('attr.site=oslo')).toEqual(['dev-1', 'dev-2', 'dev-3']);
    expect(await ids('attr.site=oslo&model=gw-100')).toEqual(['dev-1', 'dev-3']);
    expect(await ids('q=ev-1')).toEqual(['dev-1']);
    expect(await ids('status=accepted&attr.ring=0')).toEqual(['dev-3', 'dev-6', 'dev-9']);
  });

  it('treats SQL-injection strings in every filter as literal values', async () => {
    for (const value of NASTY) {
      for (const name of [
        'model',
        'attr.site',
        'q',
        'hardwareId',
        'installed',
        'installedPrefix',
        'hardwareRevision',
      ]) {
        const res = await fleet.call(
          'GET',
          `/api/admin/v1/devices?${name}=${encodeURIComponent(value)}`,
          {
            token: fleet.tokens.viewer,
          },
        );
        expect(res.status, `${name}=${value}: ${res.text}`).toBe(200);
        const expected = name === 'model' && value === NASTY[1] ? ['dev-9'] : [];
        expect(
          res.json.items.map((d: { deviceId: string }) => d.deviceId),
          `${name}=${value}`,
        ).toEqual(expected);
      }
    }
    // The devices are all still there.
    expect((await fleet.store.listDevices({ limit: 100 })).items.length).toBeGreaterThanOrEqual(9);
  });

  it('refuses unknown filters and sort fields instead of ignoring them', async () => {
    for (const query of [
      'sort=password:asc',
      'sort=deviceId;DROP',
      'color=red',
      'limit=0',
      'limit=abc',
      'status=gone',
      'lastSeenFrom=yesterday',
    ]) {
      refused(
        await fleet.call('GET', `/api/admin/v1/devices?${query}`, { token: fleet.tokens.viewer }),
        400,
        'ERR_TUF_FLEET_BAD_REQUEST',
      );
    }
  });

  it('pages through every device once with the cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const res = await fleet.call(
        'GET',
        `/api/admin/v1/devices?limit=4&sort=deviceId:desc${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { token: fleet.tokens.viewer },
      );
      expect(res.status, res.text).toBe(200);
      expect(res.json.items.length).toBeLessThanOrEqual(4);
      seen.push(...res.json.items.map((d: { deviceId: string }) => d.deviceId));
      cursor = res.json.nextCursor;
      if (cursor === undefined) break;
    }
    expect(cursor).toBeUndefined();
    const all = (await fleet.store.listDevices({ limit: 1000 })).items.map((d) => d.deviceId);
    expect(seen).toEqual([...all].sort().reverse());
  });

  it('exports the matching devices as CSV (formula-guarded) and JSON', async () => {
    const patch = await fleet.call('PATCH', '/api/admin/v1/devices/dev-1', {
      token: fleet.tokens.operator,
      body: {
        attributes: { site: 'oslo', ring: '1', note: '=cmd|calc' },
        hardwareRevision: '@rev',
      },
    });
    expect(patch.status, patch.text).toBe(200);
    const csv = await fleet.call('GET', '/api/admin/v1/devices/export?format=csv&attr.site=oslo', {
      token: fleet.tokens.viewer,
    });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^deviceId,status,/);
    const dev1 = lines.find((l) => l.startsWith('dev-1,')) as string;
    expect(dev1).toContain(",'@rev,");
    expect(dev1).not.toMatch(/,[=+\-@]/);
    const json = await fleet.call('GET', '/api/admin/v1/devices/export?format=json&model=gw-200', {
      token: fleet.tokens.viewer,
    });
    expect(json.json.map((d: { deviceId: string }) => d.deviceId).sort()).toEqual([
      'dev-2',
      'dev-4',
      'dev-6',
      'dev-8',
    ]);
    const audit = await fleet.store.listAudit({ limit: 1000 });
    expect(audit.at(-1)).toMatchObject({
      action: 'device.update',
      before: { hardwareRevision: null },
      after: { hardwareRevision: '@rev' },
    });
  });

  it('shows status changes in the device history and refuses impossible ones', async () => {
    const reject = await fleet.call('POST', '/api/admin/v1/devices/dev-5/reject', {
      token: fleet.tokens.operator,
    });
    expect(reject.json.status).toBe('rejected');
    const d5 = await simDevice('dev-5');
    await expect(deviceToken(fleet, d5)).rejects.toThrow();
    const decommission = await fleet.call('POST', '/api/admin/v1/devices/dev-5/decommission', {
      token: fleet.tokens.operator,
    });
    expect(decommission.json.status).toBe('decommissioned');
    await writesNothing(async () => {
      refused(
        await fleet.call('POST', '/api/admin/v1/devices/dev-5/accept', {
          token: fleet.tokens.operator,
        }),
        409,
        'ERR_TUF_FLEET_CONFLICT',
      );
      refused(
        await fleet.call('POST', '/api/admin/v1/devices/nope/accept', {
          token: fleet.tokens.operator,
        }),
        404,
        'ERR_TUF_FLEET_NOT_FOUND',
      );
    });
    const events = await fleet.call('GET', '/api/admin/v1/devices/dev-5/events', {
      token: fleet.tokens.viewer,
    });
    expect(
      events.json.items
        .filter((e: { kind: string }) => e.kind === 'status')
        .map((e: { data: { to: string } }) => e.data.to),
    ).toEqual(['rejected', 'decommissioned']);
  });
});
