/**
 * `tufota verify` on a repository whose signed targets list an odd name (issue 9): the models now
 * keep such names, so verify must report them and never hash a file outside the repository.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyRepository } from '../../src/cli/verify-repository.js';
import { hashBytes } from '../../src/crypto/index.js';
import { Metadata, TargetFile } from '../../src/models/index.js';
import { createRepository, removeDir, T0, tempDir } from '../repository/helpers.js';

let work: string;

beforeEach(async () => {
  work = await tempDir();
});
afterEach(async () => {
  await removeDir(work);
});

describe('verifyRepository and odd target names', () => {
  it('reports "../../outside.img" as malformed and reads nothing outside the repository', async () => {
    const dir = path.join(work, 'repo');
    const { repo, keys } = await createRepository(dir);
    await repo.addTarget('ok.img', new TextEncoder().encode('fine'));
    const { written } = await repo.publish();
    const targetsFile = written.find((f) => /^metadata\/\d+\.targets\.json$/.test(f)) as string;
    expect(targetsFile).toBeDefined();
    // A file where `targets/../../HASH.outside.img` would resolve, with the listed bytes.
    const outside = new TextEncoder().encode('outside the repository');
    const digest = hashBytes(outside, ['sha256']).sha256 as string;
    await writeFile(path.join(work, `${digest}.outside.img`), outside);
    const md = Metadata.fromBytes(await readFile(path.join(dir, targetsFile)), 'targets');
    md.signed.targets['../../outside.img'] = new TargetFile('../../outside.img', outside.length, {
      sha256: digest,
    });
    await md.sign(keys.targets);
    await writeFile(path.join(dir, targetsFile), md.toBytes());

    let total: number | undefined;
    const report = await verifyRepository(dir, {
      referenceTime: T0,
      onTargetBytes: (event) => {
        if (event.total !== undefined) total = event.total;
      },
    });
    // Only ok.img's copies (4 bytes each) are looked at: the outside file, 22 bytes, is never
    // stat'd or hashed.
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThan(outside.length);
    const odd = report.problems.filter((p) => p.target === '../../outside.img');
    expect(odd).toEqual([expect.objectContaining({ kind: 'malformed' })]);
    expect(odd[0]?.message).toContain('".." segment');
  });
});
