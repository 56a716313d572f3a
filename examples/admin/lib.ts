/**
 * Shared plumbing of the admin examples: run the `tufota` executable as an administrator would,
 * in a scratch directory, and play the part of a device (tufota's own client over HTTP).
 *
 * The examples are compiled to `dist/examples/admin/*.js` and executed by the test suite
 * (spec/cli/examples.spec.ts), so every command they show keeps working.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUpdater, FsMetadataStore } from 'tufota/client';
import { createStaticServer, type StaticServer } from 'tufota/server';

/** The compiled CLI next to this compiled example. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A scratch directory, removed by {@link cleanup}. */
export async function scratch(name: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `tufota-example-${name}-`));
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Run `tufota ...args` in `cwd` and return its stdout; print the command like a shell session.
 * Throws (with stderr) when it exits non-zero.
 */
export function tufota(cwd: string, args: string[], env: Record<string, string> = {}): string {
  console.log(`$ tufota ${args.join(' ')}`);
  try {
    return execFileSync(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as { status?: number; stderr?: string };
    throw new Error(`tufota ${args.join(' ')} exited ${e.status}: ${e.stderr}`);
  }
}

/** Run `tufota ...args --json` and parse the result. */
export function tufotaJson<T = Record<string, unknown>>(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): T {
  return JSON.parse(tufota(cwd, [...args, '--json'], env)) as T;
}

/** Serve a repository directory on a loopback port. */
export function serve(root: string): Promise<StaticServer> {
  return createStaticServer({ root });
}

/** A device: tufota's client with its own metadata cache, provisioned with `rootFile`. */
export async function device(dir: string, url: string, rootFile: string) {
  const metadataDir = path.join(dir, 'metadata');
  await FsMetadataStore.init(metadataDir, new Uint8Array(await readFile(rootFile)));
  await mkdir(path.join(dir, 'targets'), { recursive: true });
  return {
    /** Refresh (from `from`, default the device's server) and download `targetPath` as text. */
    async fetch(targetPath: string, from: string = url): Promise<string> {
      const updater = await createUpdater({
        metadataDir,
        metadataBaseUrl: `${from}/metadata/`,
        targetBaseUrl: `${from}/targets/`,
        targetDir: path.join(dir, 'targets'),
        http: { retries: 0 },
      });
      await updater.refresh();
      const info = await updater.getTargetInfo(targetPath);
      if (info === undefined) throw new Error(`the device found no ${targetPath}`);
      return readFile(await updater.downloadTarget(info), 'utf8');
    },
    /** The root version the device trusts now. */
    async trustedRoot(): Promise<number> {
      const root = JSON.parse(await readFile(path.join(metadataDir, 'root.json'), 'utf8'));
      return (root as { signed: { version: number } }).signed.version;
    },
    metadataDir,
  };
}

/** Fail the example (non-zero exit) unless `condition` holds. */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`  ok: ${what}`);
}
