/**
 * Instruction counts of the client cases (a) and (b) (issue 12), the repeatable companion of
 * `bench/client.ts`: `npm run bench -- client-instructions`.
 *
 * Wall and CPU times swing by ±15% and more on a shared machine; the number of instructions a
 * process executes in user space does not (`valgrind --tool=callgrind` gave the same total to
 * 0.1% with the other cores loaded). Each measured child (`bench/client-child.ts`, the same
 * jobs as the time benchmark) runs under callgrind while this process serves the repository,
 * so the server's work is not counted:
 *
 * - (a) fresh process: the whole child from exec to exit, as one conformance-client call; beside
 *   it the `floor` (the minimal work any client must do for it, `floorRefresh`) and `start`
 *   (the child that starts and exits doing nothing);
 * - (b) the 1,000 look-ups: the child with the look-ups minus the same child with none (start,
 *   import and refresh cancel out); its floor is the `floor` client of `client-child.ts`.
 *
 * (a) is counted twice for our client: with the child as `tsc` emits it, and as one bundled
 * file (`scripts/bundle.mjs`), the form the conformance client ships in. Children run without
 * `NODE_EXTRA_CA_CERTS` (`child-env.ts`), which adds 416 M instructions to every Node start-up
 * on these machines; the `BEFORE` counts were taken with it set.
 *
 * Kernel work (system calls: socket writes, file creation) is not in these counts, so they
 * complement CPU time rather than replace it. Under callgrind a child runs about 50 times
 * slower, so tuf-js is measured only when asked (`TUFOTA_BENCH_CLIENTS=tufota,floor,tuf-js`).
 *
 * Environment:
 * - `TUFOTA_BENCH_CLIENTS`: clients to count, default `tufota,floor`;
 * - `TUFOTA_BENCH_CASES`: `a`, `b` or `a,b` (the default);
 * - `TUFOTA_BENCH_REPO`: a directory holding a bench repository to reuse (built there if it
 *   has none), so that two builds can be counted on the same bytes;
 * - `TUFOTA_BENCH_CHILD`: the `client-child.js` to run, default this build's; point it at a
 *   copy inside another build's `dist/bench/` to count that build's client.
 *
 * @module
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeRemoved, measuredChildEnv } from './child-env.js';
import { benchLookups, buildRepository, serve } from './client.js';
import type { ClientJob, ClientRunResult } from './client-child.js';
import { findPythonTuf, type PythonTuf, pythonTufCommand } from './python-tuf.js';

const run = promisify(execFile);

/** One counted child: its instructions and its own report. */
interface Counted {
  instructions: number;
  result: ClientRunResult;
}

/** Run `job` in a child under callgrind and return the instructions it executed. */
async function countChild(
  job: Omit<ClientJob, 'client'> & { client: ClientJob['client'] | 'python-tuf' },
  jobFile: string,
  child: string,
  python?: PythonTuf,
): Promise<Counted> {
  await writeFile(jobFile, JSON.stringify(job));
  const { command, args, env } =
    python === undefined
      ? { command: process.execPath, args: [child, jobFile], env: measuredChildEnv().env }
      : pythonTufCommand(python, jobFile, measuredChildEnv().env);
  const { stdout, stderr } = await run(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', command, ...args],
    { env, maxBuffer: 16 * 1024 * 1024, timeout: 30 * 60 * 1000 },
  );
  const match = /Collected : (\d+)/.exec(stderr);
  if (match === null) throw new Error(`no callgrind total in: ${stderr.slice(-500)}`);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return { instructions: Number(match[1]), result: JSON.parse(line) as ClientRunResult };
}

/**
 * Counts taken on this machine before the issue-12 work of this branch, same repository shape
 * and harness (M instructions; `bench/profiles.md` has the runs): 7ffc754 (before the
 * canonical-bytes verification) and 19387f4 (the start of this branch). tuf-js 4 took 2,476 M
 * for a fresh (a). Printed beside each new count, so a run shows before and after.
 */
const BEFORE: Record<string, { at7ffc754?: number; at19387f4: number }> = {
  'a:tufota': { at7ffc754: 1305, at19387f4: 1106 },
  'a:start': { at19387f4: 546 },
  'a:tuf-js': { at19387f4: 2476 },
  'b:tufota': { at7ffc754: 6836, at19387f4: 5400 },
  'b:floor': { at19387f4: 4201 },
};

function millions(n: number): number {
  return Math.round(n / 1e6);
}

/**
 * Count instructions of (a) fresh process and (b) per client; one row per (case, client).
 *
 * @example
 * ```ts
 * console.table(await benchClientInstructions());
 * ```
 */
