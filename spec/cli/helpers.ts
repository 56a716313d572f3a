/**
 * Helpers for the CLI specs: build `dist/` once per run (a lock keeps parallel spec files from
 * building at the same time), run `node dist/src/cli/main.js` as a subprocess as an admin would,
 * hash a repository tree to prove refused commands change nothing,.
 * Served repositories are judged by `Client` (tuf-js 4 and our Updater side by side).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';

export { Client, removeDir, serve, tempDir } from '../repository/helpers.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const PASSWORD = 'correct horse battery staple';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function fresh(): boolean {
  if (!existsSync(CLI)) return false;
  const built = statSync(CLI).mtimeMs;
  return ['src', 'examples'].every(
    (d) => !existsSync(path.join(ROOT, d)) || newestMtime(path.join(ROOT, d)) <= built,
  );
}

/**
 * Compile `dist/` unless it is newer than every source file. tsc emits even when other files
 * have type errors, so the exit status is ignored; the CLI's presence is checked instead.
 */
export async function buildOnce(): Promise<void> {
  const lock = path.join(ROOT, 'dist', '.build-lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    if (fresh()) return;
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another spec file is building; a stale lock (older than 5 minutes) is taken over.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      } catch {}
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
    } catch {}
    if (!existsSync(CLI)) throw new Error('the build did not produce dist/src/cli/main.js');
  } finally {
    rmdirSync(lock);
  }
}

/** The outcome of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (when --json was given); tests read fields they asserted exist. */
  // biome-ignore lint/suspicious/noExplicitAny: JSON output read by assertions.
  json: any;
}

/** Run `tufota ARGS` in `cwd` with the key password in the environment. */
export function tufota(
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined> } = { cwd: ROOT },
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: options.cwd,
        env: { PATH: process.env.PATH, TUFOTA_KEY_PASSWORD: PASSWORD, ...options.env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {}
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

/** Run and insist on exit code 0, showing stderr otherwise. */
export async function ok(args: string[], cwd: string, env?: Record<string, string | undefined>) {
  const result = await tufota(args, { cwd, ...(env === undefined ? {} : { env }) });
  if (result.code !== 0) {
    throw new Error(
      `tufota ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result;
}

/** sha256 over every file path and content under `dir` (mode and bytes), for "nothing changed". */
export async function treeHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      hash.update(`${path.relative(dir, full)}\u0000`);
      if (entry.isDirectory()) await walk(full);
      else hash.update(await readFile(full));
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

/** The key id in a `FILE.pub.json` written by `tufota key generate` or `init`. */
export async function keyidOf(file: string): Promise<string> {
  return (JSON.parse(await readFile(file, 'utf8')) as { keyid: string }).keyid;
}
