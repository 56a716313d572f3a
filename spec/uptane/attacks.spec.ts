/**
 * Every attack of the Uptane issue, performed against a whole vehicle on loopback and refused:
 * the error names the attack (`ERR_TUF_UPTANE_*`), nothing is installed, and the ECU that
 * detected it reports it in its next version report's `attacks_detected`.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../src/crypto/index.js';
import { TargetFile, Targets } from '../../src/models/index.js';
import {
  ecuVersionReportToJSON,
  parseEnvelope,
  signEnvelope,
  vehicleManifestToJSON,
} from '../../src/uptane/index.js';
import { makeImage } from '../device/agent-helpers.js';
import {
  assignRelease,
  attacksIn,
  DEVICE,
  FULL,
  forgeDirector,
  IMAGES,
  makeVehicle,
  PARTIAL,
  PRIMARY,
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

const sha = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest('hex');

/** No ECU activated anything: every slot controller still boots A. */
async function nothingInstalled(): Promise<void> {
  for (const rig of Object.values(v.ecus)) {
    expect((await rig.dev.slots.status()).nextBoot).toBe('A');
  }
}

/** The primary's cycle is refused with `code`, and the primary's next report names `attack`. */
async function refusedByPrimary(code: string, attack: string): Promise<void> {
  await expect(v.primary.updateCycle()).rejects.toMatchObject({ code, attack });
  await nothingInstalled();
  expect(attacksIn(await v.primary.manifest(), PRIMARY)).toContain(attack);
}

/** Install the standard release everywhere and report it. */
async function installRelease(): Promise<void> {
  await assignRelease(v);
  await v.primary.updateCycle();
  expect(await resumeAll(v)).toEqual(['committed', 'committed', 'committed']);
  await v.primary.report();
}

function forgedTargets(entries: TargetFile[], deviceId = DEVICE): Targets {
  const targets = new Targets({ unrecognized: { custom: { deviceId, correlationId: 'evil' } } });
  for (const entry of entries) targets.addTarget(entry);
  return targets;
}

function directorEntry(
  path: string,
  bytes: Uint8Array,
  ecus: Record<string, string>,
  releaseCounter: number,
): TargetFile {
  return new TargetFile(
    path,
    bytes.byteLength,
    { sha256: sha('sha256', bytes), sha512: sha('sha512', bytes) },
    {
      ecuIdentifiers: Object.fromEntries(
        Object.entries(ecus).map(([serial, hardwareId]) => [serial, { hardwareId }]),
      ),
      releaseCounter,
    },
  );
}

describe('a compromised director alone cannot install anything', () => {
  it('refuses an image the image repository does not list', async () => {
    const evil = makeImage(50_000, 99);
    const target = new TargetFile(
      'gateway/evil.img',
      evil.byteLength,
      { sha256: sha('sha256', evil), sha512: sha('sha512', evil) },
      { hardwareIds: ['gateway'], releaseCounter: 9 },
    );
    await v.director.assign(DEVICE, 'evil', [{ ecuSerial: PRIMARY, target }]);
    await refusedByPrimary(
      'ERR_TUF_UPTANE_IMAGE_NOT_IN_IMAGE_REPOSITORY',
      'image-not-in-image-repository',
    );
  });

  it('refuses a listed image with other hashes', async () => {
    const real = v.imageEntry(IMAGES.door2.path);
    const other = makeImage(IMAGES.door2.bytes.byteLength - 13, 98);
    const target = new TargetFile(
      real.path,
      real.length,
      { sha256: sha('sha256', other), sha512: real.hashes.sha512 as string },
      real.custom,
    );
    await v.director.assign(DEVICE, 'evil', [{ ecuSerial: FULL, target }]);
    await refusedByPrimary('ERR_TUF_UPTANE_IMAGE_MISMATCH', 'image-mismatch');
  });

  it('refuses an image built for another hardware id', async () => {
    // The brake image (hardware "brake") ordered onto the gateway ECU.
    await v.director.assign(DEVICE, 'evil', [
      { ecuSerial: PRIMARY, target: v.imageEntry(IMAGES.brake2.path) },
    ]);
    await refusedByPrimary('ERR_TUF_UPTANE_HARDWARE_ID_MISMATCH', 'hardware-id-mismatch');
  });

  it('refuses an image with a lower release counter than the one installed', async () => {
    await installRelease();
    await v.director.assign(DEVICE, 'downgrade', [
      { ecuSerial: PRIMARY, target: v.imageEntry(IMAGES.gateway1.path) },
    ]);
    await expect(v.primary.updateCycle()).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_ROLLBACK',
      attack: 'rollback',
    });
    expect((await v.ecus[PRIMARY]?.dev.slots.status())?.nextBoot).toBe('B');
    expect(attacksIn(await v.primary.manifest(), PRIMARY)).toContain('rollback');
  });

  it('refuses director targets that list one ECU twice', async () => {
    await forgeDirector(
      v,
      forgedTargets([
        directorEntry(IMAGES.door2.path, IMAGES.door2.bytes, { [FULL]: 'door' }, 2),
        directorEntry('door/other.img', IMAGES.door2.bytes, { [FULL]: 'door' }, 2),
      ]),
    );
    await refusedByPrimary('ERR_TUF_UPTANE_ECU_LISTED_TWICE', 'ecu-listed-twice');
  });

  it('refuses director targets naming an ECU this vehicle does not have', async () => {
    await forgeDirector(
      v,
      forgedTargets([
        directorEntry(IMAGES.door2.path, IMAGES.door2.bytes, { 'ghost-1': 'door' }, 2),
      ]),
    );
    await refusedByPrimary('ERR_TUF_UPTANE_UNKNOWN_ECU', 'unknown-ecu');
  });
});