export async function benchClientInstructions(): Promise<Record<string, unknown>[]> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    return [{ note: 'valgrind is not installed (Debian package valgrind): nothing counted' }];
  }
  const clients = (process.env.TUFOTA_BENCH_CLIENTS ?? 'tufota,floor')
    .split(',')
    .map((c) => c.trim()) as ClientJob['client'][];
  const child =
    process.env.TUFOTA_BENCH_CHILD ?? fileURLToPath(new URL('./client-child.js', import.meta.url));
  // The one-file build sits beside this build's child; another build's child is counted alone.
  const bundledChild =
    process.env.TUFOTA_BENCH_CHILD === undefined
      ? fileURLToPath(new URL('./client-child.bundle.js', import.meta.url))
      : undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'tufota-bench-instructions-'));
  try {
    const repoDir = process.env.TUFOTA_BENCH_REPO ?? path.join(dir, 'repo');
    const rootPath = path.join(repoDir, 'metadata', '1.root.json');
    if (!existsSync(rootPath)) {
      await mkdir(repoDir, { recursive: true });
      await buildRepository(repoDir);
    }
    const lookups = benchLookups();
    const server = await serve(repoDir);
    console.log(
      `counting ${child} under callgrind; repository ${repoDir} served by ${server.kind}`,
    );
    const removed = describeRemoved(measuredChildEnv().removed);
    if (removed !== undefined) console.log(removed);
    const cases = (process.env.TUFOTA_BENCH_CASES ?? 'a,b').split(',').map((c) => c.trim());
    const rows: Record<string, unknown>[] = [];
    let n = 0;
    const count = async (
      client: ClientJob['client'] | 'python-tuf',
      phase: ClientJob['phase'],
      jobLookups: string[],
      freshProcess: boolean,
      childFile = child,
      python?: PythonTuf,
    ): Promise<Counted> => {
      const workDir = path.join(dir, `run-${n++}`);
      await mkdir(workDir);
      try {
        return await countChild(
          {
            client,
            phase,
            workDir,
            rootPath,
            metadataBaseUrl: `${server.url}/metadata/`,
            targetBaseUrl: `${server.url}/targets/`,
            lookups: jobLookups,
            downloads: [],
            freshProcess,
          },
          path.join(dir, `job-${n}.json`),
          childFile,
          python,
        );
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    };
    try {
      for (const client of cases.includes('a') ? clients : []) {
        const a = await count(client, 'a', lookups.slice(0, 1), true);
        rows.push({
          case: '(a) fresh process, exec to exit',
          client: client === 'floor' ? 'floor (minimal refresh + look-up)' : client,
          'M instructions': millions(a.instructions),
          'before: 19387f4': BEFORE[`a:${client}`]?.at19387f4 ?? '',
          '7ffc754': BEFORE[`a:${client}`]?.at7ffc754 ?? '',
        });
        if (client === 'tufota' && bundledChild !== undefined) {
          const bundled = await count(client, 'a', lookups.slice(0, 1), true, bundledChild);
          rows.push({
            case: '(a) same, one bundled file (as the conformance client ships)',
            client,
            'M instructions': millions(bundled.instructions),
            'before: 19387f4': '',
            '7ffc754': '',
          });
        }
      }
      if (cases.includes('a')) {
        const started = await count('start', 'a', lookups.slice(0, 1), true);
        rows.push({
          case: '(a) fresh process, exec to exit',
          client: 'start (Node and the harness, then exit)',
          'M instructions': millions(started.instructions),
          'before: 19387f4': BEFORE['a:start']?.at19387f4 ?? '',
          '7ffc754': '',
        });
      }
      // python-tuf's (a) when it can run here (`python-tuf.ts`): issue 12's goals are against it.
      const python = cases.includes('a') ? findPythonTuf() : undefined;
      if (python !== undefined) {
        const counted = await count('python-tuf', 'a', lookups.slice(0, 1), true, child, python);
        rows.push({
          case: '(a) fresh process, exec to exit',
          client: `python-tuf (${python.version})`,
          'M instructions': millions(counted.instructions),
          'before: 19387f4': '',
          '7ffc754': '',
        });
      }
      for (const peer of ['tuf-js', 'python-tuf']) {
        const peerA = rows.find((row) => String(row.client).startsWith(peer))?.['M instructions'];
        if (typeof peerA !== 'number') continue;
        for (const row of rows) {
          if (row.client === 'tufota' || String(row.client).startsWith('floor')) {
            row[`/${peer}`] = +(Number(row['M instructions']) / peerA).toFixed(2);
          }
        }
      }
      for (const client of cases.includes('b') ? clients : []) {
        const base = await count(client, 'b', [], false);
        const full = await count(client, 'b', lookups, false);
        if (full.result.found !== lookups.length) {
          throw new Error(`${client}: ${full.result.found} of ${lookups.length} look-ups found`);
        }
        rows.push({
          case: `(b) ${lookups.length} look-ups (with minus without)`,
          client,
          'M instructions': millions(full.instructions - base.instructions),
          'before: 19387f4': BEFORE[`b:${client}`]?.at19387f4 ?? '',
          '7ffc754': BEFORE[`b:${client}`]?.at7ffc754 ?? '',
        });
      }
    } finally {
      await server.close();
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
