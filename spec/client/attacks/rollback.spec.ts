/**
 * Rollback attack (TUF threat model): an attacker serves older, genuinely signed metadata so the
 * client goes back to software with known vulnerabilities. Versions never go down: root must be
 * exactly N+1 (TUF 5.3.5), timestamp and snapshot not lower than trusted (5.4.3, 5.5.5), the
 * snapshot the timestamp names not lower than trusted (5.4.3.2), and no targets role may vanish
 * from or go down in the snapshot (5.5.5).
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { expectCode, useDevices } from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup() {
  const sim = await RepositorySimulator.create({ consistentSnapshot: false });
  await sim.delegate('targets', 'apps', { paths: ['apps/*'] });
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const device = await createDevice(sim);
  await device.refresh();
  return { sim, device };
}

describe('rollback attack', () => {
  it('refuses a timestamp with a lower version', async () => {
    const { sim, device } = await setup();
    const old = await sim.fetchMetadata('timestamp');
    await sim.updateTimestamp();
    await device.refresh();
    sim.pinMetadata('timestamp', old);
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.version('timestamp')).toBe(3);
  });

  it('accepts an equal timestamp version and keeps the trusted one', async () => {
    const { sim, device } = await setup();
    const before = device.memoryStore.files.get('timestamp');
    sim.clearFetchLog();
    await device.refresh();
    expect(device.memoryStore.files.get('timestamp')).toEqual(before);
    expect(sim.requestedMetadata()).toEqual(['2.root.json', 'timestamp.json']);
  });

  it('refuses a timestamp that names a lower snapshot version', async () => {
    const { sim, device } = await setup();
    sim.timestamp.snapshotMeta.version = 1;
    sim.timestamp.version += 1;
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.version('timestamp')).toBe(2);
  });

  it('refuses a snapshot with a lower version', async () => {
    const { sim, device } = await setup();
    sim.snapshot.version = 1;
    await sim.updateTimestamp();
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.version('snapshot')).toBe(2);
  });

  it('refuses a snapshot in which the targets version went down', async () => {
    const { sim, device } = await setup();
    sim.targets.version = 1;
    await sim.updateSnapshot();
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
  });

  it('refuses a snapshot in which a delegated role version went down', async () => {
    const { sim, device } = await setup();
    sim.targetsOf('apps').version = 2;
    await sim.updateSnapshot();
    await device.refresh();
    sim.targetsOf('apps').version = 1;
    await sim.updateSnapshot();
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
  });

  it('refuses a snapshot from which a targets role disappeared', async () => {
    const { sim, device } = await setup();
    sim.snapshot.meta = Object.fromEntries(
      Object.entries(sim.snapshot.meta).filter(([name]) => name !== 'apps.json'),
    );
    sim.snapshot.version += 1;
    await sim.updateTimestamp();
    await expectCode(device.refresh(), 'ERR_TUF_REPOSITORY');
  });

  it('refuses a root with the same version as the trusted one', async () => {
    const { sim, device } = await setup();
    await sim.publishRoot(); // 2.root.json is another copy of version 1
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
  });
});
