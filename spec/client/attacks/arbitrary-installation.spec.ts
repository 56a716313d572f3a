/**
 * Arbitrary installation attack (TUF threat model): an attacker who controls the network or a
 * mirror, but holds no trusted key, serves files of its choosing. Every one must be refused, and
 * nothing unverified may reach the target directory or the metadata store.
 */
import { describe, expect, it } from 'vitest';
import { Metadata, TargetFile } from '../../../src/models/index.js';
import { RepositorySimulator } from '../../../src/testing/index.js';
import {
  type Device,
  expectCode,
  mustGetTarget,
  useDevices,
  utf8,
} from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup(): Promise<{ sim: RepositorySimulator; device: Device }> {
  const sim = await RepositorySimulator.create();
  sim.addTarget('targets', utf8('genuine firmware'), 'firmware.bin');
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const device = await createDevice(sim);
  return { sim, device };
}

describe('arbitrary installation attack', () => {
  it('refuses a target whose bytes were replaced (same length), and leaves no file behind', async () => {
    const { sim, device } = await setup();
    sim.tamperTarget('firmware.bin', () => utf8('evil!! firmware!'));
    const updater = await device.refresh();
    const info = await mustGetTarget(updater, 'firmware.bin');
    await expectCode(updater.downloadTarget(info), 'ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(await device.targetFiles()).toEqual([]);
  });

  it('refuses targets metadata re-signed by a key the root does not trust', async () => {
    const { sim, device } = await setup();
    const { signer } = await sim.createKey();
    sim.clearSigners('targets');
    sim.addSigner('targets', signer);
    sim.addTarget('targets', utf8('malware'), 'malware.bin');
    sim.targets.version += 1;
    await sim.updateSnapshot();
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
    expect(device.memoryStore.roles()).toEqual(['root', 'snapshot', 'timestamp']);
  });

  it('refuses a timestamp signed by an untrusted key', async () => {
    const { sim, device } = await setup();
    const { signer } = await sim.createKey();
    sim.clearSigners('timestamp');
    sim.addSigner('timestamp', signer);
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
    expect(device.memoryStore.roles()).toEqual(['root']);
  });

  it('refuses a new root signed only by the attacker, even one that lists the attacker key', async () => {
    const { sim, device } = await setup();
    const { key, signer } = await sim.createKey();
    sim.root.addKey(key, 'root');
    sim.root.version += 1;
    await sim.publishRoot({ signers: [signer] });
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
    expect(device.memoryStore.files.get('root')).toEqual(sim.signedRoots[0]);
  });

  it('refuses a target added to targets.json in transit (signature no longer covers it)', async () => {
    const { sim, device } = await setup();
    sim.tamperMetadata('targets', (bytes) => {
      const md = Metadata.fromBytes(bytes, 'targets');
      md.signed.addTarget(new TargetFile('malware.bin', 7, { sha256: 'ab'.repeat(32) }));
      return md.toBytes();
    });
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
  });
});
