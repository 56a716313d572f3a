/**
 * The mutual-TLS and shared-key provisioning modes end to end over real TLS on 127.0.0.1:
 * certificates made by the server's own device CA tool (openssl), a device identified by its
 * certificate alone, a certificate from another CA refused, a certificate for device A unable to
 * act as device B; and the shared fleet key (HMAC over the canonical body) only when enabled.
 */
import { createHmac } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCanonical } from '../../../src/canonical/index.js';
import {
  initDeviceCa,
  issueDeviceCertificate,
  issueServerCertificate,
} from '../../../src/server/fleet/device-ca.js';
import { systemTools } from '../../helpers/system-tools.js';
import {
  assertWritesNothing,
  deviceToken,
  type Fleet,
  IMAGE_V1,
  makeFleet,
  manifest,
  refused,
  simDevice,
} from './helpers.js';

const tools = systemTools('provisioning-tls.spec.ts', ['openssl']);

describe.skipIf(tools.skip)('mutual TLS provisioning', () => {
  let fleet: Fleet;
  let ca: Buffer;
  const agents: Agent[] = [];

  async function deviceAgent(caDir: string, deviceId: string, out: string): Promise<Agent> {
    const files = await issueDeviceCertificate(caDir, deviceId, out);
    const agent = new Agent({
      connect: { ca, cert: await fs.readFile(files.cert), key: await fs.readFile(files.key) },
    });
    agents.push(agent);
    return agent;
  }

  let agentA: Agent;
  let agentB: Agent;
  let rogue: Agent;

  beforeAll(async () => {
    fleet = await makeFleet({
      modes: ['mtls'],
      prepare: async (dir) => {
        const caDir = path.join(dir, 'data', 'ca');
        await initDeviceCa(caDir);
        await issueServerCertificate(caDir, ['127.0.0.1'], path.join(dir, 'data', 'tls'));
        // Another CA whose certificates must not be accepted.
        await initDeviceCa(path.join(dir, 'rogue-ca'));
        return { tls: { cert: 'data/tls/server.crt', key: 'data/tls/server.key' } };
      },
    });
    ca = await fs.readFile(path.join(fleet.config.caDir, 'ca.crt'));
    agentA = await deviceAgent(fleet.config.caDir, 'vin-a', path.join(fleet.dir, 'devices'));
    agentB = await deviceAgent(fleet.config.caDir, 'vin-b', path.join(fleet.dir, 'devices'));
    rogue = await deviceAgent(
      path.join(fleet.dir, 'rogue-ca'),
      'vin-r',
      path.join(fleet.dir, 'rogue'),
    );
  });
  afterAll(async () => {
    for (const agent of agents) await agent.close();
    await fleet?.close();
  });

  it('serves HTTPS; people use tokens over it', async () => {
    expect(fleet.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const res = await fleet.call('GET', '/api/admin/v1/devices', { token: fleet.tokens.viewer });
    expect(res.status).toBe(200);
  });

  it('creates an accepted device on first contact with a CA-signed certificate; no token needed', async () => {
    const a = await simDevice('vin-a');
    const reg = await fleet.call('POST', '/api/device/v1/register', {
      body: a.registerBody({ publicKey: undefined }),
      dispatcher: agentA,
    });
    expect(reg.status, reg.text).toBe(201);
    const device = await fleet.store.getDevice('vin-a');
    expect(device).toMatchObject({ status: 'accepted', provisioning: 'mtls' });
    expect(device?.certificateSha256).toMatch(/^[0-9a-f]{64}$/);
    const targets = await fleet.call('GET', '/director/vin-a/targets.json', { dispatcher: agentA });
    expect(targets.status).toBe(200);
    expect(targets.json.signed.custom.deviceId).toBe('vin-a');
    // Assignment and manifest over the certificate alone.
    const assign = await fleet.call('POST', '/api/admin/v1/devices/vin-a/assign', {
      token: fleet.tokens.releaser,
      body: { correlationId: 'c1', images: [{ ecuSerial: 'vin-a-gw', targetPath: IMAGE_V1.path }] },
    });
    expect(assign.status, assign.text).toBe(200);
    const posted = await fleet.call('POST', '/api/device/v1/manifest', {
      raw: await manifest(a),
      dispatcher: agentA,
    });
    expect(posted.status, posted.text).toBe(204);
  });

  it('a certificate for device B cannot register as, read or post for device A', async () => {
    const b = await simDevice('vin-b');
    expect(
      (
        await fleet.call('POST', '/api/device/v1/register', {
          body: b.registerBody(),
          dispatcher: agentB,
        })
      ).status,
    ).toBe(201);
    const a = await simDevice('vin-a');
    await assertWritesNothing(fleet, async () => {
      refused(
        await fleet.call('POST', '/api/device/v1/register', {
          body: a.registerBody(),
          dispatcher: agentB,
        }),
        403,
        'ERR_TUF_FLEET_FORBIDDEN',
      );
      refused(
        await fleet.call('GET', '/director/vin-a/targets.json', { dispatcher: agentB }),
        403,
        'ERR_TUF_FLEET_FORBIDDEN',
      );
      refused(
        await fleet.call('POST', '/api/device/v1/manifest', {
          raw: await manifest(a),
          dispatcher: agentB,
        }),
        403,
        'ERR_TUF_FLEET_FORBIDDEN',
      );
    });
  });

  it('refuses a certificate from another CA, and a connection without one', async () => {
    const r = await simDevice('vin-r');
    await assertWritesNothing(fleet, async () => {
      const res = await fleet.call('POST', '/api/device/v1/register', {
        body: r.registerBody(),
        dispatcher: rogue,
      });
      refused(res, 403, 'ERR_TUF_FLEET_FORBIDDEN');
      expect(res.json.error.message).toMatch(/certificate/);
      refused(
        await fleet.call('GET', '/director/vin-r/targets.json', { dispatcher: rogue }),
        401,
        'ERR_TUF_FLEET_UNAUTHENTICATED',
      );
      refused(
        await fleet.call('GET', '/director/vin-a/targets.json'),
        401,
        'ERR_TUF_FLEET_UNAUTHENTICATED',
      );
    });
  });
});

describe('shared fleet key (unsafe, air-gapped)', () => {
  const secret = new Uint8Array(32).fill(7);
  let fleet: Fleet;
  let plain: Fleet;

  beforeAll(async () => {
    fleet = await makeFleet({ modes: ['device-key'], unsafeSharedKey: secret });
    plain = await makeFleet({ modes: ['device-key'] });
  });
  afterAll(async () => {
    await fleet?.close();
    await plain?.close();
  });

  function mac(body: Record<string, unknown>, key: Uint8Array): string {
    return createHmac('sha256', key).update(encodeCanonical(body)).digest('hex');
  }

  it('accepts a registration carrying the HMAC of its body; the device then gets tokens', async () => {
    const d = await simDevice('vin-s');
    const body = d.registerBody();
    const res = await fleet.call('POST', '/api/device/v1/register', {
      body: { ...body, sharedKeyMac: mac(body, secret) },
    });
    expect(res.status, res.text).toBe(201);
    expect((await fleet.store.getDevice('vin-s'))?.provisioning).toBe('shared-key');
    const token = await deviceToken(fleet, d);
    expect((await fleet.call('GET', '/director/vin-s/targets.json', { token })).status).toBe(200);
  });

  it('refuses a wrong HMAC, a changed body, and the shared key on a server without it', async () => {
    const d = await simDevice('vin-t');
    const body = d.registerBody();
    await assertWritesNothing(fleet, async () => {
      refused(
        await fleet.call('POST', '/api/device/v1/register', {
          body: { ...body, sharedKeyMac: mac(body, new Uint8Array(32)) },
        }),
        401,
        'ERR_TUF_FLEET_UNAUTHENTICATED',
      );
      refused(
        await fleet.call('POST', '/api/device/v1/register', {
          body: { ...body, model: 'other', sharedKeyMac: mac(body, secret) },
        }),
        401,
        'ERR_TUF_FLEET_UNAUTHENTICATED',
      );
    });
    await assertWritesNothing(plain, async () => {
      refused(
        await plain.call('POST', '/api/device/v1/register', {
          body: { ...body, sharedKeyMac: mac(body, secret) },
        }),
        403,
        'ERR_TUF_FLEET_FORBIDDEN',
      );
    });
  });
});
