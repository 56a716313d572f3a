/**
 * Extraneous dependencies attack (TUF threat model): the attacker makes the client believe it
 * also needs software it did not ask for. TUF's defence is that only a role trusted for a path
 * can vouch for a target at that path, and that metadata (including `custom` dependency lists)
 * cannot be changed without the signing keys.
 */
import { describe, expect, it } from 'vitest';
import { Metadata } from '../../../src/models/index.js';
import { RepositorySimulator } from '../../../src/testing/index.js';
import {
  expectCode,
  expectNoTarget,
  mustGetTarget,
  useDevices,
  utf8,
} from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup() {
  const sim = await RepositorySimulator.create();
  // "libs" may only vouch for libs/<name>; it lists an app it has no authority over.
  await sim.delegate('targets', 'libs', { paths: ['libs/*'] });
  sim.addTarget('libs', utf8('zlib'), 'libs/zlib.so');
  sim.addTarget('libs', utf8('backdoor'), 'app/backdoor.bin');
  sim.addTarget('libs', utf8('nested'), 'libs/extra/nested.so');
  sim.addTarget('targets', utf8('app'), 'app/main.bin', { dependencies: ['libs/zlib.so'] });
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const device = await createDevice(sim);
  return { sim, device };
}

describe('extraneous dependencies attack', () => {
  it('does not accept a target from a role that is not trusted for its path', async () => {
    const { sim, device } = await setup();
    const updater = await device.refresh();
    sim.clearFetchLog();
    await expectNoTarget(updater, 'app/backdoor.bin');
    // The delegation does not match app/*, so "libs" is not even consulted.
    expect(sim.requestedDelegatedRoles()).toEqual([]);
  });

  it('does not let `*` in a delegation cross a directory boundary', async () => {
    const { device } = await setup();
    const updater = await device.refresh();
    await expectNoTarget(updater, 'libs/extra/nested.so');
    expect((await mustGetTarget(updater, 'libs/zlib.so')).length).toBe(4);
  });

  it('refuses a dependency list rewritten in transit', async () => {
    const { sim, device } = await setup();
    sim.tamperMetadata('targets', (bytes) => {
      const md = Metadata.fromBytes(bytes, 'targets');
      const app = md.signed.getTarget('app/main.bin')!;
      app.custom = { dependencies: ['libs/zlib.so', 'app/backdoor.bin'] };
      return md.toBytes();
    });
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
  });

  it('serves the signed dependency list as the repository wrote it', async () => {
    const { device } = await setup();
    const updater = await device.refresh();
    expect((await mustGetTarget(updater, 'app/main.bin')).custom).toEqual({
      dependencies: ['libs/zlib.so'],
    });
  });
});
