/**
 * `tufota verify` lists every problem of a damaged repository in one run — a tampered target, a
 * missing target copy, a role below its signature threshold, an expired role — and exits 3.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, ok, removeDir, tempDir, tufota } from './helpers.js';

interface Problem {
  kind: string;
  role?: string;
  target?: string;
  file?: string;
  message: string;
}

describe('tufota verify', () => {
  let work: string;
  let repo: string;

  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-verify-');
    repo = path.join(work, 'repo');
    await ok(['init', 'repo', '--keys-dir', 'keys', '--expiry', 'timestamp=1h'], work);
    await writeFile(path.join(work, 'a.img'), 'image a, intact length');
    await writeFile(path.join(work, 'b.img'), 'image b');
    await ok(['add-target', '../a.img', '../b.img', '--prefix', 'fw/', '--publish'], repo);
  });
  afterAll(async () => removeDir(work));

  it('a healthy repository verifies (exit 0) and the report lists every role', async () => {
    const result = await ok(['verify', '--json'], repo);
    expect(result.json.problems).toEqual([]);
    expect(result.json.roles.map((r: { role: string }) => r.role)).toEqual([
      'root',
      'timestamp',
      'snapshot',
      'targets',
    ]);
  });

  it('reports a tampered target, a missing file, a signature below threshold and an expired role together', async () => {
    const files = await readdir(path.join(repo, 'targets', 'fw'));
    const a = files.find((f) => f.endsWith('.a.img') && /^[0-9a-f]{64}\./.test(f)) as string;
    const a512 = files.find((f) => f.endsWith('.a.img') && /^[0-9a-f]{128}\./.test(f)) as string;
    const b = files.find((f) => f.endsWith('.b.img') && /^[0-9a-f]{128}\./.test(f)) as string;
    const original = await readFile(path.join(repo, 'targets', 'fw', a));
    await writeFile(
      path.join(repo, 'targets', 'fw', a),
      Buffer.from(original.toString().replace('a', 'X')),
    );
    await rm(path.join(repo, 'targets', 'fw', b));
    const tsFile = path.join(repo, 'metadata', 'timestamp.json');
    const timestamp = JSON.parse(await readFile(tsFile, 'utf8'));
    timestamp.signatures = [];
    await writeFile(tsFile, JSON.stringify(timestamp));

    const later = new Date(Date.now() + 2 * 3600_000).toISOString();
    const result = await tufota(['verify', '--json', '--unsafe-reference-time', later], {
      cwd: repo,
    });
    expect(result.code).toBe(3);
    const problems = result.json.problems as Problem[];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'length-or-hash-mismatch',
          target: 'fw/a.img',
          file: `targets/fw/${a}`,
        }),
        // The hash names of one target are hard links to one copy: editing it in place damages both.
        expect.objectContaining({
          kind: 'length-or-hash-mismatch',
          target: 'fw/a.img',
          file: `targets/fw/${a512}`,
        }),
        expect.objectContaining({ kind: 'missing', target: 'fw/b.img', file: `targets/fw/${b}` }),
        expect.objectContaining({ kind: 'unsigned', role: 'timestamp' }),
        expect.objectContaining({ kind: 'expired', role: 'timestamp' }),
      ]),
    );
    expect(problems).toHaveLength(5);
    const human = await tufota(['verify', '--unsafe-reference-time', later], { cwd: repo });
    expect(human.code).toBe(3);
    expect(human.stdout).toContain('5 problem(s):');
    expect(human.stdout).toContain('[expired] timestamp version');
  });

  it('reports the snapshot the timestamp names as missing when it is deleted', async () => {
    const snapshots = (await readdir(path.join(repo, 'metadata'))).filter((f) =>
      f.endsWith('.snapshot.json'),
    );
    const newest = snapshots.sort(
      (x, y) => Number.parseInt(y, 10) - Number.parseInt(x, 10),
    )[0] as string;
    await rm(path.join(repo, 'metadata', newest));
    const result = await tufota(['verify', '--json', '--skip-targets'], { cwd: repo });
    expect(result.code).toBe(3);
    expect(result.json.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'missing', role: 'snapshot', file: `metadata/${newest}` }),
      ]),
    );
  });

  it('an empty directory is reported, not crashed on', async () => {
    const result = await tufota(['verify', '--json', path.join(work, 'nothing-here')], {
      cwd: work,
    });
    expect(result.code).toBe(3);
    expect(result.json.problems[0]).toMatchObject({ kind: 'missing', role: 'root' });
  });
});
