/**
 * The agent over the real TUF client: `Updater` + `RepositorySimulator`, so the target entry the
 * agent installs is one the client verified from signed metadata, and the always-on
 * update-server check is a real `refresh()`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryMetadataStore } from '../../src/client/memory-metadata-store.js';
import { Updater } from '../../src/client/updater.js';
import { UpdateAgent } from '../../src/device/agent.js';
import { FsJournalStore } from '../../src/storage/fs-journal-store.js';
import { RepositorySimulator } from '../../src/testing/index.js';
import { type DeviceRig, makeDeviceRig, makeImage, sha256, TUNING } from './agent-helpers.js';

let dev: DeviceRig;
beforeEach(async () => {
  dev = await makeDeviceRig();
});
afterEach(async () => {
  await dev.cleanup();
});

describe('UpdateAgent over the TUF Updater', () => {
  it('installs a target listed in signed metadata and commits it; a tampered copy is refused', async () => {
    const sim = await RepositorySimulator.create();
    const image = makeImage(700_000, 5);
    sim.addTarget('targets', image, 'board-1/fw-2.0.0.img', {
      hardwareIds: ['board-1'],
      version: '2.0.0',
      releaseCounter: 2,
    });
    sim.targets.version += 1;
    await sim.updateSnapshot();
    const store = new MemoryMetadataStore();
    store.files.set('root', sim.signedRoots[0] as Uint8Array);
    const updater = await Updater.create({
      metadataBaseUrl: sim.metadataBaseUrl,
      targetBaseUrl: sim.targetBaseUrl,
      fetcher: sim,
      metadataStore: store,
    });
    // Over a store: each "process" is abandoned, not closed (it would keep the stateDir lock).
    const agent = async (reboot = async () => void (await dev.sim.simulateBoot())) =>
      UpdateAgent.create({
        slots: dev.slots,
        updater,
        hardwareId: 'board-1',
        journalStore: await FsJournalStore.create(dev.stateDir),
        tuning: TUNING,
        reboot,
      });

    sim.tamperTarget('board-1/fw-2.0.0.img', (bytes) => {
      const copy = new Uint8Array(bytes); // a copy: the simulator keeps the original
      copy[100] = (copy[100] as number) ^ 1;
      return copy;
    });
    await expect((await agent()).checkAndInstall('board-1/fw-2.0.0.img')).rejects.toMatchObject({
      code: 'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    });
    expect((await dev.slots.status()).nextBoot).toBe('A');

    sim.tamperTarget('board-1/fw-2.0.0.img', undefined);
    const result = await (await agent()).checkAndInstall('board-1/fw-2.0.0.img');
    expect(result.outcome).toBe('rebooting');
    const verdict = await (await agent()).resume();
    expect(verdict.outcome).toBe('committed');
    expect(sha256(await dev.read(dev.rig.slotDevices.B))).toBe(sha256(image));
    await expect((await agent()).checkAndInstall('board-1/missing.img')).rejects.toMatchObject({
      code: 'ERR_TUF_TARGET_NOT_FOUND',
    });
  });
});
