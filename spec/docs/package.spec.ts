/**
 * The packed package (what `npm pack`, `npm install -g` and `npx --package` ship) holds a CLI
 * that runs outside the clone: the `bin` entry is in the tarball, is executable through its
 * shebang, and finds everything it imports in the package and its declared dependencies.
 *
 * Installing the tarball from the registry needs the network, so the dependencies are taken
 * from this clone's node_modules instead (the README's commands were also run by hand).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, ROOT, removeDir, tempDir } from '../cli/helpers.js';

function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
        stdout,
        stderr,
      });
    });
  });
}

describe('npm pack', () => {
  let work: string;
  let files: string[];
  let unpacked: string;

  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-pack-');
    // dist/ is fresh (buildOnce); --ignore-scripts skips the prepare build a second time.
    const packed = await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      ROOT,
    );
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    files = info.files.map((f) => f.path);
    unpacked = path.join(work, 'install');
    await mkdir(unpacked);
    const untar = await run('tar', ['-xzf', path.join(work, info.filename), '-C', unpacked], work);
    expect(untar.code, untar.stderr).toBe(0);
    // What npm install would put beside the package: its dependencies.
    await symlink(path.join(ROOT, 'node_modules'), path.join(unpacked, 'package', 'node_modules'));
  }, 240_000);
  afterAll(async () => removeDir(work));

  it('ships the bin entry and the library, not the tests', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    const bin = (pkg.bin as Record<string, string>).tufota as string;
    expect(files).toContain(bin);
    expect(files).toContain('dist/src/index.js');
    expect(files.some((f) => f.startsWith('spec/') || f.startsWith('dist/spec/'))).toBe(false);
    const main = await readFile(path.join(unpacked, 'package', bin), 'utf8');
    expect(main.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('runs tufota --help from outside the clone', async () => {
    const cli = path.join(unpacked, 'package', 'dist', 'src', 'cli', 'main.js');
    const help = await run(process.execPath, [cli, '--help'], work);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: tufota COMMAND/);
    const init = await run(process.execPath, [cli, 'help', 'serve'], work);
    expect(init.stdout).toContain('--quiet');
  });
});
