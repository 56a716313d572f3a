import { readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../src/crypto/index.js';
import { TargetFile, type Targets } from '../../src/models/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { createRepository, ed25519, removeDir, T0, tempDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

const nothingPending = (repo: Repository) => repo.status().every((s) => !s.pending);

describe('Repository: hostile input is refused with a typed error and changes nothing', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it.each(['../x', '/etc/passwd', 'a/../../x', 'a//b', 'C:/x', 'a\\b'])(
    'target path %j',
    async (bad) => {
      const { repo } = await createRepository(dir);
      const before = await tree(dir);
      await expect(repo.addTarget(bad, text('evil'))).rejects.toMatchObject({
        code: 'ERR_TUF_UNSAFE_PATH',
      });
      expect(() =>
        repo.addTargetInfo(bad, { length: 1, hashes: { sha256: 'a'.repeat(64) } }),
      ).toThrow(expect.objectContaining({ code: 'ERR_TUF_UNSAFE_PATH' }));
      expect(await tree(dir)).toEqual(before);
      expect(nothingPending(repo)).toBe(true);
    },
  );

  it.each(['../x', '/etc/passwd', 'a\\b'])(
    'publish refuses a staged targets role listing %j, however it got there',
    async (bad) => {
      // Clients accept such a name in signed metadata (and refuse to install it); the repository
      // must never sign one (issue 9).
      const { repo } = await createRepository(dir);
      await repo.addTarget('ok.img', text('fine'));
      const staged = repo.getMetadata('targets').signed as Targets;
      staged.targets[bad] = new TargetFile(bad, 4, { sha256: 'a'.repeat(64) });
      const before = await tree(dir);
      await expect(repo.publish()).rejects.toMatchObject({ code: 'ERR_TUF_UNSAFE_PATH' });
      expect(await tree(dir)).toEqual(before);
    },
  );

  it('a corrupt repository config file is a typed error naming the file', async () => {
    await createRepository(dir);
    await writeFile(path.join(dir, '.tufota', 'config.json'), '{"expiry": ');
    await expect(Repository.open(await FsRepositoryStorage.open(dir))).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
      message: expect.stringContaining('.tufota/config.json'),
    });
  });

  it('a storage path escaping the root', async () => {
    const storage = await FsRepositoryStorage.open(dir);
    await expect(storage.writeFile('../escape', text('x'))).rejects.toMatchObject({
      code: 'ERR_TUF_UNSAFE_PATH',
    });
    await expect(storage.readFile('/etc/passwd')).rejects.toMatchObject({
      code: 'ERR_TUF_UNSAFE_PATH',
    });
  });

  it('a stream that fails half way leaves no file behind', async () => {
    const { repo } = await createRepository(dir);
    const before = await tree(dir);
    async function* broken() {
      yield text('first chunk');
      throw new Error('disk unplugged');
    }
    await expect(repo.addTarget('fw.img', broken())).rejects.toThrow();
    expect(await tree(dir)).toEqual(before);
    expect(repo.getTarget('fw.img')).toBeUndefined();
  });

  it('malformed target info and custom data', async () => {
    const { repo } = await createRepository(dir);
    expect(() =>
      repo.addTargetInfo('a', { length: -1, hashes: { sha256: 'a'.repeat(64) } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUF_FORMAT' }));
    expect(() => repo.addTargetInfo('a', { length: 1, hashes: { md5: 'a'.repeat(32) } })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FORMAT' }),
    );
    expect(() => repo.addTargetInfo('a', { length: 1, hashes: { sha256: 'zz' } })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FORMAT' }),
    );
    await expect(repo.addTarget('a', text('a'), { version: 'not-semver' })).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
    });
    await expect(repo.addTarget('a', text('a'), { custom: { ratio: 0.5 } })).rejects.toMatchObject({
      code: 'ERR_TUF_CANONICAL_JSON',
    });
    expect(nothingPending(repo)).toBe(true);
  });

  it('a threshold above the number of keys', async () => {
    const [k1, k2] = await ed25519(2);
    const storage = await FsRepositoryStorage.open(dir);
    await expect(
      Repository.create(storage, {
        roles: {
          root: { keys: [k1!], threshold: 2 },
          targets: { keys: [k1!] },
          snapshot: { keys: [k1!] },
          timestamp: { keys: [k1!] },
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_THRESHOLD_UNREACHABLE', role: 'root' });
    expect(await tree(dir)).toEqual([]);

    const { repo, keys } = await createRepository(dir);
    expect(() => repo.setThreshold('targets', 2)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_THRESHOLD_UNREACHABLE' }),
    );
    expect(() => repo.revokeKey('targets', keys.targets.keyid)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_THRESHOLD_UNREACHABLE' }),
    );
    expect(() => repo.delegate('apps', { paths: ['*'], keys: [k2!], threshold: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_THRESHOLD_UNREACHABLE' }),
    );
    expect(() => repo.setThreshold('root', 0)).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_THRESHOLD_UNREACHABLE' }),
    );
    expect(nothingPending(repo)).toBe(true);
    expect(repo.targetsRoleNames()).toEqual(['targets']);
  });

  it('a signature from a key the role does not trust, or from a signer lying about its key id', async () => {
    const { repo, keys } = await createRepository(dir);
    const before = await tree(dir);
    await repo.addTarget('a.txt', text('a'));
    await repo.prepare(['targets']);
    const staged = repo.getMetadata('targets').signatures.size;
    const stranger = await InMemorySigner.generate('ed25519');
    await expect(repo.addSignature('targets', stranger)).rejects.toMatchObject({
      code: 'ERR_TUF_KEY_NOT_AUTHORIZED',
    });
    await expect(repo.addSignature('targets', keys.timestamp)).rejects.toMatchObject({
      code: 'ERR_TUF_KEY_NOT_AUTHORIZED',
    });
    const impostor = await InMemorySigner.generate('ed25519', { keyid: keys.targets.keyid });
    repo.getMetadata('targets').signatures.clear();
    await expect(repo.addSignature('targets', impostor)).rejects.toMatchObject({
      code: 'ERR_TUF_KEY_NOT_AUTHORIZED',
    });
    expect(repo.getMetadata('targets').signatures.size).toBe(0);
    expect(staged).toBe(1);
    await expect(repo.addSignature('snapshot', keys.snapshot)).rejects.toMatchObject({
      code: 'ERR_TUF_INVALID_STATE',
    });
    expect(
      (await tree(dir))
        .filter((f) => !before.includes(f))
        .every((f) => f.startsWith('targets/') || f.startsWith('.tufota/')),
    ).toBe(true);
  });

  it('duplicate delegation names and role names that cannot be files', async () => {
    const { repo } = await createRepository(dir);
    const [k] = await ed25519(1);
    repo.delegate('apps', { paths: ['apps/*'], keys: [k!] });
    const version = repo.getMetadata('targets').signed.version;
    expect(() => repo.delegate('apps', { paths: ['other/*'], keys: [k!] })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_DUPLICATE_ROLE' }),
    );
    expect(() => repo.delegate('targets', { paths: ['x'], keys: [k!] })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_DUPLICATE_ROLE' }),
    );
    expect(() => repo.delegate('../evil', { paths: ['x'], keys: [k!] })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_FORMAT' }),
    );
    const targets = repo.getMetadata('targets').signed as Targets;
    expect(targets.delegations?.roles?.map((r) => r.name)).toEqual(['apps']);
    expect(repo.getMetadata('targets').signed.version).toBe(version);
    expect(() =>
      repo.createHashBins({ delegator: 'apps', bitLength: 1, namePrefix: 'apps', keys: [k!] }),
    ).not.toThrow();
    const [k2] = await ed25519(1);
    expect(() => repo.delegate('apps-0', { paths: ['x'], keys: [k2!] })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_DUPLICATE_ROLE' }),
    );
  });

  it('a repository without consistent snapshots', async () => {
    const [k] = await ed25519(1);
    const one = { keys: [k!] };
    await expect(
      Repository.create(await FsRepositoryStorage.open(dir), {
        roles: { root: one, targets: one, snapshot: one, timestamp: one },
        consistentSnapshot: false,
        now: () => T0,
      }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_INVALID_STATE' });
    expect(await tree(dir)).toEqual([]);
  });
});
