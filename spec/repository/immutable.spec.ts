/**
 * What a publish never does: overwrite a published versioned file, publish over another
 * session's publish (its edit would be lost), list a target path twice by accident, or store a
 * target's bytes once per hash name. And the target conventions devices rely on are refused here,
 * before anything is published.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { consistentTargetPath } from '../../src/repository/target-input.js';
import { createRepository, ed25519, removeDir, T0, tempDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => removeDir(dir));

const bytes = (text: string) => new TextEncoder().encode(text);

async function setup() {
  const created = await createRepository(dir);
  const signers = Object.values(created.keys);
  const open = async () =>
    Repository.open(await FsRepositoryStorage.open(dir), { signers, now: () => T0 });
  return { ...created, open };
}

describe('publishing never loses another session’s edit', () => {
  it('refuses to publish when another session published after this one opened', async () => {
    const { open } = await setup();
    const a = await open();
    const b = await open();
    await a.addTarget('fw/a.bin', bytes('a'));
    await b.addTarget('fw/b.bin', bytes('b'));
    await a.publish();
    const listing = await readFile(path.join(dir, 'metadata', 'timestamp.json'));
    await expect(b.publish()).rejects.toMatchObject({
      code: 'ERR_TUF_PUBLISHED_FILE_CONFLICT',
      message: expect.stringContaining('published by another session'),
    });
    // Nothing of b was written; a's edit stays.
    expect(await readFile(path.join(dir, 'metadata', 'timestamp.json'))).toEqual(listing);
    const again = await open();
    expect(again.getTarget('fw/a.bin')).toBeDefined();
    expect(again.getTarget('fw/b.bin')).toBeUndefined();
  });

  it('never overwrites a published N.root.json with other bytes', async () => {
    const { open } = await setup();
    const repo = await open();
    const [extra] = await ed25519(1);
    repo.addKey('targets', extra!);
    await writeFile(path.join(dir, 'metadata', '2.root.json'), '{"not": "this root"}');
    await expect(repo.publish()).rejects.toMatchObject({
      code: 'ERR_TUF_PUBLISHED_FILE_CONFLICT',
      filePath: 'metadata/2.root.json',
    });
    expect(await readFile(path.join(dir, 'metadata', '2.root.json'), 'utf8')).toBe(
      '{"not": "this root"}',
    );
  });

  it('replaces a leftover of an interrupted publish (a version no timestamp names)', async () => {
    const { open } = await setup();
    const repo = await open();
    await writeFile(path.join(dir, 'metadata', '2.snapshot.json'), 'torn leftover');
    await writeFile(path.join(dir, 'metadata', '2.targets.json'), 'torn leftover');
    await repo.addTarget('fw/a.bin', bytes('a'));
    await repo.publish();
    const reopened = await open();
    expect(reopened.getTarget('fw/a.bin')).toBeDefined();
    expect(reopened.getPublished('snapshot')?.metadata.signed.version).toBe(2);
  });
});

describe('target files', () => {
  it('stores one copy for all hash names (hard links: one inode)', async () => {
    const { open } = await setup();
    const repo = await open();
    const target = await repo.addTarget('fw/image.bin', bytes('image bytes'));
    const [a, b] = Object.values(target.hashes).map((d) =>
      path.join(dir, ...consistentTargetPath('fw/image.bin', d).split('/')),
    );
    const [sa, sb] = [await stat(a!), await stat(b!)];
    expect(sa.ino).toBe(sb.ino);
    expect(sa.nlink).toBe(2);
    expect(await readFile(b!, 'utf8')).toBe('image bytes');
  });

  it('refuses a hash name that exists with other bytes, listing nothing', async () => {
    const { open } = await setup();
    const repo = await open();
    const target = await repo.addTarget('fw/image.bin', bytes('image bytes'), {});
    repo.removeTarget('fw/image.bin');
    const file = path.join(
      dir,
      ...consistentTargetPath('fw/image.bin', target.hashes.sha256!).split('/'),
    );
    await writeFile(`${file}.tmp`, 'tampered');
    await rename(`${file}.tmp`, file); // a new inode: only the sha256 name changes
    await expect(repo.addTarget('fw/image.bin', bytes('image bytes'))).rejects.toMatchObject({
      code: 'ERR_TUF_PUBLISHED_FILE_CONFLICT',
    });
    expect(repo.getTarget('fw/image.bin')).toBeUndefined();
  });

  it('ifExists: fail refuses a path the role already lists; skip keeps it; replace replaces', async () => {
    const { open } = await setup();
    const repo = await open();
    await repo.addTarget('fw/a.bin', bytes('one'));
    await expect(
      repo.addTarget('fw/a.bin', bytes('two'), { ifExists: 'fail' }),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_TARGET_EXISTS',
    });
    expect(() =>
      repo.addTargetInfo(
        'fw/a.bin',
        { length: 1, hashes: { sha256: 'a'.repeat(64) } },
        { ifExists: 'fail' },
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_TUF_TARGET_EXISTS' }));
    const skipped = await repo.addTarget('fw/a.bin', bytes('two'), { ifExists: 'skip' });
    expect(skipped.length).toBe(3);
    const replaced = await repo.addTarget('fw/a.bin', bytes('three'), { ifExists: 'replace' });
    expect(repo.getTarget('fw/a.bin')?.target.length).toBe(replaced.length);
    expect(replaced.length).toBe(5);
  });
});

describe('target conventions devices rely on are refused before publishing', () => {
  for (const [what, options] of [
    ['an empty version in --custom', { custom: { version: '' } }],
    ['a 300-character version', { custom: { version: `1.0.0-${'x'.repeat(294)}` } }],
    ['a version that is not semver', { version: 'release seven' }],
    ['a negative releaseCounter in custom', { custom: { releaseCounter: -1 } }],
    ['hardwareIds with an empty id', { custom: { hardwareIds: ['board-1', ''] } }],
    ['hardwareIds that is a string', { custom: { hardwareIds: 'board-1' } }],
    ['no hardware id at all in the list', { hardwareIds: [] }],
  ] as const) {
    it(what, async () => {
      const { open } = await setup();
      const repo = await open();
      await expect(repo.addTarget('fw/a.bin', bytes('a'), options as never)).rejects.toMatchObject({
        code: 'ERR_TUF_FORMAT',
      });
      expect(() =>
        repo.addTargetInfo(
          'fw/b.bin',
          { length: 1, hashes: { sha256: 'a'.repeat(64) } },
          options as never,
        ),
      ).toThrow(expect.objectContaining({ name: 'FormatError' }));
      expect(repo.status().some((s) => s.pending)).toBe(false);
    });
  }
});

describe('publish refuses metadata clients would refuse as expired', () => {
  const DAY = 86_400_000;
  it('an unchanged role that expired: refused with the role, the time and the command', async () => {
    const { keys } = await setup();
    const later = new Date(T0.getTime() + 100 * DAY); // targets (90 days) expired
    const repo = await Repository.open(await FsRepositoryStorage.open(dir), {
      signers: Object.values(keys),
      now: () => later,
    });
    const [extra] = await ed25519(1);
    repo.addKey('snapshot', extra!); // a new root; targets itself is not touched
    const before = await readFile(path.join(dir, 'metadata', 'timestamp.json'));
    await expect(repo.publish()).rejects.toMatchObject({
      code: 'ERR_TUF_EXPIRING_METADATA',
      message: expect.stringMatching(
        /targets version 1 expired at 2030-04-01T00:00:00\.000Z \(re-sign it: tufota refresh/,
      ),
    });
    expect(await readFile(path.join(dir, 'metadata', 'timestamp.json'))).toEqual(before);
    // refresh re-signs the expired role, and the publish goes through.
    const { result } = await repo.refresh();
    expect(result?.roles.map((r) => r.role)).toEqual(
      expect.arrayContaining(['root', 'targets', 'snapshot', 'timestamp']),
    );
  });

  it('a role expiring within the margin is refused; a smaller margin lets it through', async () => {
    const { keys } = await setup();
    const almost = new Date(T0.getTime() + 90 * DAY - 30 * 60_000); // targets: 30 min left
    const repo = await Repository.open(await FsRepositoryStorage.open(dir), {
      signers: Object.values(keys),
      now: () => almost,
    });
    const [extra] = await ed25519(1);
    repo.addKey('snapshot', extra!); // snapshot and timestamp are rebuilt; targets is not
    await expect(repo.publish()).rejects.toMatchObject({
      code: 'ERR_TUF_EXPIRING_METADATA',
      message: expect.stringContaining('within the 1 h safety margin'),
    });
    await repo.publish({ expiryMargin: 10 * 60_000 });
  });
});
