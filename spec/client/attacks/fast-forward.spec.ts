/**
 * Fast-forward attack (TUF threat model): an attacker with a compromised timestamp or snapshot
 * key pushes a huge version number so that, once the key is revoked, the client refuses every
 * honest (lower) version forever. The spec's recovery: when a new root rotates the timestamp
 * (or snapshot) keys, the client drops its trusted timestamp (and snapshot) so the lower
 * honest versions are accepted again (TUF 5.3.11).
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { expectCode, useDevices } from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup() {
  const sim = await RepositorySimulator.create();
  const device = await createDevice(sim);
  return { sim, device };
}

describe('fast-forward attack', () => {
  it('refuses the honest timestamp while the fast-forwarded one is trusted', async () => {
    const { sim, device } = await setup();
    sim.timestamp.version = 99_999;
    await device.refresh();
    expect(device.memoryStore.version('timestamp')).toBe(99_999);
    sim.timestamp.version = 2;
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.version('timestamp')).toBe(99_999);
  });

  it('recovers from a fast-forwarded timestamp once root rotates the timestamp key', async () => {
    const { sim, device } = await setup();
    sim.timestamp.version = 99_999;
    await device.refresh();
    await sim.rotateKeys('timestamp');
    sim.root.version += 1;
    await sim.publishRoot();
    sim.timestamp.version = 1;
    await device.refresh();
    expect(device.memoryStore.version('timestamp')).toBe(1);
    expect(device.memoryStore.version('root')).toBe(2);
  });

  it('recovers from a fast-forwarded snapshot once root rotates the snapshot and timestamp keys', async () => {
    const { sim, device } = await setup();
    sim.snapshot.version = 99_999;
    await sim.updateTimestamp();
    await device.refresh();
    expect(device.memoryStore.version('snapshot')).toBe(99_999);

    await sim.rotateKeys('snapshot');
    await sim.rotateKeys('timestamp');
    sim.root.version += 1;
    await sim.publishRoot();
    sim.snapshot.version = 1;
    await sim.updateTimestamp();
    await device.refresh();
    expect(device.memoryStore.version('snapshot')).toBe(1);
  });

  it('does not drop the trusted timestamp when a new root keeps the timestamp key', async () => {
    const { sim, device } = await setup();
    sim.timestamp.version = 50;
    await device.refresh();
    sim.root.version += 1;
    await sim.publishRoot();
    sim.timestamp.version = 3;
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.version('timestamp')).toBe(50);
  });
});
