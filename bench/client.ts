/**
 * Benchmark of the client (issue 3): our `Updater` against tuf-js 4, in the same run, against
 * the same repository served on loopback.
 *
 * The repository is built with our repository library: 100,000 targets in 1,024 succinct hash
 * bins (TAP 15), 99,900 listed from metadata alone and 100 real 1 MiB files, consistent
 * snapshots. It is served by the embedded static server (`src/server/static-server.ts`) when it
 * is built, else by a minimal `node:http` file server, on 127.0.0.1 with an ephemeral port.
 *
 * Phases, each run in a fresh child process per client (`bench/client-child.ts`) starting from
 * an empty metadata cache holding only the trusted root:
 * - (a) cold: create the client, `refresh()`, one `getTargetInfo`;
 * - (b) `getTargetInfo` for 1,000 random targets (seeded, the same list for both clients; most
 *   of the 1,024 bins are fetched, verified and cached), after an unmeasured refresh;
 * - (c) download 100 targets of 1 MiB one after the other, after an unmeasured refresh and
 *   look-ups; and again with 4 downloads in flight at once (both clients allow concurrent
 *   `downloadTarget` calls, each into its own temporary file), the same for both. tuf-js
 *   writes a temp file, re-reads it to verify and copies it into place without fsync; ours
 *   verifies while streaming, fsyncs and renames. The (c) rows also give the floor: the same
 *   downloads done by hand with only the work every target needs (`floor` in
 *   `client-child.ts`), which no client can beat on this machine.
 *
 * Each (phase, client) pair runs `runs` times, alternating which client goes first; the
 * figures are medians (wall time, CPU time of all threads, peak RSS). Peak RSS is
 * the child's own high-water mark (`peak-rss.ts`) at the end of its phase. Goals (issue 3):
 * ratio ours/tuf-js at most 0.5 on (b) and (c), at most 1 on (a), and peak RSS no higher than
 * tuf-js's.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ClientJob, ClientRunResult } from './client-child.js';
import { createBinnedRepository, listedPath, listedTarget } from './fleet-repository.js';

const TARGETS = 100_000;
const DOWNLOADS = 100;
const LOOKUPS = 1_000;
const BIT_LENGTH = 10;
const MIB = 1024 * 1024;
const SEED = 0x7f0a_2025;

const run = promisify(execFile);

/** A small seeded PRNG (mulberry32): the same "random" targets on every run and machine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function downloadPath(i: number): string {
  return `downloads/firmware-${String(i).padStart(3, '0')}.bin`;
}

/** Deterministic incompressible-looking bytes for download target `i`. */
function downloadBytes(i: number): Uint8Array {
  const random = mulberry32(SEED + i);
  const bytes = new Uint8Array(MIB);
  const words = new Uint32Array(bytes.buffer);
  for (let j = 0; j < words.length; j++) words[j] = Math.floor(random() * 4294967296);
  return bytes;
}

/** Build and publish the benchmark repository in `dir`; returns the root bytes' path. */
async function buildRepository(dir: string): Promise<string> {
  const { repo } = await createBinnedRepository(dir, BIT_LENGTH);
  for (let i = 0; i < TARGETS - DOWNLOADS; i++) {
    const t = listedTarget(i);
    repo.addTargetInfo(t.path, t);
  }
  for (let i = 0; i < DOWNLOADS; i++) await repo.addTarget(downloadPath(i), downloadBytes(i));
  await repo.publish();
  return path.join(dir, 'metadata', '1.root.json');
}

interface Served {
  url: string;
  kind: string;
  close(): Promise<void>;
}

