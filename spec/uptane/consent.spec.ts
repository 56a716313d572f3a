/**
 * Update control "consent" end to end in the Uptane layer, and the director's withdrawal of an
 * assignment:
 *
 * - the director signs `updateControl: "consent"` into a device's targets custom only for a
 *   consent assignment (forced ones keep exactly the custom they always had);
 * - `clearAssignment` withdraws only an assignment carrying its correlation id, with versions that
 *   only grow, and is idempotent;
 * - the primary asks its consent callback (with the verified request) before downloading
 *   anything; no callback, a no or a rejection defers every assigned ECU and the next cycle asks
 *   again; forced assignments never ask; a consent given is not asked again after the installs;
 * - the value is read from verified metadata only: targets bytes altered in transit to drop it
 *   are refused, nothing is downloaded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../src/crypto/index.js';
import { Metadata, TargetFile, Targets } from '../../src/models/index.js';
import {
  type ConsentRequest,
  Director,
  type DirectorSigners,
  MemoryInventoryStore,
  parseEnvelope,
  readDirectorTargets,
} from '../../src/uptane/index.js';
import {
  assignRelease,
  DEVICE,
  FULL,
  IMAGES,
  makeVehicle,
  PARTIAL,
  PRIMARY,
  resumeAll,
  type Vehicle,
} from './harness.js';

async function makeDirector(): Promise<Director> {
  const key = await InMemorySigner.generate('ed25519');
  const signers: DirectorSigners = { root: key, targets: key, snapshot: key, timestamp: key };
  const director = await Director.create({ inventory: new MemoryInventoryStore(), signers });
  await director.registerDevice({
    deviceId: 'vin-9',
    primary: { ecuSerial: 'gw-9', hardwareId: 'gateway', publicKey: key.publicKey },
  });
  return director;
}

const IMAGE = {
  path: 'gateway/fw-2.img',
  length: 1234,
  hashes: { sha256: 'ab'.repeat(32) },
  releaseCounter: 2,
};

async function targetsOf(director: Director): Promise<{ bytes: Uint8Array; signed: Targets }> {
  const bytes = (await director.metadata('vin-9', 'targets.json')) as Uint8Array;
  return { bytes, signed: Metadata.fromBytes(bytes, 'targets').signed as Targets };
}

async function versions(director: Director): Promise<number[]> {
  const out: number[] = [];
  for (const name of ['targets.json', 'snapshot.json', 'timestamp.json']) {
    const bytes = (await director.metadata('vin-9', name)) as Uint8Array;
    out.push(Metadata.fromBytes(bytes).signed.version);
  }
  return out;
}

async function assign(director: Director, correlationId: string, options = {}): Promise<void> {
  const target = new TargetFile(IMAGE.path, IMAGE.length, IMAGE.hashes, {
    releaseCounter: IMAGE.releaseCounter,
  });
  await director.assign('vin-9', correlationId, [{ ecuSerial: 'gw-9', target }], options);
}

describe('Director: updateControl and clearAssignment', () => {
  it('writes updateControl "consent" into the targets custom only for a consent assignment', async () => {
    const director = await makeDirector();
    await assign(director, 'forced-1');
    expect((await targetsOf(director)).signed.unrecognized.custom).toEqual({
      deviceId: 'vin-9',
      correlationId: 'forced-1',
    });
    await assign(director, 'forced-2', { updateControl: 'forced' });
    expect((await targetsOf(director)).signed.unrecognized.custom).toEqual({
      deviceId: 'vin-9',
      correlationId: 'forced-2',
    });
    expect((await director.device('vin-9'))?.assignment).not.toHaveProperty('updateControl');

    await assign(director, 'consent-1', { updateControl: 'consent' });
    const { signed } = await targetsOf(director);
    expect(signed.unrecognized.custom).toEqual({
      deviceId: 'vin-9',
      correlationId: 'consent-1',
      updateControl: 'consent',
    });
    expect((await director.device('vin-9'))?.assignment?.updateControl).toBe('consent');
    // What the ECUs read from it.
    const info = readDirectorTargets(signed, {
      deviceId: 'vin-9',
      ecus: new Map([['gw-9', 'gateway']]),
      allEcusKnown: true,
    });
    expect(info.updateControl).toBe('consent');
    expect(info.assignments.map((a) => a.target.path)).toEqual([IMAGE.path]);
  });

  it('reads an absent updateControl as forced and an unknown one as consent', () => {
    const read = (custom: Record<string, unknown>) =>
      readDirectorTargets(
        new Targets({ unrecognized: { custom: { deviceId: 'vin-9', ...custom } } }),
        { deviceId: 'vin-9', ecus: new Map([['gw-9', 'gateway']]), allEcusKnown: true },
      ).updateControl;
    expect(read({})).toBe('forced');
    expect(read({ updateControl: 'forced' })).toBe('forced');
    expect(read({ updateControl: 'consent' })).toBe('consent');
    expect(read({ updateControl: 'ask-the-fleet-manager' })).toBe('consent');
    expect(read({ updateControl: false })).toBe('consent');
  });

  it('clearAssignment withdraws only its own correlation id, with growing versions, idempotently', async () => {
    const director = await makeDirector();
    await assign(director, 'deployment-1', { updateControl: 'consent' });
    const before = await targetsOf(director);
    const v1 = await versions(director);

    // Another deployment's id: nothing changes, not even a version.
    expect(await director.clearAssignment('vin-9', 'deployment-0')).toBe(false);
    expect((await targetsOf(director)).bytes).toEqual(before.bytes);
    expect(await versions(director)).toEqual(v1);

    expect(await director.clearAssignment('vin-9', 'deployment-1')).toBe(true);
    const after = await targetsOf(director);
    expect(after.signed.targets).toEqual({});
    expect(after.signed.unrecognized.custom).toEqual({ deviceId: 'vin-9', correlationId: '' });
    const v2 = await versions(director);
    for (const [i, v] of v2.entries()) expect(v).toBeGreaterThan(v1[i] as number);
    expect((await director.device('vin-9'))?.assignment).toBeUndefined();
    // The image stays in the ECU's assignment history (a device finishing it is not flagged).
    expect((await director.device('vin-9'))?.ecus[0]?.assigned?.map((a) => a.filepath)).toEqual([
      IMAGE.path,
    ]);

    // Again: nothing to withdraw, nothing re-signed.
    expect(await director.clearAssignment('vin-9', 'deployment-1')).toBe(false);
    expect(await director.clearAssignment('vin-9')).toBe(false);
    expect(await versions(director)).toEqual(v2);

    // Without a correlation id, whatever is assigned goes.
    await assign(director, 'deployment-2');
    expect(await director.clearAssignment('vin-9')).toBe(true);
    expect((await targetsOf(director)).signed.targets).toEqual({});
    await expect(director.clearAssignment('vin-unknown')).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_UNKNOWN_ECU',
    });
  });
});

let v: Vehicle | undefined;
afterEach(async () => {
  await v?.close();
  v = undefined;
});

/** Assign the standard release with updateControl consent. */
async function assignConsent(vehicle: Vehicle, correlationId = 'campaign-1'): Promise<void> {
  await vehicle.director.assign(
    DEVICE,
    correlationId,
    [
      { ecuSerial: PRIMARY, target: vehicle.imageEntry(IMAGES.gateway2.path) },
      { ecuSerial: FULL, target: vehicle.imageEntry(IMAGES.door2.path) },
      { ecuSerial: PARTIAL, target: vehicle.imageEntry(IMAGES.brake2.path) },
    ],
    { updateControl: 'consent' },
  );
}

