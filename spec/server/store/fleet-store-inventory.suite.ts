/**
 * Shared suite, part: the director's inventory on the fleet store. A real `Director` registers a
 * device, assigns images and receives a signed vehicle manifest against the store; the ECU rows
 * the store extracts answer device queries, and a second director opened on the same database
 * finds the same roots and records.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../../src/crypto/index.js';
import { TargetFile } from '../../../src/models/index.js';
import type { FleetStore } from '../../../src/server/store/fleet-store.js';
import {
  Director,
  type DirectorSigners,
  ecuVersionReportToJSON,
  signEnvelope,
  vehicleManifestToJSON,
} from '../../../src/uptane/index.js';
import type { StoreHarness } from './fleet-store.suite.js';
import { device } from './fleet-store.suite.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function image(path: string, fill: number, size = 1000) {
  const bytes = new Uint8Array(size).fill(fill);
  return { path, bytes, target: new TargetFile(path, size, { sha256: sha256(bytes) }) };
}

async function directorSigners(): Promise<DirectorSigners> {
  return {
    root: await InMemorySigner.generate('ed25519'),
    targets: await InMemorySigner.generate('ed25519'),
    snapshot: await InMemorySigner.generate('ed25519'),
    timestamp: await InMemorySigner.generate('ed25519'),
  };
}

/** A vehicle manifest: each ECU reports `installed[serial]`, signed as a real primary does. */
async function manifest(
  deviceId: string,
  primary: string,
  signers: Record<string, InMemorySigner>,
  installed: Record<string, ReturnType<typeof image>>,
  counter: number,
): Promise<Uint8Array> {
  const reports: Record<string, Record<string, unknown>> = {};
  for (const [serial, img] of Object.entries(installed)) {
    reports[serial] = await signEnvelope(
      ecuVersionReportToJSON({
        ecuSerial: serial,
        installedImage: {
          filepath: img.path,
          length: img.bytes.byteLength,
          hashes: { sha256: sha256(img.bytes) },
        },
        attacksDetected: [],
        reportCounter: counter,
        time: new Date(Date.parse('2026-12-04T18:00:00.000Z') + counter * 1000),
      }),
      signers[serial] as InMemorySigner,
    );
  }
  const signed = vehicleManifestToJSON({
    deviceId,
    primaryEcuSerial: primary,
    ecuVersionManifests: reports,
  });
  const envelope = await signEnvelope(signed, signers[primary] as InMemorySigner);
  return new TextEncoder().encode(JSON.stringify(envelope));
}

