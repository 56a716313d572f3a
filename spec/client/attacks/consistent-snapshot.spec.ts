/**
 * Consistent snapshots on and off: the exact requests of a refresh and a download (TUF 5.3.3,
 * 5.4.1, 5.5.1, 5.6.1, 5.7.3). Roots are always versioned, the timestamp never; snapshot,
 * targets and delegated roles are `V.ROLE.json` only with `consistent_snapshot: true`; targets
 * are `DIR/HASH.NAME` with the first listed hash.
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { mustGetTarget, useDevices, utf8 } from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup(consistentSnapshot: boolean) {
  const sim = await RepositorySimulator.create({ consistentSnapshot });
  await sim.delegate('targets', 'apps', { paths: ['apps/*'] });
  sim.addTarget('apps', utf8('app v1'), 'apps/app.bin');
  sim.targets.version += 1;
  await sim.updateSnapshot();
  sim.root.version += 1;
  await sim.publishRoot();
  const device = await createDevice(sim);
  return { sim, device };
}

describe('consistent snapshots', () => {
  it('on: versioned snapshot, targets, delegated role; hash-prefixed target', async () => {
    const { sim, device } = await setup(true);
    const updater = await device.refresh();
    const info = await mustGetTarget(updater, 'apps/app.bin');
    await updater.downloadTarget(info);
    expect(sim.requestedPaths()).toEqual([
      'metadata/2.root.json',
      'metadata/3.root.json',
      'metadata/timestamp.json',
      'metadata/2.snapshot.json',
      'metadata/2.targets.json',
      'metadata/1.apps.json',
      `targets/apps/${info.hashes.sha256}.app.bin`,
    ]);
    expect(await device.targetFiles()).toEqual(['apps%2Fapp.bin']);
  });

  it('off: plain names for everything but roots', async () => {
    const { sim, device } = await setup(false);
    const updater = await device.refresh();
    await updater.downloadTarget(await mustGetTarget(updater, 'apps/app.bin'));
    expect(sim.requestedPaths()).toEqual([
      'metadata/2.root.json',
      'metadata/3.root.json',
      'metadata/timestamp.json',
      'metadata/snapshot.json',
      'metadata/targets.json',
      'metadata/apps.json',
      'targets/apps/app.bin',
    ]);
  });

  it('follows a root that turns consistent snapshots on', async () => {
    const { sim, device } = await setup(false);
    sim.root.consistentSnapshot = true;
    sim.root.version += 1;
    await sim.publishRoot();
    sim.clearFetchLog();
    await device.refresh();
    expect(sim.requestedMetadata()).toEqual([
      '2.root.json',
      '3.root.json',
      '4.root.json',
      'timestamp.json',
      '2.snapshot.json',
      '2.targets.json',
    ]);
  });

  it('a second refresh with nothing new fetches only the next root and the timestamp', async () => {
    const { sim, device } = await setup(true);
    await device.refresh();
    sim.clearFetchLog();
    await device.refresh();
    expect(sim.requestedMetadata()).toEqual(['3.root.json', 'timestamp.json']);
  });

  it('a target already in the target directory is not downloaded again', async () => {
    const { sim, device } = await setup(true);
    const updater = await device.refresh();
    const info = await mustGetTarget(updater, 'apps/app.bin');
    const path = await updater.downloadTarget(info);
    sim.clearFetchLog();
    expect(await updater.findCachedTarget(info)).toBe(path);
    expect(sim.requestedPaths()).toEqual([]);
  });
});
