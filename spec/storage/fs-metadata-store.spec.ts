import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SYNC_WRITE_MAX_LENGTH } from '../../src/storage/atomic-file.js';
import { FsMetadataStore } from '../../src/storage/fs-metadata-store.js';
import { RepoBuilder } from '../client/metadata-builder.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-store-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('FsMetadataStore', () => {
  it('saves and loads exact bytes as <role>.json, and removes them', async () => {
    const store = new FsMetadataStore(dir);
    const bytes = new TextEncoder().encode('{"exact":  "bytes"}\n');
    await store.save('timestamp', bytes);
    expect(await fs.readdir(dir)).toEqual(['timestamp.json']);
    expect(await store.load('timestamp')).toEqual(bytes);
    await store.remove('timestamp');
    expect(await store.load('timestamp')).toBeUndefined();
    await store.remove('timestamp'); // absent: not an error
  });

  it('fsyncs the trust anchor and rollback floors, but not targets roles', async () => {
    const probe = await fs.open(path.join(dir, 'probe'), 'w');
    const sync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
    await probe.close();
    try {
      const store = new FsMetadataStore(dir);
      const bytes = new TextEncoder().encode('{}');
      for (const role of ['root', 'timestamp', 'snapshot']) {
        sync.mockClear();
        await store.save(role, bytes);
        expect(sync, role).toHaveBeenCalled();
      }
      for (const role of ['targets', 'bins-3ff']) {
        sync.mockClear();
        await store.save(role, bytes);
        expect(sync, role).not.toHaveBeenCalled();
        expect(await store.load(role)).toEqual(bytes);
      }
    } finally {
      sync.mockRestore();
    }
  });

  it('replaces a targets role atomically, small (synchronous path) or large, exact bytes', async () => {
    const store = new FsMetadataStore(dir);
    const small = new TextEncoder().encode('{"signed":  {}}\n');
    await store.save('bins-0a', new TextEncoder().encode('old'));
    await store.save('bins-0a', small);
    const large = new Uint8Array(SYNC_WRITE_MAX_LENGTH + 1).fill(0x20);
    await store.save('targets', large);
    expect(await store.load('bins-0a')).toEqual(small);
    expect(await store.load('targets')).toEqual(large);
    // No temporary file is left behind on either path.
    expect((await fs.readdir(dir)).sort()).toEqual(['bins-0a.json', 'targets.json']);
  });

  it('rejects with a StorageError and leaves no temporary file when a small write fails', async () => {
    const store = new FsMetadataStore(dir);
    // A directory where the file should go: the rename over it fails.
    await fs.mkdir(path.join(dir, 'bins-0b.json'));
    await fs.writeFile(path.join(dir, 'bins-0b.json', 'x'), 'x');
    await expect(store.save('bins-0b', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'ERR_TUF_STORAGE',
    });
    expect(await fs.readdir(dir)).toEqual(['bins-0b.json']);
    const missing = new FsMetadataStore(path.join(dir, 'missing'));
    await expect(missing.save('bins-0c', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'ERR_TUF_STORAGE',
    });
  });

  it('returns undefined for a role never saved', async () => {
    expect(await new FsMetadataStore(dir).load('snapshot')).toBeUndefined();
  });

  it('percent-encodes role names so that none leaves the directory', async () => {
    const store = new FsMetadataStore(path.join(dir, 'cache'));
    await fs.mkdir(store.dir);
    for (const role of ['../escape', '..', '.', 'a/b', 'ö'])
      await store.save(role, new Uint8Array([1]));
    expect((await fs.readdir(store.dir)).sort()).toEqual([
      '%C3%B6.json',
      '..%2Fescape.json',
      '...json',
      '..json',
      'a%2Fb.json',
    ]);
    expect(await fs.readdir(dir)).toEqual(['cache']);
    expect(await store.load('../escape')).toEqual(new Uint8Array([1]));
  });

  it('refuses to read a file larger than the cap', async () => {
    const store = new FsMetadataStore(dir, { maxLength: 10 });
    await fs.writeFile(path.join(dir, 'targets.json'), new Uint8Array(11));
    await expect(store.load('targets')).rejects.toMatchObject({ code: 'ERR_TUF_STORAGE' });
    await fs.writeFile(path.join(dir, 'targets.json'), new Uint8Array(10));
    expect((await store.load('targets'))?.length).toBe(10);
  });

  it('replaces a file atomically, leaving no temporary file', async () => {
    const store = new FsMetadataStore(dir);
    await store.save('snapshot', new Uint8Array([1, 2, 3]));
    await store.save('snapshot', new Uint8Array([4]));
    expect(await store.load('snapshot')).toEqual(new Uint8Array([4]));
    expect(await fs.readdir(dir)).toEqual(['snapshot.json']);
  });

  it('init creates the directory and installs root.json, refusing to replace one', async () => {
    const repo = await RepoBuilder.create();
    const root = await repo.rootBytes();
    const target = path.join(dir, 'new', 'metadata');
    const store = await FsMetadataStore.init(target, root);
    expect(await store.load('root')).toEqual(root);
    await expect(FsMetadataStore.init(target, root)).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
    repo.root.version = 2;
    const newer = await repo.rootBytes();
    await FsMetadataStore.init(target, newer, { overwrite: true });
    expect(await store.load('root')).toEqual(newer);
  });

  it('init refuses bytes that are not root metadata', async () => {
    const repo = await RepoBuilder.create();
    await expect(FsMetadataStore.init(dir, await repo.timestampBytes())).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
    });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('fails with a StorageError when a role path is a directory', async () => {
    await fs.mkdir(path.join(dir, 'targets.json'));
    await expect(new FsMetadataStore(dir).load('targets')).rejects.toMatchObject({
      code: 'ERR_TUF_STORAGE',
    });
  });
});
