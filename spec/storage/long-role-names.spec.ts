/**
 * Delegated role names of any length (issue 9): a 300-character name made the metadata cache
 * write fail and its cleanup throw a raw ENAMETOOLONG. Long names are stored under a hashed file
 * name; every failure that remains is a StorageError.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Updater } from '../../src/client/updater.js';
import { writeFileAtomicNonDurableSync } from '../../src/storage/atomic-file.js';
import {
  FsMetadataStore,
  MAX_METADATA_FILE_NAME_LENGTH,
} from '../../src/storage/fs-metadata-store.js';
import { RepositorySimulator } from '../../src/testing/index.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-long-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('FsMetadataStore with long role names', () => {
  for (const length of [300, 1000]) {
    it(`saves, loads and removes a ${length}-character role name (hashed file name)`, async () => {
      const store = new FsMetadataStore(dir);
      const name = 'r'.repeat(length);
      const multibyte = 'ö'.repeat(length);
      await store.save(name, utf8('long'));
      await store.save(multibyte, utf8('long ö'));
      await store.save('short', utf8('short'));
      expect(await store.load(name)).toEqual(utf8('long'));
      expect(await store.load(multibyte)).toEqual(utf8('long ö'));
      expect(await store.load('short')).toEqual(utf8('short'));
      for (const file of await fs.readdir(dir)) {
        expect(Buffer.byteLength(file)).toBeLessThanOrEqual(MAX_METADATA_FILE_NAME_LENGTH);
      }
      await store.remove(name);
      expect(await store.load(name)).toBeUndefined();
      expect(await store.load(multibyte)).toEqual(utf8('long ö'));
    });
  }

  it('keeps names up to the limit readable, as the reference names them', async () => {
    const store = new FsMetadataStore(dir);
    const name = 'a'.repeat(MAX_METADATA_FILE_NAME_LENGTH - '.json'.length);
    await store.save(name, utf8('x'));
    expect(await fs.readdir(dir)).toEqual([`${name}.json`]);
  });
});

describe('atomic writes whose name cannot exist', () => {
  it('fail with a StorageError, and the cleanup never throws a raw errno error', () => {
    const filePath = path.join(dir, `${'n'.repeat(300)}.json`);
    let caught: unknown;
    try {
      writeFileAtomicNonDurableSync(filePath, utf8('x'));
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'ERR_TUF_STORAGE' });
  });
});

describe('an updater walking delegations with long names, cached on disk', () => {
  for (const length of [300, 1000]) {
    it(`refreshes, looks up and downloads through a ${length}-character delegated role`, async () => {
      const sim = await RepositorySimulator.create();
      const longName = `vendor-${'x'.repeat(length - 7)}`;
      await sim.delegate('targets', longName, { paths: ['long/*'] });
      await sim.delegate('targets', 'short', { paths: ['short/*'] });
      sim.addTarget(longName, utf8('long firmware'), 'long/fw.bin');
      sim.addTarget('short', utf8('short firmware'), 'short/fw.bin');
      sim.targets.version += 1;
      await sim.updateSnapshot();
      const metadataDir = path.join(dir, 'metadata');
      const targetDir = path.join(dir, 'targets');
      await FsMetadataStore.init(metadataDir, sim.signedRoots[0] as Uint8Array);
      const start = () =>
        Updater.create({
          metadataBaseUrl: sim.metadataBaseUrl,
          targetBaseUrl: sim.targetBaseUrl,
          targetDir,
          fetcher: sim,
          metadataStore: new FsMetadataStore(metadataDir),
        });
      const updater = await start();
      await updater.refresh();
      for (const [target, content] of [
        ['long/fw.bin', 'long firmware'],
        ['short/fw.bin', 'short firmware'],
      ] as const) {
        const info = await updater.getTargetInfo(target);
        expect(info, target).toBeDefined();
        const file = await updater.downloadTarget(info!);
        expect(await fs.readFile(file, 'utf8')).toBe(content);
      }
      // A restart finds the long role in the cache: no second download of its metadata.
      const again = await start();
      await again.refresh();
      sim.clearFetchLog();
      expect(await again.getTargetInfo('long/fw.bin')).toBeDefined();
      expect(sim.requestedDelegatedRoles()).toEqual([]);
    });
  }
});
