/**
 * Compromised keys below the threshold (TUF threat model, "key compromise"): with a threshold of
 * t, an attacker holding fewer than t of a role's keys cannot produce metadata the client trusts.
 * Thresholds count *distinct* keys the delegator lists whose signature verifies; signatures by
 * unlisted keys are ignored, and one key signing twice is refused on parse.
 */
import { describe, expect, it } from 'vitest';
import type { Signer } from '../../../src/crypto/index.js';
import { Metadata, Signature } from '../../../src/models/index.js';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { expectCode, useDevices, utf8 } from '../../helpers/client-harness.js';

const createDevice = useDevices();

/** Every top-level role 2-of-3; returns the signers per role. */
async function setup() {
  const sim = await RepositorySimulator.create();
  const keys: Record<string, Signer[]> = {};
  for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
    keys[role] = await sim.rotateKeys(role, { count: 3, threshold: 2 });
  }
  const oldRoot = sim.signersOf('root');
  keys.root = await sim.rotateKeys('root', { count: 3, threshold: 2 });
  sim.root.version += 1;
  await sim.publishRoot({ signers: [...oldRoot, ...keys.root] });
  const device = await createDevice(sim);
  await device.refresh();
  return { sim, device, keys };
}

/** Sign `role` with only `signers` (the attacker's share) from now on. */
function compromise(sim: RepositorySimulator, role: string, signers: Signer[]): void {
  sim.clearSigners(role);
  for (const signer of signers) sim.addSigner(role, signer);
}

describe('key compromise below threshold', () => {
  for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
    it(`refuses ${role} metadata signed by one of its three keys (threshold 2)`, async () => {
      const { sim, device, keys } = await setup();
      compromise(sim, role, [keys[role]![0]!]);
      sim.targets.version += 1;
      await sim.updateSnapshot();
      await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
    });
  }

  it('refuses a new root signed by one of three old root keys (threshold 2)', async () => {
    const { sim, device, keys } = await setup();
    const { key, signer } = await sim.createKey();
    sim.root.addKey(key, 'root');
    sim.root.version += 1;
    await sim.publishRoot({ signers: [keys.root![0]!, signer] });
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
    expect(device.memoryStore.version('root')).toBe(2);
  });

  it('does not count signatures by keys the delegator does not list', async () => {
    const { sim, device, keys } = await setup();
    const extra = [
      (await sim.createKey()).signer,
      (await sim.createKey()).signer,
      (await sim.createKey()).signer,
    ];
    compromise(sim, 'timestamp', [keys.timestamp![0]!, ...extra]);
    await sim.updateTimestamp();
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
  });

  it('does not count one signature twice under two trusted key ids', async () => {
    const { sim, device, keys } = await setup();
    const [first, second] = keys.timestamp as [Signer, Signer];
    compromise(sim, 'timestamp', [first]);
    await sim.updateTimestamp();
    sim.tamperMetadata('timestamp', (bytes) => {
      const md = Metadata.fromBytes(bytes, 'timestamp');
      const sig = md.signatures.get(first.keyid)!;
      md.signatures.set(second.keyid, new Signature(second.keyid, sig.sig));
      return md.toBytes();
    });
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
  });

  it('refuses metadata that lists one key id twice among its signatures', async () => {
    const { sim, device, keys } = await setup();
    compromise(sim, 'timestamp', [keys.timestamp![0]!]);
    await sim.updateTimestamp();
    sim.tamperMetadata('timestamp', (bytes) => {
      const json = JSON.parse(new TextDecoder().decode(bytes)) as { signatures: unknown[] };
      json.signatures.push(json.signatures[0]);
      return utf8(JSON.stringify(json));
    });
    await expectCode(device.refresh(), 'ERR_TUF_FORMAT');
  });

  it('refuses a delegated role signed by one of its two keys (threshold 2)', async () => {
    const { sim, device } = await setup();
    const [one] = await sim.delegate('targets', 'apps', {
      paths: ['apps/*'],
      keys: 2,
      threshold: 2,
    });
    sim.addTarget('apps', utf8('app'), 'apps/app.bin');
    sim.targets.version += 1;
    await sim.updateSnapshot();
    const updater = await device.refresh();
    compromise(sim, 'apps', [one!]);
    await expectCode(updater.getTargetInfo('apps/app.bin'), 'ERR_TUF_UNSIGNED');
  });

  it('accepts the same delegated role signed by both keys', async () => {
    const { sim, device } = await setup();
    await sim.delegate('targets', 'apps', { paths: ['apps/*'], keys: 2, threshold: 2 });
    sim.addTarget('apps', utf8('app'), 'apps/app.bin');
    sim.targets.version += 1;
    await sim.updateSnapshot();
    const updater = await device.refresh();
    expect((await updater.getTargetInfo('apps/app.bin'))?.length).toBe(3);
  });
});
