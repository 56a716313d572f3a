/**
 * Endless data attack (TUF threat model): a server answers with an unbounded stream to exhaust
 * the client's memory or disk. Every download must stop at its cap (TUF 5.2–5.7: root and
 * timestamp by configured maximums, snapshot and targets metadata by the length their parent
 * lists or a maximum, targets by their exact trusted length) and fail with
 * `ERR_TUF_DOWNLOAD_TOO_LARGE`.
 */
import { describe, expect, it } from 'vitest';
import {
  AttackFetcher,
  RepositorySimulator,
  type ResponseAttack,
} from '../../../src/testing/index.js';
import { expectCode, mustGetTarget, useDevices, utf8 } from '../../helpers/client-harness.js';

const createDevice = useDevices();

const endless: ResponseAttack = { kind: 'endless' };

async function setup(
  attacked: string | ((sim: RepositorySimulator) => string),
  hashesAndLengths = false,
) {
  const sim = await RepositorySimulator.create();
  sim.computeMetafileHashesLength = hashesAndLengths;
  sim.addTarget('targets', utf8('0123456789'), 'image.bin');
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const attackedPath = typeof attacked === 'string' ? attacked : attacked(sim);
  const fetcher = new AttackFetcher(sim, sim.baseUrl, (path) =>
    path === attackedPath ? endless : undefined,
  );
  // Small caps keep the test fast; the defaults are exercised by the config tests.
  const device = await createDevice(sim, {
    fetcher,
    config: { rootMaxLength: 64_000, snapshotMaxLength: 64_000, targetsMaxLength: 64_000 },
  });
  return { sim, device };
}

describe('endless data attack', () => {
  it('stops an endless timestamp at the timestamp cap', async () => {
    const { device } = await setup('metadata/timestamp.json');
    await expectCode(device.refresh(), 'ERR_TUF_DOWNLOAD_TOO_LARGE');
    expect(device.memoryStore.roles()).toEqual(['root']);
  });

  it('stops an endless N+1 root at the root cap (an attacker answering for a root that does not exist)', async () => {
    const { device } = await setup('metadata/2.root.json');
    await expectCode(device.refresh(), 'ERR_TUF_DOWNLOAD_TOO_LARGE');
  });

  it('stops a snapshot at the length the timestamp lists', async () => {
    const { device } = await setup('metadata/2.snapshot.json', true);
    await expectCode(device.refresh(), 'ERR_TUF_DOWNLOAD_TOO_LARGE');
    expect(device.memoryStore.roles()).toEqual(['root', 'timestamp']);
  });

  it('stops a snapshot at the snapshot maximum when the timestamp lists no length', async () => {
    const { device } = await setup('metadata/2.snapshot.json', false);
    await expectCode(device.refresh(), 'ERR_TUF_DOWNLOAD_TOO_LARGE');
  });

  it('stops targets metadata at the targets maximum', async () => {
    const { device } = await setup('metadata/2.targets.json');
    await expectCode(device.refresh(), 'ERR_TUF_DOWNLOAD_TOO_LARGE');
    expect(device.memoryStore.roles()).toEqual(['root', 'snapshot', 'timestamp']);
  });

  it('stops a target at its trusted length and writes nothing to the target directory', async () => {
    const { device } = await setup((sim) => {
      const hash = sim.targetFiles.get('image.bin')?.targetFile.hashes.sha256;
      return `targets/${hash}.image.bin`;
    });
    const updater = await device.refresh();
    await expectCode(
      updater.downloadTarget(await mustGetTarget(updater, 'image.bin')),
      'ERR_TUF_DOWNLOAD_TOO_LARGE',
    );
    expect(await device.targetFiles()).toEqual([]);
  });
});
