/**
 * Indefinite freeze attack (TUF threat model): an attacker keeps serving old, once-valid metadata
 * so the client never learns of updates. Every role carries `expires`, checked against one
 * reference time fixed when the refresh starts (TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5).
 */
import { describe, expect, it } from 'vitest';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { daysAgo, expectCode, useDevices, utf8 } from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup() {
  const sim = await RepositorySimulator.create();
  const device = await createDevice(sim);
  return { sim, device };
}

describe('indefinite freeze attack', () => {
  it('refuses an expired timestamp and stores nothing but root', async () => {
    const { sim, device } = await setup();
    sim.timestamp.expires = daysAgo(1);
    await sim.updateTimestamp();
    await expectCode(device.refresh(), 'ERR_TUF_EXPIRED');
    expect(device.memoryStore.roles()).toEqual(['root']);
  });

  it('refuses a frozen timestamp replayed after it expired', async () => {
    const { sim, device } = await setup();
    sim.timestamp.expires = new Date(sim.safeExpiry.getTime() - 20 * 86_400_000);
    await sim.updateTimestamp();
    const frozen = await sim.fetchMetadata('timestamp');
    await device.refresh();
    // The repository moves on; the attacker keeps replaying the bytes the device already has.
    await sim.updateTimestamp();
    sim.pinMetadata('timestamp', frozen);
    const updater = await device.start();
    updater.unsafeSetReferenceTime(new Date(sim.safeExpiry.getTime() - 5 * 86_400_000));
    await expectCode(updater.refresh(), 'ERR_TUF_EXPIRED');
  });

  it('refuses an expired snapshot', async () => {
    const { sim, device } = await setup();
    sim.snapshot.expires = daysAgo(1);
    await sim.updateSnapshot();
    await expectCode(device.refresh(), 'ERR_TUF_EXPIRED');
    expect(device.memoryStore.roles()).toEqual(['root', 'timestamp']);
  });

  it('refuses expired targets metadata', async () => {
    const { sim, device } = await setup();
    sim.targets.expires = daysAgo(1);
    sim.targets.version += 1;
    await sim.updateSnapshot();
    await expectCode(device.refresh(), 'ERR_TUF_EXPIRED');
    expect(device.memoryStore.roles()).toEqual(['root', 'snapshot', 'timestamp']);
  });

  it('refuses an expired final root, but keeps it as the trusted root for the next rotation', async () => {
    const { sim, device } = await setup();
    sim.root.expires = daysAgo(1);
    sim.root.version += 1;
    await sim.publishRoot();
    await expectCode(device.refresh(), 'ERR_TUF_EXPIRED');
    expect(device.memoryStore.files.get('root')).toEqual(sim.signedRoots[1]);
    // A later root that is not expired unfreezes the client.
    sim.root.expires = sim.safeExpiry;
    sim.root.version += 1;
    await sim.publishRoot();
    await device.refresh();
    expect(device.memoryStore.version('root')).toBe(3);
  });

  it('refuses an expired delegated role when a target lookup needs it', async () => {
    const { sim, device } = await setup();
    await sim.delegate('targets', 'frozen', { paths: ['*'] });
    sim.targetsOf('frozen').expires = daysAgo(1);
    sim.addTarget('frozen', utf8('old'), 'old.bin');
    await sim.updateSnapshot();
    const updater = await device.refresh();
    await expectCode(updater.getTargetInfo('old.bin'), 'ERR_TUF_EXPIRED');
  });

  it('honours the reference time: a clock past every expiry refuses the refresh', async () => {
    const { sim, device } = await setup();
    const updater = await device.start();
    updater.unsafeSetReferenceTime(new Date(sim.safeExpiry.getTime() + 86_400_000));
    await expectCode(updater.refresh(), 'ERR_TUF_EXPIRED');
  });
});
