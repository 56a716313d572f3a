/**
 * The conformance client CLI, run as the suite runs it: a subprocess (through the committed
 * `#!/bin/sh` wrapper) against a RepositorySimulator served over HTTP on 127.0.0.1. Checks the
 * protocol (exit 0 / exactly 1, usage errors), what MD and TD hold afterwards (exact trusted
 * bytes, percent-encoded names, never an unverified target), and the fetch sequence.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { access, constants, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RepositorySimulator, type SimulatorServer, serveSimulator } from '../src/testing/index.js';

const PROJECT = fileURLToPath(new URL('..', import.meta.url));
const WRAPPER = join(PROJECT, 'conformance', 'tuf-conformance-client');
/** What the wrapper runs: the one-file build of the compiled CLI (`scripts/bundle.mjs`). */
const COMPILED = join(PROJECT, 'dist', 'conformance', 'tuf-conformance-client.bundle.js');

/** Newest modification time of the TypeScript sources the CLI is compiled from. */
async function newestSource(): Promise<number> {
  let newest = statSync(join(PROJECT, 'conformance', 'tuf-conformance-client.ts')).mtimeMs;
  for (const entry of await readdir(join(PROJECT, 'src'), { recursive: true })) {
    if (entry.endsWith('.ts'))
      newest = Math.max(newest, statSync(join(PROJECT, 'src', entry)).mtimeMs);
  }
  return newest;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(WRAPPER, args, { cwd: PROJECT, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function exec(file: string, args: string[]): Promise<void> {
  return new Promise((resolve) => {
    // Other modules' type errors must not stop the emit of ours; the file check below decides.
    execFile(file, args, { cwd: PROJECT, timeout: 120_000 }, () => resolve());
  });
}

async function build(): Promise<void> {
  await exec('npx', ['tsc', '-p', 'tsconfig.build.json']);
  await exec(process.execPath, [join(PROJECT, 'scripts', 'bundle.mjs')]);
}

beforeAll(async () => {
  if (!existsSync(COMPILED) || statSync(COMPILED).mtimeMs < (await newestSource())) await build();
  expect(existsSync(COMPILED), `${COMPILED} must exist (npm run build)`).toBe(true);
}, 150_000);

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A repository with a top-level and a delegated target, served over HTTP, and an initialized MD. */
async function setup() {
  const sim = await RepositorySimulator.create();
  sim.addTarget('targets', utf8('top-level target'), 'file1.txt');
  await sim.delegate('targets', 'apps', { paths: ['apps/*'] });
  sim.addTarget('apps', utf8('delegated target'), 'apps/app.bin');
  sim.targets.version += 1;
  await sim.updateSnapshot();
  sim.root.version += 1;
  await sim.publishRoot();
  const server: SimulatorServer = await serveSimulator(sim);
  cleanups.push(() => server.close());
  const md = await tempDir('tufota-md-');
  const td = await tempDir('tufota-td-');
  const rootFile = join(await tempDir('tufota-root-'), 'root.json');
  await writeFile(rootFile, sim.signedRoots[0]!);
  const init = await runCli(['--metadata-dir', md, 'init', rootFile]);
  expect(init.code, init.stderr).toBe(0);
  sim.clearFetchLog();
  const common = ['--metadata-url', server.metadataUrl, '--metadata-dir', md];
  const download = (...names: string[]): Promise<Result> =>
    runCli([
      ...common,
      ...names.flatMap((n) => ['--target-name', n]),
      '--target-dir',
      td,
      '--target-base-url',
      server.targetUrl,
      'download',
    ]);
  return { sim, server, md, td, rootFile, common, download };
}

describe('conformance client: protocol', () => {
  it('is committed executable', async () => {
    await access(WRAPPER, constants.X_OK);
  });

  it('runs one file: the wrapper starts the bundle, which imports only Node built-ins', async () => {
    const wrapper = await readFile(WRAPPER, 'utf8');
    expect(wrapper).toContain('dist/conformance/tuf-conformance-client.bundle.js');
    const bundle = await readFile(COMPILED, 'utf8');
    const specifiers = [
      ...bundle.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gm),
      ...bundle.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ].map((m) => m[1] as string);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s.startsWith('node:'))).toEqual([]);
  });

  // biome-ignore format: table
  const usage: [string, string[]][] = [
    ['no arguments', []],
    ['unknown subcommand', ['--metadata-dir', '/tmp/x', 'update']],
    ['unknown option', ['--metadata-dir', '/tmp/x', '--days', '3', 'refresh']],
    ['option without a value', ['--metadata-dir']],
    ['refresh without --metadata-url', ['--metadata-dir', '/tmp/x', 'refresh']],
    ['init without ROOTFILE', ['--metadata-dir', '/tmp/x', 'init']],
    ['init with two operands', ['--metadata-dir', '/tmp/x', 'init', 'a', 'b']],
    ['download without --target-name', ['--metadata-url', 'http://127.0.0.1:1/', '--metadata-dir', '/tmp/x', '--target-dir', '/tmp/y', '--target-base-url', 'http://127.0.0.1:1/', 'download']],
    ['option after the subcommand', ['--metadata-dir', '/tmp/x', 'refresh', '--metadata-url', 'http://127.0.0.1:1/']],
    ['option given twice', ['--metadata-dir', '/tmp/x', '--metadata-dir', '/tmp/y', 'init', 'r']],
  ];
  for (const [name, args] of usage) {
    it(`exits 1 on a usage error: ${name}`, async () => {
      const result = await runCli(args);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('ERR_TUF_USAGE');
    });
  }

  it('init stores the exact root bytes as MD/root.json', async () => {
    const sim = await RepositorySimulator.create();
    const md = join(await tempDir('tufota-md-'), 'nested');
    const rootFile = join(md, '..', 'given-root.json');
    await writeFile(rootFile, sim.signedRoots[0]!);
    const result = await runCli(['--metadata-dir', md, 'init', rootFile]);
    expect(result.code, result.stderr).toBe(0);
    expect(new Uint8Array(await readFile(join(md, 'root.json')))).toEqual(sim.signedRoots[0]);
    expect(await readdir(md)).toEqual(['root.json']);
  });

  it('init refuses a file that is not root metadata, and exits 1', async () => {
    const md = await tempDir('tufota-md-');
    const rootFile = join(md, '..', `not-root-${Date.now()}.json`);
    await writeFile(rootFile, '{"hello": "world"}');
    cleanups.push(() => rm(rootFile, { force: true }));
    expect((await runCli(['--metadata-dir', md, 'init', rootFile])).code).toBe(1);
    expect(await readdir(md)).toEqual([]);
  });

  it('exits 1 when the repository cannot be reached', async () => {
    const { server, common } = await setup();
    await server.close();
    expect((await runCli([...common, 'refresh'])).code).toBe(1);
  });
});