const outcomes = (cycle: { ecus: { ecuSerial: string; outcome: string }[] }) =>
  Object.fromEntries(cycle.ecus.map((e) => [e.ecuSerial, e.outcome]));

async function installationReport(vehicle: Vehicle): Promise<unknown> {
  const signed = parseEnvelope(await vehicle.primary.manifest()).signed as {
    installation_report?: unknown;
  };
  return signed.installation_report;
}

describe('Primary: updateControl consent', () => {
  it('asks the callback with the verified request, installs on yes, and does not ask again', async () => {
    const asked: ConsentRequest[] = [];
    v = await makeVehicle({
      consent: async (request) => {
        asked.push(request);
        return true;
      },
    });
    await assignConsent(v);
    const cycle = await v.primary.updateCycle();
    expect(asked).toEqual([
      {
        correlationId: 'campaign-1',
        deviceId: DEVICE,
        images: expect.arrayContaining([
          {
            ecuSerial: PRIMARY,
            targetPath: IMAGES.gateway2.path,
            length: IMAGES.gateway2.bytes.length,
          },
          { ecuSerial: FULL, targetPath: IMAGES.door2.path, length: IMAGES.door2.bytes.length },
          {
            ecuSerial: PARTIAL,
            targetPath: IMAGES.brake2.path,
            length: IMAGES.brake2.bytes.length,
          },
        ]),
      },
    ]);
    expect(asked[0]?.images).toHaveLength(3);
    expect(outcomes(cycle)).toEqual({
      [FULL]: 'installing',
      [PARTIAL]: 'installing',
      [PRIMARY]: 'installing',
    });
    expect(await resumeAll(v)).toEqual(['committed', 'committed', 'committed']);
    // After the reboots: the consent given is remembered for this update, nothing is asked.
    const again = await v.primary.updateCycle();
    expect(outcomes(again)).toEqual({
      [FULL]: 'no-update',
      [PARTIAL]: 'no-update',
      [PRIMARY]: 'no-update',
    });
    expect(asked).toHaveLength(1);
  });

  it('a no defers every ECU: nothing downloaded or sent, reported as deferred; the next cycle asks again', async () => {
    const answers = [false, true];
    const asked: ConsentRequest[] = [];
    v = await makeVehicle({
      consent: async (request) => {
        asked.push(request);
        return answers.shift() ?? false;
      },
    });
    await assignConsent(v);
    const declined = await v.primary.updateCycle();
    expect(declined.correlationId).toBe('campaign-1');
    expect(outcomes(declined)).toEqual({
      [FULL]: 'deferred',
      [PARTIAL]: 'deferred',
      [PRIMARY]: 'deferred',
    });
    expect(declined.ecus.find((e) => e.ecuSerial === PRIMARY)?.targetPath).toBe(
      IMAGES.gateway2.path,
    );
    expect(v.fetched).toEqual([]);
    expect(await v.primary.ecu.installedImage()).toBeUndefined();
    expect(await v.full.ecu.installedImage()).toBeUndefined();
    expect(await v.partial.ecu.installedImage()).toBeUndefined();
    // The secondaries got nothing: not even the director metadata naming their image.
    expect(await v.full.ecu.trusted('director')).not.toHaveProperty('targets');
    expect(await installationReport(v)).toEqual({
      correlation_id: 'campaign-1',
      items: [
        { ecu_serial: FULL, outcome: 'deferred' },
        { ecu_serial: PARTIAL, outcome: 'deferred' },
        { ecu_serial: PRIMARY, outcome: 'deferred' },
      ],
    });

    // The next cycle (director unchanged) asks again; this time the answer is yes.
    const accepted = await v.primary.updateCycle();
    expect(accepted.directorUnchanged).toBe(true);
    expect(asked).toHaveLength(2);
    expect(outcomes(accepted)).toEqual({
      [FULL]: 'installing',
      [PARTIAL]: 'installing',
      [PRIMARY]: 'installing',
    });
    expect([...v.fetched].sort()).toEqual(
      [IMAGES.door2.path, IMAGES.brake2.path, IMAGES.gateway2.path].sort(),
    );
  });

  it('defers without a callback, and when the callback rejects', async () => {
    v = await makeVehicle();
    await assignConsent(v);
    for (let i = 0; i < 2; i += 1) {
      expect(Object.values(outcomes(await v.primary.updateCycle()))).toEqual([
        'deferred',
        'deferred',
        'deferred',
      ]);
    }
    expect(v.fetched).toEqual([]);
    await v.close();

    let calls = 0;
    v = await makeVehicle({
      consent: async () => {
        calls += 1;
        throw new Error('the head unit is off');
      },
    });
    await assignConsent(v);
    expect(Object.values(outcomes(await v.primary.updateCycle()))).toEqual([
      'deferred',
      'deferred',
      'deferred',
    ]);
    expect(calls).toBe(1);
    expect(v.fetched).toEqual([]);
  });

  it('a forced assignment never asks', async () => {
    let calls = 0;
    v = await makeVehicle({
      consent: async () => {
        calls += 1;
        return false;
      },
    });
    await assignRelease(v);
    const cycle = await v.primary.updateCycle();
    expect(Object.values(outcomes(cycle))).toEqual(['installing', 'installing', 'installing']);
    expect(calls).toBe(0);
  });

  it('consent given for one deployment is asked again for the next one', async () => {
    let calls = 0;
    v = await makeVehicle({
      consent: async () => {
        calls += 1;
        return calls === 1;
      },
    });
    await assignConsent(v, 'campaign-1');
    await v.primary.updateCycle();
    expect(await resumeAll(v)).toEqual(['committed', 'committed', 'committed']);
    // The same images under a new correlation id: a new question (and this time a no).
    await assignConsent(v, 'campaign-2');
    const cycle = await v.primary.updateCycle();
    expect(calls).toBe(2);
    // The primary already runs its image; the secondaries' assignments are what is deferred.
    expect(outcomes(cycle)).toEqual({
      [FULL]: 'deferred',
      [PARTIAL]: 'deferred',
      [PRIMARY]: 'no-update',
    });
  });

  it('targets altered in transit to drop updateControl are refused: consent cannot be switched off', async () => {
    let calls = 0;
    v = await makeVehicle({
      consent: async () => {
        calls += 1;
        return false;
      },
    });
    await assignConsent(v);
    const vehicle = v;
    const real = vehicle.directorReader;
    vehicle.setDirectorReader(async (name, max) => {
      const bytes = await real(name, max);
      if (name !== 'targets.json') return bytes;
      // Keep the signatures, drop the field: the bytes no longer match what was signed.
      const json = JSON.parse(new TextDecoder().decode(bytes)) as {
        signed: { custom: Record<string, unknown> };
      };
      delete json.signed.custom.updateControl;
      return new TextEncoder().encode(JSON.stringify(json));
    });
    await expect(vehicle.primary.updateCycle()).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_TUF_/),
    });
    expect(calls).toBe(0);
    expect(vehicle.fetched).toEqual([]);
    expect(await vehicle.primary.ecu.installedImage()).toBeUndefined();
  });
});
