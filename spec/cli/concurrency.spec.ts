/**
 * Two `tufota add-target --publish` at once on one repository, as two real processes: before the
 * repository lock both exited 0 and one target was gone (`N.targets.json` written twice with
 * different content). Now, every round, each process either published its target or exited
 * non-zero with the lock error naming the holder; with `--wait` both edits land.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, ok, removeDir, tempDir, tufota } from './helpers.js';

/** Target paths listed by the published top-level targets role (timestamp → snapshot → targets). */
async function publishedTargets(repo: string): Promise<string[]> {
  const read = async (file: string) =>
    JSON.parse(await readFile(path.join(repo, 'metadata', file), 'utf8'));
  const timestamp = await read('timestamp.json');
  const snapshot = await read(`${timestamp.signed.meta['snapshot.json'].version}.snapshot.json`);
  const targets = await read(`${snapshot.signed.meta['targets.json'].version}.targets.json`);
  return Object.keys(targets.signed.targets);
}

describe('tufota CLI: concurrent publishes never lose an edit', () => {
  let work: string;
  let repo: string;
  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-concurrent-');
    repo = path.join(work, 'repo');
    await ok(['init', 'repo', '--keys-dir', 'keys'], work);
  });
  afterAll(async () => removeDir(work));

  const add = (file: string, target: string, extra: string[] = []) =>
    tufota(
      [
        'add-target',
        file,
        '--path',
        target,
        '--hardware-id',
        'board-1',
        '--publish',
        '--json',
        ...extra,
      ],
      { cwd: repo },
    );

  it('20 rounds of two add-target --publish at once: both listed, or one refused by the lock', async () => {
    let refusals = 0;
    for (let round = 0; round < 20; round++) {
      const names = [`r${round}-a.bin`, `r${round}-b.bin`];
      for (const name of names) await writeFile(path.join(work, name), `${name} contents`);
      const results = await Promise.all(names.map((name) => add(`../${name}`, `fw/${name}`)));
      const listed = await publishedTargets(repo);
      for (const [i, result] of results.entries()) {
        const target = `fw/${names[i]}`;
        if (result.code === 0) {
          expect(listed, `round ${round}: ${target} exited 0`).toContain(target);
        } else {
          refusals += 1;
          expect(listed).not.toContain(target);
          const error = JSON.parse(result.stderr).error;
          expect(error.code, result.stderr).toBe('ERR_TUF_REPOSITORY_LOCKED');
          expect(error.message).toMatch(/locked by "tufota add-target" \(pid \d+, since /);
        }
      }
      expect(results.some((r) => r.code === 0)).toBe(true);
    }
    // The lock is released after every run, refused or not.
    await expect(readFile(path.join(repo, '.tufota', 'lock'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(refusals).toBeGreaterThanOrEqual(0);
  }, 240_000);

  it('with --wait both edits are published', async () => {
    for (let round = 0; round < 3; round++) {
      const names = [`w${round}-a.bin`, `w${round}-b.bin`];
      for (const name of names) await writeFile(path.join(work, name), `${name} contents`);
      const results = await Promise.all(
        names.map((name) => add(`../${name}`, `fw/${name}`, ['--wait', '120'])),
      );
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const listed = await publishedTargets(repo);
      for (const name of names) expect(listed).toContain(`fw/${name}`);
    }
  }, 120_000);
});
