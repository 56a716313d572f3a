/**
 * A full-verification secondary does not trust the primary: given the genuine metadata of a
 * cycle, it still refuses a tampered image, and metadata of the image repository that is older
 * than what it already trusts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../src/errors.js';
import type { UpdateBundle } from '../../src/uptane/index.js';
import {
  assignRelease,
  attacksIn,
  DEVICE,
  FULL,
  IMAGES,
  makeVehicle,
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

/** Run a cycle, capturing (instead of delivering) what the primary sends the full secondary. */
async function captureBundle(): Promise<UpdateBundle> {
  const original = v.full.update.bind(v.full);
  let captured: UpdateBundle | undefined;
  v.full.update = async (bundle) => {
    captured = bundle;
    // A TufError, so the primary records the ECU as failed and carries on.
    throw new InvalidStateError('captured');
  };
  try {
    await v.primary.updateCycle();
  } finally {
    v.full.update = original;
  }
  if (captured === undefined) throw new Error('the primary sent the full secondary nothing');
  return captured;
}

describe('a full-verification secondary verifies for itself', () => {
  it('refuses a tampered image that comes with genuine metadata', async () => {
    await assignRelease(v);
    const bundle = await captureBundle();
    expect(bundle.imageBytes?.byteLength).toBe(IMAGES.door2.bytes.byteLength);
    const tampered = new Uint8Array(bundle.imageBytes as Uint8Array);
    tampered[1000] = (tampered[1000] as number) ^ 0x80;
    await expect(v.full.update({ ...bundle, imageBytes: tampered })).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_IMAGE_TAMPERED',
    });
    expect((await v.ecus[FULL]?.dev.slots.status())?.nextBoot).toBe('A');
    expect(attacksIn(await v.primary.manifest(), FULL)).toContain('image-tampered');
    // The genuine bundle installs.
    expect((await v.full.update(bundle)).outcome).toBe('installing');
  });

  it('refuses an older image repository timestamp than the one it trusts (rollback)', async () => {
    await assignRelease(v);
    const old = await captureBundle();
    expect(await resumeAll(v)).toEqual(['committed', 'idle', 'committed']);
    expect((await v.full.update(old)).outcome).toBe('installing');
    expect((await v.full.ecu.resume()).outcome).toBe('committed');
    // The image repository publishes again and the director issues a new campaign.
    await v.imageRepo.refresh({ within: Number.MAX_SAFE_INTEGER });
    await v.director.assign(DEVICE, 'campaign-2', [
      { ecuSerial: FULL, target: v.imageEntry(IMAGES.door2.path) },
    ]);
    const fresh = await captureBundle();
    expect((await v.full.update(fresh)).outcome).toBe('no-update');
    // A compromised primary replays the older image repository metadata.
    await expect(v.full.update({ ...fresh, image: old.image })).rejects.toMatchObject({
      code: 'ERR_TUF_UPTANE_ROLLBACK',
      attack: 'rollback',
    });
    expect(attacksIn(await v.primary.manifest(), FULL)).toContain('rollback');
  });
});