export function inventorySuite(
  harness: StoreHarness,
  current: () => FleetStore,
  open: () => Promise<FleetStore>,
): void {
  describe('director inventory', () => {
    it('runs a real Director: register, assign, manifest; ECU rows answer queries', async () => {
      await open();
      const store = current();
      const signers = await directorSigners();
      const director = await Director.create({ inventory: store.inventory, signers });
      const ecu = {
        'gw-1': await InMemorySigner.generate('ed25519'),
        'door-1': await InMemorySigner.generate('ed25519'),
      };
      const gw1 = image('fw/gw-1.2.0.img', 1);
      const gw2 = image('fw/gw-1.3.0.img', 2);
      const door = image('door/door-2.0.img', 3);
      await director.registerDevice({
        deviceId: 'vin-1',
        primary: {
          ecuSerial: 'gw-1',
          hardwareId: 'gateway',
          publicKey: ecu['gw-1'].publicKey,
          installedImage: {
            filepath: gw1.path,
            length: 1000,
            hashes: { sha256: sha256(gw1.bytes) },
          },
        },
        secondaries: [
          { ecuSerial: 'door-1', hardwareId: 'door', publicKey: ecu['door-1'].publicKey },
        ],
      });
      // The director knows vin-1 before the fleet does: no device row yet, so no list entry.
      expect(await store.inventory.listDevices()).toEqual(['vin-1']);
      expect(await store.getDevice('vin-1')).toBeUndefined();
      await store.createDevice(device('vin-1'));
      // A fleet device the director does not know: listed, with no ECUs.
      await store.createDevice(device('vin-2', { hardwareIds: ['gateway'] }));
      expect((await store.getDevice('vin-2'))?.ecus).toEqual([]);

      let detail = await store.getDevice('vin-1');
      expect(detail?.ecus).toEqual([
        {
          deviceId: 'vin-1',
          ecuSerial: 'gw-1',
          hardwareId: 'gateway',
          primary: true,
          installedTarget: gw1.path,
          installedLength: 1000,
          installedSha256: sha256(gw1.bytes),
        },
        { deviceId: 'vin-1', ecuSerial: 'door-1', hardwareId: 'door', primary: false },
      ]);

      await director.assign('vin-1', 'campaign-7', [
        { ecuSerial: 'gw-1', target: gw2.target },
        { ecuSerial: 'door-1', target: door.target },
      ]);
      detail = await store.getDevice('vin-1');
      expect(detail?.ecus.map((e) => [e.ecuSerial, e.assignedTarget, e.correlationId])).toEqual([
        ['gw-1', gw2.path, 'campaign-7'],
        ['door-1', door.path, 'campaign-7'],
      ]);
      // The director serves metadata generated from the stored record.
      const targets = await director.metadata('vin-1', 'targets.json');
      expect(new TextDecoder().decode(targets)).toContain('campaign-7');

      const ids = async (q: Parameters<FleetStore['listDevices']>[0]) =>
        (await store.listDevices(q)).items.map((d) => d.deviceId);
      expect(await ids({ installedTarget: gw1.path })).toEqual(['vin-1']);

      const result = await director.receiveManifest(
        'vin-1',
        await manifest('vin-1', 'gw-1', ecu, { 'gw-1': gw2, 'door-1': door }, 1),
      );
      expect(Object.keys(result.installed).sort()).toEqual(['door-1', 'gw-1']);
      detail = await store.getDevice('vin-1');
      expect(detail?.ecus.map((e) => [e.ecuSerial, e.installedTarget, e.installedSha256])).toEqual([
        ['gw-1', gw2.path, sha256(gw2.bytes)],
        ['door-1', door.path, sha256(door.bytes)],
      ]);
      expect(await ids({ installedTarget: gw1.path })).toEqual([]);
      expect(await ids({ installedTarget: gw2.path })).toEqual(['vin-1']);
      expect(await ids({ installedTargetPrefix: 'door/' })).toEqual(['vin-1']);
      expect(await ids({ hardwareId: 'door' })).toEqual(['vin-1']);
      expect(await ids({ hardwareId: 'gateway' })).toEqual(['vin-1', 'vin-2']);

      // A replayed manifest is refused and changes no ECU row.
      await expect(
        director.receiveManifest('vin-1', await manifest('vin-1', 'gw-1', ecu, { 'gw-1': gw1 }, 1)),
      ).rejects.toMatchObject({ code: 'ERR_TUF_UPTANE_MANIFEST_REPLAY' });
      expect(await ids({ installedTarget: gw2.path })).toEqual(['vin-1']);

      // Another director (a restarted server) on the same database: same roots, same records.
      const reopened = await harness.reopen();
      const again = await Director.create({ inventory: reopened.inventory, signers });
      expect(again.root()).toEqual(director.root());
      const record = await again.device('vin-1');
      expect(record?.ecus.find((e) => e.ecuSerial === 'gw-1')?.installedImage?.filepath).toBe(
        gw2.path,
      );
      expect(record?.assignment?.correlationId).toBe('campaign-7');
      expect(await reopened.inventory.loadRoots()).toHaveLength(1);
    });

    it('keeps root bytes exact and refuses a record whose ECU serial repeats', async () => {
      await open();
      const store = current();
      const bytes = new Uint8Array([0, 1, 2, 255, 254, 0]);
      await store.inventory.saveRoot(1, bytes);
      await store.inventory.saveRoot(2, new Uint8Array([7]));
      expect(await store.inventory.loadRoots()).toEqual([bytes, new Uint8Array([7])]);
      const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: '00' } };
      const ecu = { ecuSerial: 'e1', hardwareId: 'hw', primary: true, publicKey: key, keyid: 'k' };
      await store.inventory.saveDevice({ deviceId: 'd1', primaryEcuSerial: 'e1', ecus: [ecu] });
      await expect(
        store.inventory.saveDevice({ deviceId: 'd1', primaryEcuSerial: 'e1', ecus: [ecu, ecu] }),
      ).rejects.toMatchObject({ code: 'ERR_TUF_FLEET_CONFLICT' });
      // The failed save left the earlier record and its ECU rows as they were.
      expect((await store.inventory.loadDevice('d1'))?.ecus).toHaveLength(1);
      await store.createDevice(device('d1'));
      expect((await store.getDevice('d1'))?.ecus.map((e) => e.ecuSerial)).toEqual(['e1']);
    });
  });
}
