/**
 * The device side of the fleet server over loopback HTTP, on the real SQLite store: the
 * device-key and manual provisioning modes end to end (pre-authorize or accept, challenge →
 * token, register, read director metadata, assignment from the image repository, manifest,
 * phase events, logs), and every attack the issue lists refused with a clear error and nothing
 * written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../../src/crypto/index.js';
import { challengeMessage } from '../../../src/server/fleet/device-routes.js';
import { pruneOnce } from '../../../src/server/fleet/log-retention.js';
import { newToken, sha256Hex } from '../../../src/server/fleet/tokens.js';
import {
  assertWritesNothing,
  DOOR_IMAGE,
  deviceToken,
  type Fleet,
  fleetBackends,
  IMAGE_V1,
  IMAGE_V2,
  makeFleet,
  manifest,
  refused,
  type SimDevice,
  simDevice,
} from './helpers.js';

const { backends, postgresUrl } = await fleetBackends('spec/server/fleet/device-api.spec.ts');

describe.each(backends)('on %s', (backend) => {
  let fleet: Fleet;
  let a: SimDevice;
  let b: SimDevice;
  let tokenA: string;
  let tokenB: string;

  async function preauthorize(device: SimDevice): Promise<void> {
    const res = await fleet.call('POST', '/api/admin/v1/devices', {
      token: fleet.tokens.operator,
      body: { deviceId: device.deviceId, publicKey: device.key.publicKey, model: 'gw-200' },
    });
    expect(res.status).toBe(201);
  }

  const writesNothing = (attempt: () => Promise<void>) => assertWritesNothing(fleet, attempt);

  beforeAll(async () => {
    fleet = await makeFleet({ backend, postgresUrl, modes: ['device-key', 'manual'] });
    a = await simDevice('vin-a');
    b = await simDevice('vin-b');
    for (const d of [a, b]) await preauthorize(d);
    tokenA = await deviceToken(fleet, a);
    tokenB = await deviceToken(fleet, b);
    for (const [d, t] of [
      [a, tokenA],
      [b, tokenB],
    ] as const) {
      const res = await fleet.call('POST', '/api/device/v1/register', {
        token: t,
        body: d.registerBody(),
      });
      expect(res.status, res.text).toBe(200);
    }
  });
  afterAll(async () => {
    await fleet?.close();
  });

  describe('device-key provisioning end to end', () => {
    it('answers /health', async () => {
      expect((await fleet.call('GET', '/health')).json).toEqual({ status: 'ok' });
    });

    it('refuses to register a pre-authorized device without proof of its key', async () => {
      const c = await simDevice('vin-c');
      await preauthorize(c);
      await writesNothing(async () => {
        const res = await fleet.call('POST', '/api/device/v1/register', { body: c.registerBody() });
        refused(res, 401, 'ERR_TUF_FLEET_UNAUTHENTICATED');
      });
      // Someone who knows the public key but not the private one: the token never comes.
      const impostor = { ...c, key: (await simDevice('x')).key };
      await expect(deviceToken(fleet, impostor)).rejects.toThrow(/does not verify/);
    });

    it('records the registration: model, hardware ids, ECUs, status', async () => {
      const res = await fleet.call('GET', '/api/admin/v1/devices/vin-a', {
        token: fleet.tokens.viewer,
      });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        deviceId: 'vin-a',
        status: 'accepted',
        provisioning: 'device-key',
        model: 'gw-200',
        hardwareRevision: '3',
        hardwareIds: ['gateway'],
        attributes: { site: 'oslo' },
      });
      expect(res.json.ecus).toEqual([
        expect.objectContaining({ ecuSerial: 'vin-a-gw', hardwareId: 'gateway', primary: true }),
      ]);
      expect(res.json.lastSeen).toBeDefined();
    });

    it('serves a device its own director metadata', async () => {
      const root = await fleet.call('GET', '/director/vin-a/1.root.json', { token: tokenA });
      expect(root.status).toBe(200);
      expect(root.json.signed._type).toBe('root');
      const targets = await fleet.call('GET', '/director/vin-a/targets.json', { token: tokenA });
      expect(targets.status).toBe(200);
      expect(targets.json.signed.custom.deviceId).toBe('vin-a');
      expect(targets.headers['cache-control']).toBe('no-cache');
    });

    it('assigns an image from the image repository; the device reads it in its director targets', async () => {
      const res = await fleet.call('POST', '/api/admin/v1/devices/vin-a/assign', {
        token: fleet.tokens.releaser,
        body: {
          correlationId: 'campaign-1',
          images: [{ ecuSerial: 'vin-a-gw', targetPath: IMAGE_V2.path }],
        },
      });
      expect(res.status, res.text).toBe(200);
      const sha256 = hashBytes(IMAGE_V2.bytes, ['sha256']).sha256;
      expect(res.json.images[0]).toMatchObject({
        targetPath: IMAGE_V2.path,
        length: IMAGE_V2.bytes.length,
      });
      const targets = await fleet.call('GET', '/director/vin-a/targets.json', { token: tokenA });
      const entry = targets.json.signed.targets[IMAGE_V2.path];
      expect(entry.length).toBe(IMAGE_V2.bytes.length);
      expect(entry.hashes.sha256).toBe(sha256);
      expect(entry.custom.ecuIdentifiers['vin-a-gw'].hardwareId).toBe('gateway');
      expect(targets.json.signed.custom.correlationId).toBe('campaign-1');
      const audit = await fleet.store.listAudit({ limit: 1000 });
      expect(audit.at(-1)).toMatchObject({
        actor: 'user:releaser-1',
        action: 'device.assign',
        subject: 'device:vin-a',
      });
      // The image can be downloaded from /repo/ with the device token (consistent snapshot name).
      const image = await fleet.call('GET', `/repo/targets/fw/${sha256}.gw-2.0.img`, {
        token: tokenA,
      });
      expect(image.status).toBe(200);
      expect(image.text).toBe(new TextDecoder().decode(IMAGE_V2.bytes));
    });

    it('refuses assignments of images the repository does not have or that do not fit the ECU', async () => {
      await writesNothing(async () => {
        for (const targetPath of [
          'fw/none.img',
          '../../data/fleet.db',
          'fw/../../x',
          'fw/door-1.0.img',
        ]) {
          const res = await fleet.call('POST', '/api/admin/v1/devices/vin-b/assign', {
            token: fleet.tokens.releaser,
            body: { correlationId: 'c', images: [{ ecuSerial: 'vin-b-gw', targetPath }] },
          });
          expect([400, 404]).toContain(res.status);
          expect(res.json.error.code).toMatch(/^ERR_TUF_FLEET_(BAD_REQUEST|NOT_FOUND)$/);
        }
      });
    });

    it('accepts the manifest that reports the assigned image and shows it in the inventory', async () => {
      const installed = {
        filepath: IMAGE_V2.path,
        length: IMAGE_V2.bytes.length,
        hashes: hashBytes(IMAGE_V2.bytes, ['sha256']),
      };
      const res = await fleet.call('POST', '/api/device/v1/manifest', {
        token: tokenA,
        raw: await manifest(a, installed),
      });
      expect(res.status, res.text).toBe(204);
      const events = await fleet.call(
        'GET',
        '/api/admin/v1/devices/vin-a/events?correlationId=campaign-1',
        {
          token: fleet.tokens.viewer,
        },
      );
      expect(events.json.items.map((e: { kind: string }) => e.kind)).toEqual(
        expect.arrayContaining(['assignment', 'manifest']),
      );
      const list = await fleet.call(
        'GET',
        `/api/admin/v1/devices?installed=${encodeURIComponent(IMAGE_V2.path)}`,
        {
          token: fleet.tokens.viewer,
        },
      );
      expect(list.json.items.map((d: { deviceId: string }) => d.deviceId)).toEqual(['vin-a']);
    });

    it('records a factory image named at first registration; its first manifest is accepted, a path the repository lacks for the hardware refuses the registration', async () => {
      const c = await simDevice('vin-factory');
      await preauthorize(c);
      const token = await deviceToken(fleet, c);
      const withFactory = (target: string) => {
        const body = c.registerBody();
        (body.ecus as Record<string, unknown>[])[0] = {
          ...(body.ecus as Record<string, unknown>[])[0],
          installedTarget: target,
        };
        return body;
      };
      // The door image exists, but not for the gateway board; a made-up path does not exist.
      for (const target of [DOOR_IMAGE.path, 'fw/never-published.img']) {
        await writesNothing(async () => {
          const res = await fleet.call('POST', '/api/device/v1/register', {
            token,
            body: withFactory(target),
          });
          refused(res, 400, 'ERR_TUF_FLEET_BAD_REQUEST');
          expect(res.json.error.message).toContain('installedTarget');
        });
      }
      const res = await fleet.call('POST', '/api/device/v1/register', {
        token,
        body: withFactory(IMAGE_V1.path),
      });
      expect(res.status, res.text).toBe(200);
      // Length and hashes come from the image repository, not from the device.
      const inventory = await fleet.store.inventory.loadDevice('vin-factory');
      expect(inventory?.ecus[0]?.installedImage).toEqual({
        filepath: IMAGE_V1.path,
        length: IMAGE_V1.bytes.length,
        hashes: expect.objectContaining(hashBytes(IMAGE_V1.bytes, ['sha256'])),
      });
      const factory = {
        filepath: IMAGE_V1.path,
        length: IMAGE_V1.bytes.length,
        hashes: hashBytes(IMAGE_V1.bytes, ['sha256']),
      };
      const accepted = await fleet.call('POST', '/api/device/v1/manifest', {
        token,
        raw: await manifest(c, factory),
      });
      expect(accepted.status, accepted.text).toBe(204);
      // A device that did not name it at registration is refused for reporting the same image.
      const d = await simDevice('vin-no-factory');
      await preauthorize(d);
      const tokenD = await deviceToken(fleet, d);
      const plain = await fleet.call('POST', '/api/device/v1/register', {
        token: tokenD,
        body: d.registerBody(),
      });
      expect(plain.status, plain.text).toBe(200);
      const foreign = await fleet.call('POST', '/api/device/v1/manifest', {
        token: tokenD,
        raw: await manifest(d, factory),
      });
      expect(foreign.status).toBe(400);
      expect(foreign.text).toContain('never assigned');
    });

    it('refuses a replayed manifest with its Uptane code and records the refusal', async () => {
      const bytes = await manifest(b);
      expect(
        (await fleet.call('POST', '/api/device/v1/manifest', { token: tokenB, raw: bytes })).status,
      ).toBe(204);
      const again = await fleet.call('POST', '/api/device/v1/manifest', {
        token: tokenB,
        raw: bytes,
        contentType: 'application/json',
      });
      expect(again.status).toBe(400);
      expect(again.json.error.code).toBe('ERR_TUF_UPTANE_MANIFEST_REPLAY');
      const events = await fleet.store.listEvents('vin-b', { limit: 100 });
      const refusal = events.items.find((e) => e.kind === 'manifest-refused');
      expect(refusal?.data).toMatchObject({
        code: 'ERR_TUF_UPTANE_MANIFEST_REPLAY',
        attack: 'manifest-replay',
      });
    });

    it('stores phase events and log tails, listed per correlation id, and prunes logs by policy', async () => {
      const event = await fleet.call('POST', '/api/device/v1/events', {
        token: tokenA,
        body: {
          phase: 'writing',
          updateId: 'campaign-1',
          result: 'pending',
          at: new Date().toISOString(),
        },
      });
      expect(event.status, event.text).toBe(204);
      for (const lines of [['one', 'two'], ['three']]) {
        const log = await fleet.call('POST', '/api/device/v1/logs', {
          token: tokenA,
          body: { correlationId: 'campaign-1', lines },
        });
        expect(log.status, log.text).toBe(204);
      }
      const logs = await fleet.call(
        'GET',
        '/api/admin/v1/devices/vin-a/logs?correlationId=campaign-1',
        {
          token: fleet.tokens.viewer,
        },
      );
      expect(logs.json.items.flatMap((l: { lines: string[] }) => l.lines).sort()).toEqual([
        'one',
        'three',
        'two',
      ]);
      const phases = await fleet.call(
        'GET',
        '/api/admin/v1/devices/vin-a/events?correlationId=campaign-1',
        {
          token: fleet.tokens.viewer,
        },
      );
      expect(
        phases.json.items.some(
          (e: { kind: string; data: { phase?: string } }) =>
            e.kind === 'phase' && e.data.phase === 'writing',
        ),
      ).toBe(true);
      expect(
        await pruneOnce(
          fleet.store,
          { logRetentionMs: 86_400_000, logKeepPerDevice: 1 },
          new Date(),
        ),
      ).toBe(1);
      expect((await fleet.store.listLogs('vin-a', { limit: 10 })).items).toHaveLength(1);
    });
  });

  describe('manual acceptance', () => {
    it('keeps an unknown device pending until an operator accepts it', async () => {
      const m = await simDevice('vin-m');
      const reg = await fleet.call('POST', '/api/device/v1/register', { body: m.registerBody() });
      expect(reg.status, reg.text).toBe(202);
      expect(reg.json).toEqual({ status: 'pending' });
      const pending = await fleet.call('GET', '/api/admin/v1/devices?status=pending', {
        token: fleet.tokens.viewer,
      });
      expect(pending.json.items.map((d: { deviceId: string }) => d.deviceId)).toEqual(['vin-m']);
      await expect(deviceToken(fleet, m)).rejects.toThrow(/ERR_TUF_FLEET_DEVICE_PENDING/);
      const accept = await fleet.call('POST', '/api/admin/v1/devices/vin-m/accept', {
        token: fleet.tokens.operator,
      });
      expect(accept.status).toBe(200);
      expect(accept.json.status).toBe('accepted');
      const token = await deviceToken(fleet, m);
      expect((await fleet.call('GET', '/director/vin-m/targets.json', { token })).status).toBe(200);
      const audit = await fleet.store.listAudit({ limit: 1000 });
      expect(audit.at(-1)).toMatchObject({
        action: 'device.accept',
        actor: 'user:operator-1',
        before: { status: 'pending' },
        after: { status: 'accepted' },
      });
      // Decommissioned: its still-valid token stops working at once.
      const gone = await fleet.call('POST', '/api/admin/v1/devices/vin-m/decommission', {
        token: fleet.tokens.operator,
      });
      expect(gone.status).toBe(200);
      await writesNothing(async () => {
        refused(
          await fleet.call('GET', '/director/vin-m/targets.json', { token }),
          403,
          'ERR_TUF_FLEET_DEVICE_REFUSED',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/register', { body: m.registerBody() }),
          403,
          'ERR_TUF_FLEET_DEVICE_REFUSED',
        );
      });
    });

    it('refuses a second device claiming a known id with another key', async () => {
      const thief = await simDevice('vin-a');
      await writesNothing(async () => {
        const res = await fleet.call('POST', '/api/device/v1/register', {
          body: thief.registerBody(),
        });
        refused(res, 403, 'ERR_TUF_FLEET_FORBIDDEN');
      });
    });
  });

  describe('device isolation and authentication attacks', () => {
    it('device A cannot read device B director metadata', async () => {
      await writesNothing(async () => {
        for (const file of ['targets.json', 'timestamp.json', '1.root.json']) {
          refused(
            await fleet.call('GET', `/director/vin-b/${file}`, { token: tokenA }),
            403,
            'ERR_TUF_FLEET_FORBIDDEN',
          );
        }
      });
    });

    it('device A cannot post a manifest for device B', async () => {
      await writesNothing(async () => {
        const forB = await manifest(b, undefined, {});
        refused(
          await fleet.call('POST', '/api/device/v1/manifest', { token: tokenA, raw: forB }),
          403,
          'ERR_TUF_FLEET_FORBIDDEN',
        );
      });
    });

    it('refuses device requests without a token, with a malformed or a people token', async () => {
      await writesNothing(async () => {
        refused(
          await fleet.call('GET', '/director/vin-a/targets.json'),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
        refused(
          await fleet.call('GET', '/director/vin-a/targets.json', {
            headers: { authorization: 'Basic x' },
          }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
        refused(
          await fleet.call('GET', '/director/vin-a/targets.json', {
            token: `tdv_${'A'.repeat(43)}`,
          }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
        refused(
          await fleet.call('GET', '/director/vin-a/targets.json', { token: fleet.tokens.admin }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/logs', {
            body: { correlationId: 'x', lines: ['a'] },
          }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
      });
    });

    it('refuses a replayed, expired or foreign challenge answer and issues nothing', async () => {
      const challenge = await fleet.call('POST', '/api/device/v1/challenge', {
        body: { deviceId: 'vin-a' },
      });
      const { challengeId, nonce } = challenge.json;
      const sig = Buffer.from(
        await a.key.sign(challengeMessage(challengeId, 'vin-a', nonce)),
      ).toString('hex');
      expect(
        (
          await fleet.call('POST', '/api/device/v1/token', {
            body: { challengeId, signature: sig },
          })
        ).status,
      ).toBe(200);
      await writesNothing(async () => {
        refused(
          await fleet.call('POST', '/api/device/v1/token', {
            body: { challengeId, signature: sig },
          }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
      });
      // A challenge for B answered with A's key.
      const forB = await fleet.call('POST', '/api/device/v1/challenge', {
        body: { deviceId: 'vin-b' },
      });
      const wrong = Buffer.from(
        await a.key.sign(challengeMessage(forB.json.challengeId, 'vin-b', forB.json.nonce)),
      ).toString('hex');
      const tokensBefore = await fleet.store.listTokens({});
      refused(
        await fleet.call('POST', '/api/device/v1/token', {
          body: { challengeId: forB.json.challengeId, signature: wrong },
        }),
        401,
        'ERR_TUF_FLEET_UNAUTHENTICATED',
      );
      expect(await fleet.store.listTokens({})).toEqual(tokensBefore);
      // An expired challenge.
      const past = new Date(Date.now() - 120_000);
      await fleet.store.createChallenge({
        challengeId: 'expired-1',
        deviceId: 'vin-a',
        nonce: 'bm9uY2U=',
        createdAt: past.toISOString(),
        expiresAt: new Date(past.getTime() + 60_000).toISOString(),
      });
      const late = Buffer.from(
        await a.key.sign(challengeMessage('expired-1', 'vin-a', 'bm9uY2U=')),
      ).toString('hex');
      await writesNothing(async () => {
        refused(
          await fleet.call('POST', '/api/device/v1/token', {
            body: { challengeId: 'expired-1', signature: late },
          }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
      });
    });

    it('refuses expired and revoked device tokens', async () => {
      const fresh = await deviceToken(fleet, b);
      const mine = await fleet.store.findTokenBySha256(sha256Hex(fresh));
      expect(mine?.deviceId).toBe('vin-b');
      await fleet.store.revokeToken(mine?.tokenId as string, new Date().toISOString());
      await writesNothing(async () => {
        refused(
          await fleet.call('GET', '/director/vin-b/targets.json', { token: fresh }),
          401,
          'ERR_TUF_FLEET_UNAUTHENTICATED',
        );
      });
      const old = newToken('tdv_');
      await fleet.store.createToken({
        tokenId: 'expired-device-token',
        deviceId: 'vin-b',
        sha256: old.sha256,
        scopes: [],
        createdAt: new Date(Date.now() - 3_600_000).toISOString(),
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
      });
      await writesNothing(async () => {
        const res = await fleet.call('GET', '/director/vin-b/targets.json', { token: old.secret });
        refused(res, 401, 'ERR_TUF_FLEET_UNAUTHENTICATED');
        expect(res.json.error.message).toMatch(/expired/);
      });
    });

    it('refuses oversized and malformed bodies before anything is written', async () => {
      await writesNothing(async () => {
        const big = new Uint8Array(1024 * 1024 + 1).fill(0x20);
        refused(
          await fleet.call('POST', '/api/device/v1/manifest', { token: tokenA, raw: big }),
          413,
          'ERR_TUF_FLEET_TOO_LARGE',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/events', {
            token: tokenA,
            body: {
              phase: 'writing',
              logTail: Array.from({ length: 100 }, () => 'x'.repeat(1000)),
            },
          }),
          413,
          'ERR_TUF_FLEET_TOO_LARGE',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/register', {
            raw: '{"deviceId": ',
            contentType: 'application/json',
          }),
          400,
          'ERR_TUF_FLEET_BAD_REQUEST',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/events', {
            token: tokenA,
            body: { phase: 'writing', extra: 1 },
          }),
          400,
          'ERR_TUF_FLEET_BAD_REQUEST',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/logs', {
            token: tokenA,
            body: { correlationId: 'c', lines: 'not a list' },
          }),
          400,
          'ERR_TUF_FLEET_BAD_REQUEST',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/manifest', { token: tokenA, raw: 'not json' }),
          400,
          'ERR_TUF_FLEET_BAD_REQUEST',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/register', {
            body: { ...(await simDevice('vin-z')).registerBody(), ecus: [] },
          }),
          400,
          'ERR_TUF_FLEET_BAD_REQUEST',
        );
        refused(
          await fleet.call('POST', '/api/device/v1/challenge', { body: { deviceId: '../vin-a' } }),
          400,
          'ERR_TUF_FLEET_BAD_REQUEST',
        );
      });
    });

    it('refuses path traversal in /repo/ and never serves the server data', async () => {
      for (const p of [
        '/repo/../data/fleet.db',
        '/repo/%2e%2e/data/fleet.db',
        '/repo/metadata/..%2f..%2fserver.json',
        '/repo/metadata/%2e%2e/%2e%2e/server.json',
        '/repo/.tufota/cli.json',
        '/repo/metadata/%00',
      ]) {
        const res = await fleet.call('GET', p, { token: tokenA });
        expect([400, 404], p).toContain(res.status);
      }
      const ok = await fleet.call('GET', '/repo/metadata/timestamp.json', { token: tokenA });
      expect(ok.status).toBe(200);
      expect(ok.headers.etag).toBeDefined();
      const range = await fleet.call('GET', '/repo/metadata/timestamp.json', {
        token: fleet.tokens.viewer,
        headers: { range: 'bytes=0-9' },
      });
      expect(range.status).toBe(206);
      expect(range.text).toHaveLength(10);
      refused(
        await fleet.call('GET', '/repo/metadata/timestamp.json'),
        401,
        'ERR_TUF_FLEET_UNAUTHENTICATED',
      );
    });
  });
});
