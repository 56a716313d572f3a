/**
 * Wrong software installation (TUF threat model): the attacker serves a file that is genuine
 * but not the one requested (another target, another version, another role's file). Bytes are
 * checked against the length and every hash of *the requested* target's trusted metadata.
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import {
  expectCode,
  expectNoTarget,
  mustGetTarget,
  useDevices,
  utf8,
} from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup(consistentSnapshot = false) {
  const sim = await RepositorySimulator.create({ consistentSnapshot });
  sim.addTarget('targets', utf8('firmware for board A'), 'board-a/firmware.bin');
  sim.addTarget('targets', utf8('firmware for board B'), 'board-b/firmware.bin');
  sim.addTarget('targets', utf8('firmware v1'), 'firmware-1.bin');
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const device = await createDevice(sim);
  return { sim, device };
}

describe('wrong software installation', () => {
  it('refuses another genuine target served in place of the requested one', async () => {
    const { sim, device } = await setup();
    const boardB = sim.targetFiles.get('board-b/firmware.bin')!.data;
    sim.tamperTarget('board-a/firmware.bin', () => boardB);
    const updater = await device.refresh();
    const info = await mustGetTarget(updater, 'board-a/firmware.bin');
    await expectCode(updater.downloadTarget(info), 'ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(await device.targetFiles()).toEqual([]);
  });

  it('refuses a shorter file (an older build) served for the target', async () => {
    const { sim, device } = await setup();
    sim.tamperTarget('firmware-1.bin', () => utf8('firmware'));
    const updater = await device.refresh();
    await expectCode(
      updater.downloadTarget(await mustGetTarget(updater, 'firmware-1.bin')),
      'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    );
  });

  it('with consistent snapshots, requests the target by its trusted hash', async () => {
    const { sim, device } = await setup(true);
    const updater = await device.refresh();
    const info = await mustGetTarget(updater, 'board-a/firmware.bin');
    sim.clearFetchLog();
    await updater.downloadTarget(info);
    expect(sim.requestedPaths()).toEqual([`targets/board-a/${info.hashes.sha256}.firmware.bin`]);
  });

  it('does not find a target no role lists', async () => {
    const { device } = await setup();
    const updater = await device.refresh();
    await expectNoTarget(updater, 'board-c/firmware.bin');
  });
});