describe('a compromised image repository alone cannot install anything', () => {
  it('installs nothing the director did not assign, however the image repository lists it', async () => {
    const evil = makeImage(40_000, 97);
    await v.imageRepo.addTarget('gateway/evil.img', evil, {
      hardwareIds: ['gateway'],
      releaseCounter: 99,
    });
    await v.imageRepo.publish();
    const cycle = await v.primary.updateCycle();
    expect(cycle.ecus.map((e) => e.outcome)).toEqual(['no-update', 'no-update', 'no-update']);
    await nothingInstalled();
  });
});

describe('replayed and mixed metadata', () => {
  it('refuses director metadata made for another device, even an empty targets file', async () => {
    const otherKey = await InMemorySigner.generate('ed25519');
    await v.director.registerDevice({
      deviceId: 'vin-2',
      primary: { ecuSerial: 'gw-2', hardwareId: 'gateway', publicKey: otherKey.publicKey },
    });
    const real = v.directorReader;
    v.setDirectorReader(async (name, max) =>
      name.endsWith('.root.json') ? real(name, max) : v.director.metadata('vin-2', name),
    );
    await refusedByPrimary('ERR_TUF_UPTANE_REPLAY_FOR_ANOTHER_DEVICE', 'replay-for-another-device');
  });

  it('refuses image repository metadata mixed with the director’s (mix-and-match)', async () => {
    await assignRelease(v);
    const director = v.directorReader;
    const image = v.imageReader;
    // The image repository's targets replaced by the director's (which list the same images).
    v.setImageReader(async (name, max) =>
      /^\d+\.targets\.json$/.test(name) ? director('targets.json', max) : image(name, max),
    );
    await refusedByPrimary('ERR_TUF_UPTANE_MIX_AND_MATCH', 'mix-and-match');
  });

  it('refuses an expired director timestamp (freeze)', async () => {
    await assignRelease(v);
    // The vehicle's (trusted) time is two days on; the director's timestamp lasts one.
    (v.ecus[PRIMARY] as { clockOffsetMs: number }).clockOffsetMs = 2 * 24 * 60 * 60 * 1000;
    await refusedByPrimary('ERR_TUF_UPTANE_FREEZE', 'freeze');
  });

  it('refuses to check expiry against a clock set back behind the trusted floor', async () => {
    await assignRelease(v);
    await v.ecus[PRIMARY]?.floor.write(new Date(Date.now() + 24 * 60 * 60 * 1000));
    await refusedByPrimary('ERR_TUF_UPTANE_CLOCK_BEHIND_FLOOR', 'clock-behind-floor');
  });
});

