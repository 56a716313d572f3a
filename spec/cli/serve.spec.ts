/**
 * `tufota serve` as an operator runs it: an access log line per request on stdout (time,
 * method, path, status, body bytes, duration), silenced by `--quiet`, JSON lines with `--json`;
 * and a warning when the directory holds no repository.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, CLI, ok, removeDir, tempDir } from './helpers.js';

let work: string;
let repo: string;

beforeAll(async () => {
  await buildOnce();
  work = await tempDir('tufota-cli-serve-');
  repo = path.join(work, 'repo');
  await ok(['init', 'repo', '--keys-dir', 'keys'], work);
});
afterAll(async () => removeDir(work));

interface Served {
  url: string;
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Wait until stdout holds `lines` lines (bounded: the test's timeout ends a hang). */
  lines: (count: number) => Promise<string[]>;
  stop: () => Promise<void>;
}

async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0'], {
    env: { PATH: process.env.PATH },
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const lines = async (count: number) => {
    while (out.split('\n').length - 1 < count) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    return out.split('\n').slice(0, count);
  };
  const first = (await lines(1))[0] as string;
  const url = first.startsWith('{') ? (JSON.parse(first) as { url: string }).url : first;
  // The warning is written right after the URL; the "serving" note (not with --json) ends the
  // start-up. Bounded by the test's timeout.
  while (!args.includes('--json') && !err.includes('press Ctrl-C')) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    lines,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('tufota serve', () => {
  it('logs one line per request: time, method, path, status, bytes, duration', async () => {
    const server = await serve([repo]);
    try {
      const body = await (await fetch(`${server.url}/metadata/timestamp.json`)).arrayBuffer();
      await fetch(`${server.url}/metadata/1.root.json`, { method: 'HEAD' });
      await (await fetch(`${server.url}/metadata/nope.json`)).arrayBuffer();
      await (
        await fetch(`${server.url}/metadata/1.root.json`, { headers: { range: 'bytes=0-9' } })
      ).arrayBuffer();
      const log = (await server.lines(5)).slice(1);
      const iso = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
      expect(log[0]).toMatch(
        new RegExp(
          `^${iso} GET /metadata/timestamp\\.json 200 ${body.byteLength} \\d+(\\.\\d)?ms$`,
        ),
      );
      expect(log[1]).toMatch(new RegExp(`^${iso} HEAD /metadata/1\\.root\\.json 200 0 `));
      expect(log[2]).toMatch(new RegExp(`^${iso} GET /metadata/nope\\.json 404 0 `));
      expect(log[3]).toMatch(new RegExp(`^${iso} GET /metadata/1\\.root\\.json 206 10 `));
      expect(server.stderr()).not.toContain('warning');
    } finally {
      await server.stop();
    }
  });

  it('logs a refused path as it was received, still encoded', async () => {
    const server = await serve([repo]);
    try {
      await (await fetch(`${server.url}/a%0Ab`)).arrayBuffer();
      const [, line] = await server.lines(2);
      expect(line).toMatch(/ GET \/a%0Ab 400 0 /);
    } finally {
      await server.stop();
    }
  });

  it('--json logs JSON lines after the one-line result', async () => {
    const server = await serve([repo, '--json']);
    try {
      await (await fetch(`${server.url}/metadata/timestamp.json`)).arrayBuffer();
      const [first, second] = await server.lines(2);
      expect(JSON.parse(first as string).metadataUrl).toBe(`${server.url}/metadata/`);
      const entry = JSON.parse(second as string);
      expect(entry).toMatchObject({ method: 'GET', path: '/metadata/timestamp.json', status: 200 });
      expect(entry.bytes).toBeGreaterThan(0);
      expect(typeof entry.durationMs).toBe('number');
    } finally {
      await server.stop();
    }
  });

  it('--quiet serves without a log', async () => {
    const server = await serve([repo, '--quiet']);
    try {
      expect((await fetch(`${server.url}/metadata/timestamp.json`)).status).toBe(200);
    } finally {
      await server.stop();
    }
    expect(server.stdout()).toBe(`${server.url}\n`);
  });

  it('warns when the directory holds no repository', async () => {
    const empty = path.join(work, 'empty');
    await mkdir(empty, { recursive: true });
    for (const [dir, advice] of [
      [empty, 'serve the directory tufota init created'],
      [
        path.join(repo, 'metadata'),
        `this looks like the metadata/ directory itself: serve its parent (${repo})`,
      ],
    ] as const) {
      const server = await serve([dir]);
      await server.stop();
      expect(server.stderr()).toContain(`warning: ${dir} holds no repository`);
      expect(server.stderr()).toContain(advice);
    }
  });
});
