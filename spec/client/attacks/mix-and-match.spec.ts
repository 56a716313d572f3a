/**
 * Mix-and-match attack (TUF threat model): an attacker combines metadata files from different
 * repository states (each genuinely signed) into a set that never existed. The snapshot pins
 * the version (and maybe length and hashes) of every targets metadata file, and the timestamp
 * pins the snapshot (TUF 5.5.2–5.5.4, 5.6.2–5.6.3).
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { expectCode, useDevices, utf8 } from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup(options: { consistentSnapshot?: boolean; hashes?: boolean } = {}) {
  const sim = await RepositorySimulator.create({
    consistentSnapshot: options.consistentSnapshot ?? false,
  });
  sim.computeMetafileHashesLength = options.hashes ?? false;
  await sim.delegate('targets', 'apps', { paths: ['apps/*'] });
  sim.addTarget('apps', utf8('v1'), 'apps/a.bin');
  await sim.updateSnapshot();
  const device = await createDevice(sim);
  return { sim, device };
}

describe('mix-and-match attack', () => {
  it('refuses targets metadata of another version than the snapshot lists', async () => {
    const { sim, device } = await setup();
    const oldTargets = await sim.fetchMetadata('targets'); // v1
    sim.targets.version += 1;
    await sim.updateSnapshot(); // snapshot lists targets v2
    sim.pinMetadata('targets', oldTargets);
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.roles()).toEqual(['root', 'snapshot', 'timestamp']);
  });

  it('refuses a snapshot of another version than the timestamp lists', async () => {
    const { sim, device } = await setup();
    sim.snapshot.version += 1; // served, but the timestamp still names the previous version
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.roles()).toEqual(['root', 'timestamp']);
  });

  it('refuses a snapshot whose hash differs from what the timestamp lists', async () => {
    const { sim, device } = await setup({ hashes: true });
    // Another snapshot of the same version (another repository state), genuinely signed, served
    // with the timestamp that lists the first one's hash.
    sim.snapshot.expires = new Date(sim.snapshot.expires.getTime() + 86_400_000);
    await expectCode(device.refresh(), 'ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(device.memoryStore.roles()).toEqual(['root', 'timestamp']);
  });

  it('refuses targets metadata whose hash differs from what the snapshot lists', async () => {
    const { sim, device } = await setup({ hashes: true });
    sim.targets.expires = new Date(sim.targets.expires.getTime() + 86_400_000);
    await expectCode(device.refresh(), 'ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  });

  it('refuses a delegated role of another version than the snapshot lists', async () => {
    const { sim, device } = await setup();
    sim.targetsOf('apps').version += 1; // not recorded in the snapshot
    const updater = await device.refresh();
    await expectCode(updater.getTargetInfo('apps/a.bin'), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.roles()).not.toContain('apps');
  });

  it('refuses a delegated role whose hash differs from what the snapshot lists', async () => {
    const { sim, device } = await setup({ hashes: true });
    // Same version and length, other content.
    sim.targetsOf('apps').expires = new Date(sim.targetsOf('apps').expires.getTime() + 86_400_000);
    const updater = await device.refresh();
    await expectCode(updater.getTargetInfo('apps/a.bin'), 'ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  });
});