describe('the director refuses bad manifests', () => {
  it('refuses replayed and reordered ECU manifests', async () => {
    await installRelease();
    const first = await v.primary.manifest();
    const second = await v.primary.manifest();
    await v.director.receiveManifest(DEVICE, second);
    for (const replay of [first, second]) {
      await expect(v.director.receiveManifest(DEVICE, replay)).rejects.toMatchObject({
        code: 'ERR_TUF_UPTANE_MANIFEST_REPLAY',
        attack: 'manifest-replay',
      });
    }
  });

  it('refuses a report from an ECU the device does not have', async () => {
    const ghost = await InMemorySigner.generate('ed25519');
    const manifest = parseEnvelope(await v.primary.manifest()).signed as Record<string, unknown>;
    const reports = manifest.ecu_version_manifests as Record<string, unknown>;
    reports['ghost-1'] = await signEnvelope(
      ecuVersionReportToJSON({
        ecuSerial: 'ghost-1',
        installedImage: undefined,
        attacksDetected: [],
        reportCounter: 1,
        time: new Date(),
      }),
      ghost,
    );
    const bytes = new TextEncoder().encode(
      JSON.stringify(await signEnvelope(manifest, v.ecus[PRIMARY]?.signer as InMemorySigner)),
    );
    await expect(v.director.receiveManifest(DEVICE, bytes)).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_UNKNOWN_ECU',
    });
  });

  it('flags and refuses a report of an image it never assigned', async () => {
    const report = await signEnvelope(
      ecuVersionReportToJSON({
        ecuSerial: PRIMARY,
        installedImage: {
          filepath: IMAGES.gateway1.path,
          length: IMAGES.gateway1.bytes.byteLength,
          hashes: { sha256: sha('sha256', IMAGES.gateway1.bytes) },
        },
        attacksDetected: [],
        reportCounter: 1,
        time: new Date(),
      }),
      v.ecus[PRIMARY]?.signer as InMemorySigner,
    );
    const manifest = vehicleManifestToJSON({
      deviceId: DEVICE,
      primaryEcuSerial: PRIMARY,
      ecuVersionManifests: { [PRIMARY]: report },
    });
    const bytes = new TextEncoder().encode(
      JSON.stringify(await signEnvelope(manifest, v.ecus[PRIMARY]?.signer as InMemorySigner)),
    );
    await expect(v.director.receiveManifest(DEVICE, bytes)).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_UNASSIGNED_IMAGE',
    });
    const device = await v.director.device(DEVICE);
    expect(device?.flags?.some((f) => f.includes('unassigned-image'))).toBe(true);
    expect(device?.ecus.find((e) => e.ecuSerial === PRIMARY)?.installedImage).toBeUndefined();
  });

  it('refuses a manifest not signed by the primary’s registered key', async () => {
    const forger = await InMemorySigner.generate('ed25519');
    const manifest = parseEnvelope(await v.primary.manifest()).signed;
    const bytes = new TextEncoder().encode(JSON.stringify(await signEnvelope(manifest, forger)));
    await expect(v.director.receiveManifest(DEVICE, bytes)).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_FORGED_MANIFEST',
    });
  });
});

describe('secondaries verify for themselves', () => {
  it('a partial-verification secondary refuses older director targets and reports the rollback', async () => {
    const old = (await v.director.metadata(DEVICE, 'targets.json')) as Uint8Array;
    await installRelease();
    await expect(
      v.partial.update({ director: { 'targets.json': old }, image: {} }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_UPTANE_ROLLBACK' });
    expect(attacksIn(await v.primary.manifest(), PARTIAL)).toContain('rollback');
  });

  it('a partial-verification secondary refuses a tampered image from a compromised primary', async () => {
    await assignRelease(v);
    const targets = (await v.director.metadata(DEVICE, 'targets.json')) as Uint8Array;
    const tampered = new Uint8Array(IMAGES.brake2.bytes);
    tampered[500] = (tampered[500] as number) ^ 1;
    await expect(
      v.partial.update({ director: { 'targets.json': targets }, image: {}, imageBytes: tampered }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_UPTANE_IMAGE_TAMPERED' });
    await nothingInstalled();
    expect(attacksIn(await v.primary.manifest(), PARTIAL)).toContain('image-tampered');
  });

  it('a partial-verification secondary refuses targets not signed by the director’s key', async () => {
    const impostor = await InMemorySigner.generate('ed25519');
    const { Metadata } = await import('../../src/models/index.js');
    const targets = forgedTargets([
      directorEntry(IMAGES.brake2.path, IMAGES.brake2.bytes, { [PARTIAL]: 'brake' }, 2),
    ]);
    targets.expires = new Date(Date.now() + 60_000);
    const metadata = new Metadata(targets);
    await metadata.sign(impostor);
    await expect(
      v.partial.update({
        director: { 'targets.json': metadata.toBytes() },
        image: {},
        imageBytes: IMAGES.brake2.bytes,
      }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_UPTANE_ARBITRARY_SOFTWARE' });
    await nothingInstalled();
  });
});
