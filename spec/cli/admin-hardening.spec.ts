/**
 * The admin CLI's refusals a first-time admin met: add-target onto a listed path, malformed
 * conventions, no hardware id, a directory of releases (and symbolic links leaving it), a
 * publish of metadata that is already expired, reset of staged edits, and key remove.
 */
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, ok, removeDir, tempDir, treeHash, tufota } from './helpers.js';

describe('tufota CLI: add-target, publish, reset and key remove refuse what would hurt', () => {
  let work: string;
  let repo: string;
  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-hardening-');
    repo = path.join(work, 'repo');
    await ok(['init', 'repo', '--keys-dir', 'keys'], work);
    await writeFile(path.join(work, 'one.bin'), 'one');
    await writeFile(path.join(work, 'two.bin'), 'two!');
  });
  afterAll(async () => removeDir(work));

  const run = (args: string[]) => tufota(args, { cwd: repo });
  const errorOf = (stderr: string) =>
    JSON.parse(stderr.split('\n').filter(Boolean).at(-1) ?? '{}').error;

  it('refuses a path already listed unless --if-exists skip or --replace', async () => {
    const hw = ['--hardware-id', 'board-1'];
    await ok(['add-target', '../one.bin', '--path', 'fw/x.bin', ...hw, '--publish'], repo);
    const before = await treeHash(repo);
    const refused = await run(['add-target', '../two.bin', '--path', 'fw/x.bin', ...hw, '--json']);
    expect(refused.code).toBe(1);
    expect(errorOf(refused.stderr)).toMatchObject({ code: 'ERR_TUF_TARGET_EXISTS' });
    expect(await treeHash(repo)).toBe(before);
    const skipped = await ok(
      ['add-target', '../two.bin', '--path', 'fw/x.bin', ...hw, '--if-exists', 'skip', '--json'],
      repo,
    );
    expect(skipped.json.skipped).toEqual(['fw/x.bin']);
    const replaced = await ok(
      ['add-target', '../two.bin', '--path', 'fw/x.bin', ...hw, '--replace', '--publish', '--json'],
      repo,
    );
    expect(replaced.json.added[0]).toMatchObject({ path: 'fw/x.bin', length: 4 });
  });

  it('refuses conventions devices could not record, through --custom too; nothing staged', async () => {
    const before = await treeHash(repo);
    for (const extra of [
      ['--custom', '{"version": ""}'],
      ['--version', `1.0.0-${'x'.repeat(300)}`],
      ['--custom', '{"releaseCounter": -1}'],
      ['--custom', '{"hardwareIds": "board-1"}'],
    ]) {
      const result = await run([
        'add-target',
        '../one.bin',
        '--path',
        'fw/c.bin',
        '--json',
        ...extra,
      ]);
      expect(result.code, extra.join(' ')).toBe(1);
      expect(errorOf(result.stderr).code).toBe('ERR_TUF_FORMAT');
    }
    expect(await treeHash(repo)).toBe(before);
  });

  it('warns when no hardware id is given', async () => {
    const result = await ok(['add-target', '../one.bin', '--path', 'fw/any.bin'], repo);
    expect(result.stderr).toContain('warning: no --hardware-id given');
    await ok(['reset'], repo);
  });

  it('adds a directory recursively; a link leading outside it is refused, changing nothing', async () => {
    const dist = path.join(work, 'dist');
    await mkdir(path.join(dist, 'board-a'), { recursive: true });
    await writeFile(path.join(dist, 'board-a', 'fw.img'), 'A image');
    await writeFile(path.join(dist, 'notes.txt'), 'notes');
    await symlink(path.join(dist, 'notes.txt'), path.join(dist, 'latest.txt'));
    const added = await ok(
      ['add-target', '../dist', '--prefix', 'rel/1.0/', '--hardware-id', 'board-a', '--json'],
      repo,
    );
    expect(added.json.added.map((t: { path: string }) => t.path)).toEqual([
      'rel/1.0/board-a/fw.img',
      'rel/1.0/latest.txt',
      'rel/1.0/notes.txt',
    ]);
    await ok(['reset'], repo);
    await symlink(path.join(work, 'one.bin'), path.join(dist, 'escape.bin'));
    const before = await treeHash(repo);
    const refused = await run(['add-target', '../dist', '--hardware-id', 'board-a']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/escape\.bin is a symbolic link leading outside/);
    expect(await treeHash(repo)).toBe(before);
  });

  it('stores a target once: its two hash names share an inode', async () => {
    const result = await ok(
      [
        'add-target',
        '../two.bin',
        '--path',
        'fw/link.bin',
        '--hardware-id',
        'b',
        '--publish',
        '--json',
      ],
      repo,
    );
    const hashes = Object.values(result.json.added[0].hashes) as string[];
    const [a, b] = await Promise.all(
      hashes.map((h) => stat(path.join(repo, 'targets', 'fw', `${h}.link.bin`))),
    );
    expect(a?.ino).toBe(b?.ino);
  });

  it('publish refuses a staged role signed with an expiry already past; reset discards it', async () => {
    await ok(['add-target', '../one.bin', '--path', 'fw/late.bin', '--hardware-id', 'b'], repo);
    const staged = path.join(repo, '.tufota', 'staging', 'targets.json');
    const md = JSON.parse(await readFile(staged, 'utf8'));
    md.signed.expires = '2020-01-01T00:00:00Z';
    md.signatures = [];
    await writeFile(staged, JSON.stringify(md));
    await ok(['sign', '--role', 'targets'], repo);
    const before = await treeHash(path.join(repo, 'metadata'));
    const refused = await run(['publish', '--json']);
    expect(refused.code).toBe(1);
    const error = errorOf(refused.stderr);
    expect(error.code).toBe('ERR_TUF_EXPIRING_METADATA');
    expect(error.message).toMatch(/targets version \d+ expired at 2020-01-01T00:00:00\.000Z/);
    expect(error.message).toContain('tufota reset');
    expect(await treeHash(path.join(repo, 'metadata'))).toBe(before);

    const reset = await ok(['reset', '--json'], repo);
    expect(reset.json.discarded).toEqual([
      expect.objectContaining({ role: 'targets', added: ['fw/late.bin'], staged: true }),
    ]);
    const human = await ok(['reset'], repo);
    expect(human.stdout).toContain('nothing to discard');
    const status = await ok(['status', '--json'], repo);
    expect(JSON.stringify(status.json)).not.toContain('"pending":true');
    expect(await treeHash(path.join(repo, 'metadata'))).toBe(before);
  });

  it('key remove refuses a key a role trusts, naming the role; removes an unused one', async () => {
    const list = await ok(['key', 'list', '--json'], repo);
    const trusted = list.json.keys.find((k: { roles: string[] }) => k.roles.includes('targets'));
    const refused = await run(['key', 'remove', trusted.keyid, '--json']);
    expect(refused.code).toBe(1);
    expect(errorOf(refused.stderr).message).toMatch(/still trusted for targets.*--revoke-key/);

    const generated = await ok(['key', 'generate', '../keys/spare.pem', '--add', '--json'], repo);
    const removed = await ok(['key', 'remove', generated.json.keyid, '--json'], repo);
    expect(removed.json.keyid).toBe(generated.json.keyid);
    const after = await ok(['key', 'list', '--json'], repo);
    expect(after.json.keys.map((k: { keyid: string }) => k.keyid)).not.toContain(
      generated.json.keyid,
    );
  });
});
