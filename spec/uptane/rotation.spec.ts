/**
 * Director key rotation: every ECU — the primary, the full secondary and the partial secondary
 * (from the roots the primary forwards) — follows a new director root, and afterwards refuses
 * metadata signed with the retired targets key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../src/crypto/index.js';
import { Metadata, TargetFile, Targets } from '../../src/models/index.js';
import {
  assignRelease,
  DEVICE,
  IMAGES,
  makeVehicle,
  PARTIAL,
  resumeAll,
  type Vehicle,
} from './harness.js';

let v: Vehicle;
beforeEach(async () => {
  v = await makeVehicle();
});
afterEach(async () => {
  await v.close();
});

describe('director key rotation', () => {
  it('is followed by every ECU; the retired targets key is then refused', async () => {
    await assignRelease(v);
    await v.primary.updateCycle();
    expect(await resumeAll(v)).toEqual(['committed', 'committed', 'committed']);
    const retired = v.directorSigners.targets;

    const fresh = {
      root: await InMemorySigner.generate('ed25519'),
      targets: await InMemorySigner.generate('ed25519'),
      snapshot: await InMemorySigner.generate('ed25519'),
      timestamp: await InMemorySigner.generate('ed25519'),
    };
    expect(await v.director.rotateKeys(fresh)).toBe(2);
    const cycle = await v.primary.updateCycle();
    expect(cycle.ecus.map((e) => e.error)).toEqual([undefined, undefined, undefined]);
    expect(cycle.ecus.map((e) => e.outcome)).toEqual(['no-update', 'no-update', 'no-update']);
    // Each ECU now anchors on root version 2.
    for (const ecu of [v.primary.ecu, v.full.ecu, v.partial.ecu]) {
      const root = (await ecu.trusted('director'))?.root as Uint8Array;
      expect(Metadata.fromBytes(root, 'root').signed.version).toBe(2);
    }

    // Targets signed with the retired key, e.g. by someone who stole it.
    const targets = new Targets({
      version: 99,
      expires: new Date(Date.now() + 60_000),
      unrecognized: { custom: { deviceId: DEVICE, correlationId: 'stolen-key' } },
    });
    targets.addTarget(
      new TargetFile(
        IMAGES.brake2.path,
        IMAGES.brake2.bytes.byteLength,
        { sha256: '0'.repeat(64) },
        {
          ecuIdentifiers: { [PARTIAL]: { hardwareId: 'brake' } },
          releaseCounter: 5,
        },
      ),
    );
    const stolen = new Metadata(targets);
    await stolen.sign(retired);
    await expect(
      v.partial.update({ director: { 'targets.json': stolen.toBytes() }, image: {} }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_UPTANE_ARBITRARY_SOFTWARE' });
  });
});
