import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import {
  FsRepositoryStorage,
  Repository,
  type RepositoryStorage,
  type StorageData,
} from '../../src/repository/index.js';
import { Client, ed25519, removeDir, serve, T0, tempDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);

/** Storage that fails the k-th write (writeFile, rename or copy) once armed. */
class FailingStorage implements RepositoryStorage {
  writes = 0;
  failAt: number | undefined;
  constructor(private readonly inner: RepositoryStorage) {}
  arm(k: number | undefined): void {
    this.writes = 0;
    this.failAt = k;
  }
  private count(what: string): void {
    this.writes++;
    if (this.failAt !== undefined && this.writes === this.failAt) {
      throw new StorageError(`injected crash at write ${this.writes} (${what})`);
    }
  }
  readFile(p: string, o?: { maxLength?: number }) {
    return this.inner.readFile(p, o);
  }
  async writeFile(p: string, d: StorageData) {
    this.count(p);
    return this.inner.writeFile(p, d);
  }
  list(p: string) {
    return this.inner.list(p);
  }
  remove(p: string) {
    return this.inner.remove(p);
  }
  async rename(a: string, b: string) {
    this.count(b);
    return this.inner.rename(a, b);
  }
  async copy(a: string, b: string) {
    this.count(b);
    return this.inner.copy(a, b);
  }
  exists(p: string) {
    return this.inner.exists(p);
  }
}

/**
 * A baseline repository (old state: old.txt in a delegated role), then a publish that changes
 * everything at once: a target in the delegated role, one in targets, a root key added and the
 * timestamp key rotated. Returns the repository with the failing storage disarmed.
 */
async function scenario(dir: string) {
  const storage = new FailingStorage(await FsRepositoryStorage.open(dir));
  const [root, targets, snapshot, timestamp, apps, root2, timestamp2] = await ed25519(7);
  const repo = await Repository.create(storage, {
    roles: {
      root: { keys: [root!] },
      targets: { keys: [targets!] },
      snapshot: { keys: [snapshot!] },
      timestamp: { keys: [timestamp!] },
    },
    now: () => T0,
  });
  repo.delegate('apps', { paths: ['apps/*'], keys: [apps!] });
  await repo.addTarget('apps/old.txt', text('old'), { role: 'apps' });
  await repo.publish();
  const rootV1 = repo.getPublished('root')!.bytes;
  const edit = async () => {
    await repo.addTarget('apps/new.txt', text('new'), { role: 'apps' });
    repo.addTargetInfo('top.txt', { length: 3, hashes: { sha256: 'a'.repeat(64) } });
    repo.addKey('root', root2!);
    repo.addKey('timestamp', timestamp2!);
    repo.revokeKey('timestamp', timestamp!.keyid);
  };
  return { storage, repo, rootV1, edit };
}

describe('Repository: publish crash safety', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof serve>>;
  beforeEach(async () => {
    dir = await tempDir();
    server = await serve(dir);
  });
  afterEach(async () => {
    await server.close();
    await removeDir(dir);
  });

  it('a crash after any single write leaves the old or the new state, and publishing again finishes', async () => {
    // Count the writes of the publish under test.
    const probe = await scenario(dir);
    await probe.edit();
    probe.storage.arm(undefined);
    const { written } = await probe.repo.publish();
    const total = probe.storage.writes;
    expect(total).toBe(written.length);
    expect(written.indexOf('metadata/timestamp.json')).toBe(total - 3);
    await server.close();
    await removeDir(dir);

    for (let k = 1; k <= total; k++) {
      dir = await tempDir();
      server = await serve(dir);
      const { storage, repo, rootV1, edit } = await scenario(dir);
      const warm = await Client.create(server.url, rootV1);
      expect(await warm.lookup('apps/old.txt')).toBeDefined();
      await edit();
      storage.arm(k);
      await expect(repo.publish(), `crash at write ${k}`).rejects.toMatchObject({
        code: 'ERR_TUF_STORAGE',
      });
      storage.arm(undefined);

      // Clients new and warm both accept what is served, and it is exactly old or new content.
      const contentCommitted = k > written.indexOf('metadata/timestamp.json') + 1;
      for (const client of [await Client.create(server.url, rootV1), warm]) {
        const newTarget = await client.lookup('apps/new.txt');
        expect(newTarget !== undefined, `k=${k}`).toBe(contentCommitted);
        expect((await client.lookup('top.txt')) !== undefined, `k=${k}`).toBe(contentCommitted);
        expect(await client.lookup('apps/old.txt')).toBeDefined();
        expect(await client.trusted('root'), `k=${k}`).toBe(k > total - 1 ? 2 : 1);
      }

      // The same session finishes the job; a reopened one sees a consistent repository.
      await repo.publish();
      const fresh = await Client.create(server.url, rootV1);
      expect(await fresh.lookup('apps/new.txt')).toBeDefined();
      expect(await fresh.trusted('root')).toBe(2);
      const reopened = await Repository.open(await FsRepositoryStorage.open(dir), {
        now: () => T0,
      });
      expect(reopened.status().every((s) => s.verified && !s.pending)).toBe(true);
      await server.close();
      await removeDir(dir);
    }
  }, 120_000);
});
