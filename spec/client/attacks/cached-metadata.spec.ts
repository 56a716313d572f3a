/**
 * Cached metadata is untrusted until verified (TUF 5.2, 5.4–5.6 "if the client has a trusted
 * copy"): on every start the Updater reloads the cache and verifies it against the current
 * trusted delegators. A cached file that does not verify (tampered, truncated, swapped, signed by
 * a key no longer trusted) is ignored — fetched again from the repository — never fatal, and it
 * gives no rollback floor. These tests tamper with the real cache directory (`FsMetadataStore`).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsMetadataStore } from '../../../src/storage/fs-metadata-store.js';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { Device, expectCode, utf8 } from '../../helpers/client-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup() {
  const sim = await RepositorySimulator.create({ consistentSnapshot: false });
  await sim.delegate('targets', 'apps', { paths: ['apps/*'] });
  sim.addTarget('apps', utf8('app'), 'apps/app.bin');
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const dir = await mkdtemp(join(tmpdir(), 'tufota-metadata-'));
  const store = new FsMetadataStore(dir);
  const device = await Device.create(sim, { store });
  cleanups.push(
    () => device.dispose(),
    () => rm(dir, { recursive: true, force: true }),
  );
  const updater = await device.refresh();
  await updater.getTargetInfo('apps/app.bin');
  sim.clearFetchLog();
  return { sim, device, dir };
}

/** Break the first signature of a cached file: still well-formed metadata, no longer signed. */
const breakSignature = async (file: string): Promise<void> => {
  const json = JSON.parse(await readFile(file, 'utf8'));
  const sig: string = json.signatures[0].sig;
  json.signatures[0].sig = `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`;
  await writeFile(file, JSON.stringify(json));
};

describe('cached metadata is reloaded and re-verified on start', () => {
  it('an intact cache is used: nothing but the next root and the timestamp is fetched', async () => {
    const { sim, device, dir } = await setup();
    expect((await readdir(dir)).sort()).toEqual([
      'apps.json',
      'root.json',
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
    const updater = await device.refresh();
    await updater.getTargetInfo('apps/app.bin');
    expect(sim.requestedMetadata()).toEqual(['2.root.json', 'timestamp.json']);
  });

  // biome-ignore format: table
  const tampered: [string, string, string[]][] = [
    ['timestamp', 'timestamp.json', ['2.root.json', 'timestamp.json']],
    ['snapshot', 'snapshot.json', ['2.root.json', 'timestamp.json', 'snapshot.json']],
    ['targets', 'targets.json', ['2.root.json', 'timestamp.json', 'targets.json']],
    ['delegated role', 'apps.json', ['2.root.json', 'timestamp.json', 'apps.json']],
  ];

  for (const [what, file, fetched] of tampered) {
    it(`a cached ${what} with a broken signature is ignored and fetched again`, async () => {
      const { sim, device, dir } = await setup();
      await breakSignature(join(dir, file));
      const updater = await device.refresh();
      expect(await updater.getTargetInfo('apps/app.bin')).toBeDefined();
      expect(sim.requestedMetadata()).toEqual(fetched);
      // The repaired cache holds the repository's bytes again.
      const role = file.slice(0, -'.json'.length);
      expect(new Uint8Array(await readFile(join(dir, file)))).toEqual(
        await sim.fetchMetadata(role),
      );
    });
  }

  it('garbage in the cache is ignored, not fatal', async () => {
    const { sim, device, dir } = await setup();
    await writeFile(join(dir, 'snapshot.json'), 'not json at all');
    await writeFile(join(dir, 'targets.json'), new Uint8Array(0));
    await device.refresh();
    expect(sim.requestedMetadata()).toEqual([
      '2.root.json',
      'timestamp.json',
      'snapshot.json',
      'targets.json',
    ]);
  });

  it('a cached file swapped for another role is ignored', async () => {
    const { sim, device, dir } = await setup();
    await writeFile(join(dir, 'snapshot.json'), await readFile(join(dir, 'timestamp.json')));
    await device.refresh();
    expect(sim.requestedMetadata()).toEqual(['2.root.json', 'timestamp.json', 'snapshot.json']);
  });

  it('a tampered cache gives no rollback floor: a planted high timestamp version does not lock the device out', async () => {
    const { sim, device, dir } = await setup();
    // Planted by someone with write access to the disk but no key: version 1000, bad signature.
    const json = JSON.parse(await readFile(join(dir, 'timestamp.json'), 'utf8'));
    json.signed.version = 1000;
    await writeFile(join(dir, 'timestamp.json'), JSON.stringify(json));
    await sim.updateTimestamp();
    await device.refresh();
    expect(device.store).toBeInstanceOf(FsMetadataStore);
    expect(JSON.parse(await readFile(join(dir, 'timestamp.json'), 'utf8')).signed.version).toBe(3);
  });

  it('a cached timestamp signed by a key the new root revoked is dropped', async () => {
    const { sim, device, dir } = await setup();
    await sim.rotateKeys('timestamp');
    sim.root.version += 1;
    await sim.publishRoot();
    sim.timestamp.version = 1; // the honest repository starts over under the new key
    await device.refresh();
    expect(JSON.parse(await readFile(join(dir, 'timestamp.json'), 'utf8')).signed.version).toBe(1);
  });

  it('a tampered trusted root is fatal: the trust anchor must be re-provisioned', async () => {
    const { device, dir } = await setup();
    await breakSignature(join(dir, 'root.json'));
    await expectCode(device.refresh(), 'ERR_TUF_UNSIGNED');
  });
});
