/**
 * `GET /api/admin/v1/releases` and the device detail's `groups` on the real fleet server
 * (SQLite, a published image repository): targets come from verified metadata only, each with
 * the number of devices that report it installed; a device lists the groups that hold it now.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../../src/crypto/index.js';
import {
  DOOR_IMAGE,
  deviceToken,
  type Fleet,
  IMAGE_V1,
  IMAGE_V2,
  makeFleet,
  manifest,
  simDevice,
} from './helpers.js';

let fleet: Fleet;
const IDS = ['gw-1', 'gw-2', 'gw-3'];

beforeAll(async () => {
  fleet = await makeFleet({ modes: ['device-key'] });
  await fleet.server.context.rollouts?.service.stop();
  for (const id of IDS) {
    const device = await simDevice(id);
    await fleet.call('POST', '/api/admin/v1/devices', {
      token: fleet.tokens.operator,
      body: { deviceId: id, publicKey: device.key.publicKey, model: 'gw-200' },
    });
    const token = await deviceToken(fleet, device);
    const extra = id === 'gw-3' ? { attributes: { site: 'bergen' } } : {};
    const reg = await fleet.call('POST', '/api/device/v1/register', {
      token,
      body: device.registerBody(extra),
    });
    expect(reg.status, reg.text).toBe(200);
    if (id !== 'gw-3') {
      const assign = await fleet.call('POST', `/api/admin/v1/devices/${id}/assign`, {
        token: fleet.tokens.releaser,
        body: {
          correlationId: 'c1',
          images: [{ ecuSerial: device.ecuSerial, targetPath: IMAGE_V1.path }],
        },
      });
      expect(assign.status, assign.text).toBe(200);
      const installed = {
        filepath: IMAGE_V1.path,
        length: IMAGE_V1.bytes.length,
        hashes: hashBytes(IMAGE_V1.bytes, ['sha256']),
      };
      const res = await fleet.call('POST', '/api/device/v1/manifest', {
        token,
        raw: await manifest(device, installed),
      });
      expect(res.status, res.text).toBe(204);
    }
  }
});
afterAll(async () => {
  await fleet?.close();
});

describe('GET /api/admin/v1/releases', () => {
  it('lists the trusted targets with their conventions and how many devices run each', async () => {
    const res = await fleet.call('GET', '/api/admin/v1/releases', { token: fleet.tokens.viewer });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual([
      {
        targetPath: DOOR_IMAGE.path,
        hardwareIds: ['door'],
        releaseCounter: 1,
        length: DOOR_IMAGE.bytes.length,
        installedOn: 0,
      },
      {
        targetPath: IMAGE_V1.path,
        hardwareIds: ['gateway'],
        releaseCounter: 1,
        length: IMAGE_V1.bytes.length,
        installedOn: 2,
      },
      {
        targetPath: IMAGE_V2.path,
        hardwareIds: ['gateway'],
        releaseCounter: 2,
        length: IMAGE_V2.bytes.length,
        installedOn: 0,
      },
    ]);
  });

  it('needs a token', async () => {
    const res = await fleet.call('GET', '/api/admin/v1/releases');
    expect(res.status).toBe(401);
  });

  it('does not list a target named only in an unsigned file', async () => {
    const metadata = path.join(fleet.dir, 'repo', 'metadata');
    const planted = path.join(metadata, 'planted.json');
    await fs.writeFile(
      planted,
      JSON.stringify({
        signed: {
          _type: 'targets',
          targets: { 'fw/evil.img': { length: 1, hashes: { sha256: '00'.repeat(32) } } },
        },
        signatures: [],
      }),
    );
    try {
      const res = await fleet.call('GET', '/api/admin/v1/releases', {
        token: fleet.tokens.viewer,
      });
      expect(res.status, res.text).toBe(200);
      expect(res.json.map((r: { targetPath: string }) => r.targetPath)).not.toContain(
        'fw/evil.img',
      );
    } finally {
      await fs.rm(planted);
    }
  });

  it('fails (500, nothing listed) when the published targets metadata is tampered with', async () => {
    const metadata = path.join(fleet.dir, 'repo', 'metadata');
    const names = (await fs.readdir(metadata)).filter((n) => /^(\d+\.)?targets\.json$/.test(n));
    expect(names.length).toBeGreaterThan(0);
    const saved = new Map<string, string>();
    for (const name of names) {
      const file = path.join(metadata, name);
      const text = await fs.readFile(file, 'utf8');
      saved.set(file, text);
      const doc = JSON.parse(text);
      doc.signed.targets['fw/evil.img'] = { length: 1, hashes: { sha256: '00'.repeat(32) } };
      await fs.writeFile(file, JSON.stringify(doc));
    }
    try {
      const res = await fleet.call('GET', '/api/admin/v1/releases', {
        token: fleet.tokens.viewer,
      });
      expect(res.status).toBe(500);
      expect(res.json.error.code).toBe('ERR_TUF_FLEET_STORE');
      expect(res.text).not.toContain('targetPath');
    } finally {
      for (const [file, text] of saved) await fs.writeFile(file, text);
    }
  });
});

describe('GET /api/admin/v1/devices/<id> groups', () => {
  it('lists the static and dynamic groups that hold the device now', async () => {
    for (const body of [
      { name: 'pilot', kind: 'static', devices: ['gw-1', 'gw-3'] },
      { name: 'oslo', kind: 'dynamic', expression: 'site=oslo' },
      { name: 'bergen', kind: 'dynamic', expression: 'site=bergen' },
    ]) {
      const res = await fleet.call('POST', '/api/admin/v1/groups', {
        token: fleet.tokens.operator,
        body,
      });
      expect(res.status, res.text).toBe(201);
    }
    const groupsOf = async (id: string) => {
      const res = await fleet.call('GET', `/api/admin/v1/devices/${id}`, {
        token: fleet.tokens.viewer,
      });
      expect(res.status, res.text).toBe(200);
      return [...res.json.groups].sort();
    };
    expect(await groupsOf('gw-1')).toEqual(['oslo', 'pilot']);
    expect(await groupsOf('gw-2')).toEqual(['oslo']);
    expect(await groupsOf('gw-3')).toEqual(['bergen', 'pilot']);
    // Evaluated now: a dynamic group follows the device's installed targets.
    const res = await fleet.call('POST', '/api/admin/v1/groups', {
      token: fleet.tokens.operator,
      body: { name: 'on-v1', kind: 'dynamic', expression: `installed=${IMAGE_V1.path}` },
    });
    expect(res.status, res.text).toBe(201);
    expect(await groupsOf('gw-2')).toEqual(['on-v1', 'oslo']);
    expect(await groupsOf('gw-3')).toEqual(['bergen', 'pilot']);
  });
});