/** Serve `dir` with the embedded static server if it is built, else with a minimal one. */
async function serve(dir: string): Promise<Served> {
  const staticServer = new URL('../src/server/static-server.js', import.meta.url);
  try {
    await stat(fileURLToPath(staticServer));
    const mod = (await import(staticServer.href)) as {
      createStaticServer(options: {
        root: string;
      }): Promise<{ url: string; close(): Promise<void> }>;
    };
    const server = await mod.createStaticServer({ root: dir });
    return { url: server.url, kind: 'createStaticServer', close: () => server.close() };
  } catch {
    // Not built in this checkout: fall back to a file server that reads whole files.
  }
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(dir, pathname);
    if (!file.startsWith(dir + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-length': body.byteLength }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    kind: 'node:http (readFile)',
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function runChild(job: ClientJob, jobFile: string): Promise<ClientRunResult> {
  await writeFile(jobFile, JSON.stringify(job));
  const child = fileURLToPath(new URL('./client-child.js', import.meta.url));
  const { stdout } = await run(process.execPath, [child, jobFile], {
    maxBuffer: 1024 * 1024,
    timeout: 10 * 60 * 1000,
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as ClientRunResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Downloads in flight at once in the concurrent variant of (c). */
const CONCURRENCY = 4;

const PHASES = [
  { key: 'a', phase: 'a', concurrency: 1, label: '(a) cold refresh + 1 getTargetInfo', goal: 1 },
  {
    key: 'b',
    phase: 'b',
    concurrency: 1,
    label: `(b) getTargetInfo x ${LOOKUPS} random`,
    goal: 0.5,
  },
  { key: 'c', phase: 'c', concurrency: 1, label: `(c) download ${DOWNLOADS} x 1 MiB`, goal: 0.5 },
  {
    key: 'c4',
    phase: 'c',
    concurrency: CONCURRENCY,
    label: `(c) same, ${CONCURRENCY} in flight`,
    goal: 0.5,
  },
] as const;

/**
 * Run the benchmark and return one row per phase.
 *
 * @example
 * ```ts
 * console.table(await benchClient({ runs: 1 }));
 * ```
 */
export async function benchClient(
  options: { runs?: number } = {},
): Promise<Record<string, unknown>[]> {
  const runs = options.runs ?? Number(process.env.TUFOTA_BENCH_RUNS ?? 3);
  const dir = await mkdtemp(path.join(tmpdir(), 'tufota-bench-client-'));
  try {
    const repoDir = path.join(dir, 'repo');
    await mkdir(repoDir);
    const built = performance.now();
    const rootPath = await buildRepository(repoDir);
    console.log(`repository built in ${Math.round(performance.now() - built)} ms`);
    const random = mulberry32(SEED);
    const lookups = Array.from({ length: LOOKUPS }, () => {
      const i = Math.floor(random() * TARGETS);
      return i < TARGETS - DOWNLOADS ? listedPath(i) : downloadPath(i - (TARGETS - DOWNLOADS));
    });
    const downloads = Array.from({ length: DOWNLOADS }, (_, i) => downloadPath(i));
    const server = await serve(repoDir);
    console.log(`served by ${server.kind}; ${runs} run(s) per phase and client`);
    const results = new Map<string, ClientRunResult[]>();
    try {
      let n = 0;
      for (let r = 0; r < runs; r++) {
        for (const { key: phaseKey, phase, concurrency } of PHASES) {
          const order: ClientJob['client'][] =
            r % 2 === 0 ? ['tufota', 'tuf-js'] : ['tuf-js', 'tufota'];
          if (phase === 'c') order.push('floor');
          for (const client of order) {
            const workDir = path.join(dir, `run-${n++}`);
            await mkdir(workDir);
            const result = await runChild(
              {
                client,
                phase,
                workDir,
                rootPath,
                metadataBaseUrl: `${server.url}/metadata/`,
                targetBaseUrl: `${server.url}/targets/`,
                lookups,
                downloads,
                concurrency,
              },
              path.join(dir, `job-${n}.json`),
            );
            const expected = phase === 'a' ? 1 : phase === 'b' ? LOOKUPS : DOWNLOADS;
            if (result.found !== expected) {
              throw new Error(`${client} phase ${phase}: ${result.found} of ${expected} done`);
            }
            const key = `${phaseKey}:${client}`;
            results.set(key, [...(results.get(key) ?? []), result]);
            await rm(workDir, { recursive: true, force: true });
          }
        }
      }
    } finally {
      await server.close();
    }
    return PHASES.map(({ key, label, goal }) => {
      const ours = results.get(`${key}:tufota`) ?? [];
      const theirs = results.get(`${key}:tuf-js`) ?? [];
      const floor = results.get(`${key}:floor`) ?? [];
      const oursMs = median(ours.map((x) => x.ms));
      const theirsMs = median(theirs.map((x) => x.ms));
      const oursRss = median(ours.map((x) => x.maxRssMiB));
      const theirsRss = median(theirs.map((x) => x.maxRssMiB));
      return {
        phase: label,
        'ours ms': Math.round(oursMs),
        'tuf-js ms': Math.round(theirsMs),
        'ratio ours/tuf-js': +(oursMs / theirsMs).toFixed(2),
        'floor ms': floor.length === 0 ? '' : Math.round(median(floor.map((x) => x.ms))),
        // CPU time (all threads) is steadier than wall time on a shared machine.
        'ours cpu ms': Math.round(median(ours.map((x) => x.cpuMs))),
        'tuf-js cpu ms': Math.round(median(theirs.map((x) => x.cpuMs))),
        'goal ratio': `<= ${goal}`,
        'ours maxRSS MiB': Math.round(oursRss),
        'tuf-js maxRSS MiB': Math.round(theirsRss),
      };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