describe('conformance client: refresh', () => {
  it('stores the exact trusted bytes of every top-level role, fetched in order', async () => {
    const { sim, md, common } = await setup();
    const result = await runCli([...common, 'refresh']);
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(md)).sort()).toEqual([
      'root.json',
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
    expect(new Uint8Array(await readFile(join(md, 'root.json')))).toEqual(sim.signedRoots[1]);
    for (const role of ['timestamp', 'snapshot', 'targets']) {
      expect(new Uint8Array(await readFile(join(md, `${role}.json`)))).toEqual(
        await sim.fetchMetadata(role),
      );
    }
    expect(sim.requestedMetadata()).toEqual([
      '2.root.json',
      '3.root.json',
      'timestamp.json',
      '2.snapshot.json',
      '2.targets.json',
    ]);
  });

  it('exits 1 on unsigned metadata and keeps only what verified', async () => {
    const { sim, md, common } = await setup();
    sim.clearSigners('snapshot');
    const result = await runCli([...common, 'refresh']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_TUF_UNSIGNED');
    expect((await readdir(md)).sort()).toEqual(['root.json', 'timestamp.json']);
  });

  it('a second process starts from the cache: only the next root and the timestamp are fetched', async () => {
    const { sim, common } = await setup();
    expect((await runCli([...common, 'refresh'])).code).toBe(0);
    sim.clearFetchLog();
    expect((await runCli([...common, 'refresh'])).code).toBe(0);
    expect(sim.requestedMetadata()).toEqual(['3.root.json', 'timestamp.json']);
  });

  it('exits 1 on a rollback across processes', async () => {
    const { sim, common } = await setup();
    sim.timestamp.version = 10;
    expect((await runCli([...common, 'refresh'])).code).toBe(0);
    sim.timestamp.version = 9;
    const result = await runCli([...common, 'refresh']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_TUF_BAD_VERSION');
  });
});

describe('conformance client: download', () => {
  it('downloads every named target in order, storing verified files under encoded names', async () => {
    const { sim, md, td, download } = await setup();
    const result = await download('file1.txt', 'apps/app.bin');
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(td)).sort()).toEqual(['apps%2Fapp.bin', 'file1.txt']);
    expect(await readFile(join(td, 'apps%2Fapp.bin'), 'utf8')).toBe('delegated target');
    expect((await readdir(md)).sort()).toEqual([
      'apps.json',
      'root.json',
      'snapshot.json',
      'targets.json',
      'timestamp.json',
    ]);
    const hash1 = sim.targetFiles.get('file1.txt')!.targetFile.hashes.sha256;
    const hash2 = sim.targetFiles.get('apps/app.bin')!.targetFile.hashes.sha256;
    expect(sim.requestedPaths().slice(-3)).toEqual([
      `targets/${hash1}.file1.txt`,
      'metadata/1.apps.json',
      `targets/apps/${hash2}.app.bin`,
    ]);
  });

  it('stops at the first unknown target and exits 1', async () => {
    const { td, download } = await setup();
    const result = await download('file1.txt', 'missing.txt', 'apps/app.bin');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_TUF_TARGET_NOT_FOUND');
    expect(await readdir(td)).toEqual(['file1.txt']);
  });

  it('never leaves a tampered target in the target directory', async () => {
    const { sim, td, download } = await setup();
    sim.tamperTarget('file1.txt', () => utf8('tampered target'));
    const result = await download('file1.txt');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(await readdir(td)).toEqual([]);
  });

  it('does not download a target already present and verified', async () => {
    const { sim, download } = await setup();
    expect((await download('file1.txt')).code).toBe(0);
    sim.clearFetchLog();
    expect((await download('file1.txt')).code).toBe(0);
    expect(sim.fetchLog.filter((r) => r.kind === 'target')).toEqual([]);
  });

  it('percent-encodes delegated role names in the metadata directory', async () => {
    const { sim, md, download } = await setup();
    await sim.delegate('targets', '../escape', { paths: ['x/*'] });
    sim.addTarget('../escape', utf8('x'), 'x/y');
    sim.targets.version += 1;
    await sim.updateSnapshot();
    const result = await download('x/y');
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(md)).toContain('..%2Fescape.json');
    expect(existsSync(join(md, '..', 'escape.json'))).toBe(false);
  });
});
