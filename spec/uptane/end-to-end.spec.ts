/**
 * Acceptance: image repository + director + a primary with two secondaries (one full, one partial
 * verification), each with a file-backed A/B slot pair, on loopback. An assignment is verified,
 * distributed, installed on every ECU, committed after the reboot, and reported; the director's
 * inventory then shows the new images.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assignRelease,
  attacksIn,
  DEVICE,
  FULL,
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

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function slotB(serial: string, length: number): Promise<string> {
  const rig = v.ecus[serial];
  if (rig === undefined) throw new Error(serial);
  const bytes = await fs.readFile(rig.dev.rig.slotDevices.B);
  return sha256(bytes.subarray(0, length));
}

describe('Uptane end to end on loopback', () => {
  it('installs the director’s assignment on the primary and both secondaries and reports it', async () => {
    // Before any assignment: nothing to do, the image repository is not even consulted.
    const idle = await v.primary.updateCycle();
    expect(idle.ecus.map((e) => e.outcome)).toEqual(['no-update', 'no-update', 'no-update']);

    await assignRelease(v);
    const cycle = await v.primary.updateCycle();
    expect(cycle.correlationId).toBe('campaign-1');
    expect(Object.fromEntries(cycle.ecus.map((e) => [e.ecuSerial, e.outcome]))).toEqual({
      [FULL]: 'installing',
      [PARTIAL]: 'installing',
      [PRIMARY]: 'installing',
    });
    // Each ECU rebooted into slot B; after the reboot each agent commits.
    expect(await resumeAll(v)).toEqual(['committed', 'committed', 'committed']);
    expect(await slotB(PRIMARY, IMAGES.gateway2.bytes.length)).toBe(sha256(IMAGES.gateway2.bytes));
    expect(await slotB(FULL, IMAGES.door2.bytes.length)).toBe(sha256(IMAGES.door2.bytes));
    expect(await slotB(PARTIAL, IMAGES.brake2.bytes.length)).toBe(sha256(IMAGES.brake2.bytes));

    const manifest = await v.primary.report();
    expect(attacksIn(manifest, PRIMARY)).toEqual([]);
    const device = await v.director.device(DEVICE);
    const installed = Object.fromEntries(
      (device?.ecus ?? []).map((e) => [e.ecuSerial, e.installedImage?.filepath]),
    );
    expect(installed).toEqual({
      [PRIMARY]: IMAGES.gateway2.path,
      [FULL]: IMAGES.door2.path,
      [PARTIAL]: IMAGES.brake2.path,
    });
    const gateway = device?.ecus.find((e) => e.ecuSerial === PRIMARY);
    expect(gateway?.installedImage?.hashes.sha256).toBe(sha256(IMAGES.gateway2.bytes));
    expect(gateway?.lastReportCounter).toBe(1);

    // The next cycle finds nothing new: the director timestamp is unchanged.
    const again = await v.primary.updateCycle();
    expect(again.directorUnchanged).toBe(true);
    expect(again.ecus.map((e) => e.error)).toEqual([undefined, undefined, undefined]);
    expect(again.ecus.map((e) => e.outcome)).toEqual(['no-update', 'no-update', 'no-update']);
    await v.primary.report();
    expect((await v.director.device(DEVICE))?.ecus.map((e) => e.lastReportCounter)).toEqual([
      2, 2, 2,
    ]);
  });
});
