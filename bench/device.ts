/**
 * Benchmark of the device install path: a 2 GiB image streamed through verification into a file
 * slot (`writeImage`: FileFetcher → TargetVerifier (SHA-256) → identical-block check →
 * positional 1 MiB writes, 2 in flight → background `fdatasync` checkpoint every 64 MiB → final
 * fsync), then re-read and re-hashed (`verifySlotImage`), beside `cat image > slot && sync slot`.
 *
 * The image is 2 GiB of pseudo-random bytes written once (not sparse: a sparse source would make
 * the reference's reads free and let `cat` copy holes as holes). It stays in the page cache, for
 * `cat` and for us alike, so the figures compare the write paths. Disk speed on a VM swings from
 * run to run, so every figure is measured {@link ROUNDS} times, each round running the
 * reference and the installs back to back; the ratio is taken per round and its median
 * reported.
 *
 * Figures (1 MB = 10^6 bytes; medians over the rounds, per-round values in `*_runs`; each install
 * runs in its own child process):
 * - `cat_sync_MBps`: the reference, `cat image > slot && sync slot` (GNU cat copies in the kernel
 *   with copy_file_range: no user-space copy at all).
 * - `cat_pipe_sync_MBps`: `cat image | cat > slot && sync slot`, every byte through user space
 *   as the installer must (it hashes them); informational.
 * - `install_MBps`: `writeImage` to a fresh (empty) slot file, fsync included.
 * - `install_ratio_vs_cat`: median of the per-round `install / cat_sync`. Goal (issue 5): ≥ 0.8.
 * - `install_and_verify_MBps`: the same plus the full re-read and re-hash before activation (what
 *   the agent does before `activateTrial`).
 * - `install_no_skip_check_MBps`: the same with `skipIdentical: false` (no compare-read).
 * - `reinstall_identical_MBps`: writing the same image again: every block is compared and
 *   skipped (reads only).
 * - `peak_rss_MiB`: peak resident memory of the child process that ran the installs
 *   (its own high-water mark, `peak-rss.ts`), the largest over all children. Goal: < 100 MiB.
 *
 * Not a test: timings depend on the machine. Run: `npm run bench -- device`.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { verifySlotImage, writeImage } from '../src/device/install.js';
import { TargetFile } from '../src/models/index.js';
import { FileFetcher } from '../src/transport/file-fetcher.js';
import { peakRssMiB } from './peak-rss.js';

const execFileAsync = promisify(execFile);
const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
const IMAGE_BYTES = 2 * GIB;
/** Rounds of reference + installs; medians are reported. */
const ROUNDS = 3;

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const mbps = (bytes: number, ms: number): number => round1(bytes / 1e6 / (ms / 1000));
const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((p, q) => p - q);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Write `length` pseudo-random bytes to `path` (not sparse) and return their SHA-256. */
async function writeRandomImage(path: string, length: number): Promise<string> {
  const hash = createHash('sha256');
  const block = Buffer.allocUnsafe(4 * MIB);
  const handle = await open(path, 'w');
  try {
    for (let done = 0; done < length; done += block.length) {
      const part = block.subarray(0, Math.min(block.length, length - done));
      randomFillSync(part);
      hash.update(part);
      await handle.write(part, 0, part.length, done);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * Let the previous run's writeback and the discards of a deleted 2 GiB slot (the filesystem is
 * mounted with `discard` here) finish before timing the next run.
 */
async function settle(...paths: string[]): Promise<void> {
  for (const path of paths) await rm(path, { force: true });
  await execFileAsync('sync');
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

interface ChildJob {
  repo: string;
  slot: string;
  sha256: string;
  length: number;
  /** `install`: fresh slot, then re-read and verify. `reinstall`: the slot already holds it. */
  mode: 'install' | 'reinstall';
  skipIdentical: boolean;
}

interface ChildFigures {
  writeMs: number;
  verifyMs: number;
  bytesSkipped: number;
  maxRssKiB: number;
}

/**
 * One install, in its own process as on a device (the agent installs one image per run), so its
 * peak RSS is the installer's alone and not the sum of GC timing over several transfers.
 */
async function childMain(job: ChildJob): Promise<ChildFigures> {
  const info = new TargetFile('image.bin', job.length, { sha256: job.sha256 });
  const fetcher = new FileFetcher({ root: job.repo });
  const openImage = async (offset: number, signal: AbortSignal | undefined) => {
    const stream = await fetcher.fetchRange('targets/image.bin', info.length, { offset, signal });
    return { offset: stream.offset, stream };
  };
  if (job.mode === 'install') await truncate(job.slot, 0);
  let t = performance.now();
  const result = await writeImage({
    info,
    device: job.slot,
    open: openImage,
    skipIdentical: job.skipIdentical,
  });
  const writeMs = performance.now() - t;
  t = performance.now();
  await verifySlotImage(job.slot, info);
  const verifyMs = performance.now() - t;
  return {
    writeMs,
    verifyMs,
    bytesSkipped: result.bytesSkipped,
    maxRssKiB: Math.round(peakRssMiB() * 1024),
  };
}

async function runChild(job: ChildJob): Promise<ChildFigures> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--install-child', JSON.stringify(job)],
    { maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ChildFigures;
}

/** Time a shell command writing `slot` from scratch, `sync` of the slot included. */
async function timeShell(script: string, image: string, slot: string): Promise<number> {
  await settle(slot);
  const t = performance.now();
  await execFileAsync('sh', ['-c', `${script} && sync "$2"`, 'sh', image, slot]);
  return performance.now() - t;
}

/**
 * Run the benchmark and return the figures.
 *
 * @example
 * ```ts
 * const figures = await benchDevice();
 * console.log(figures.install_ratio_vs_cat, figures.peak_rss_MiB);
 * ```
 */
export async function benchDevice(
  options: { readonly dir?: string } = {},
): Promise<Record<string, number | string>> {
  const dir = join(options.dir ?? join(process.cwd(), '.bench-tmp'), 'device');
  const repo = join(dir, 'repo');
  await mkdir(join(repo, 'targets'), { recursive: true });
  const image = join(repo, 'targets', 'image.bin');
  const slot = join(dir, 'slot-b.img');
  const catSlot = join(dir, 'slot-cat.img');
  try {
    const sha256 = await writeRandomImage(image, IMAGE_BYTES);
    const base = { repo, slot, sha256, length: IMAGE_BYTES };
    const catMs: number[] = [];
    const pipeMs: number[] = [];
    const installs: ChildFigures[] = [];
    const plain: ChildFigures[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      catMs.push(await timeShell('cat "$1" > "$2"', image, catSlot));
      pipeMs.push(await timeShell('cat "$1" | cat > "$2"', image, catSlot));
      await settle(catSlot, slot);
      await (await open(slot, 'w')).close();
      installs.push(await runChild({ ...base, mode: 'install', skipIdentical: true }));
      await settle(slot);
      await (await open(slot, 'w')).close();
      plain.push(await runChild({ ...base, mode: 'install', skipIdentical: false }));
    }
    const reinstall = await runChild({ ...base, mode: 'reinstall', skipIdentical: true });
    const rate = (ms: number) => mbps(IMAGE_BYTES, ms);
    const installRates = installs.map((f) => rate(f.writeMs));
    const catRates = catMs.map(rate);
    const ratios = installRates.map((r, i) => round2(r / (catRates[i] as number)));
    return {
      image: '2 GiB pseudo-random (not sparse, page-cached) via FileFetcher, 1 MiB blocks, SHA-256',
      install_MBps: median(installRates),
      cat_sync_MBps: median(catRates),
      install_ratio_vs_cat: median(ratios),
      peak_rss_MiB: round1(
        Math.max(...[...installs, ...plain, reinstall].map((f) => f.maxRssKiB)) / 1024,
      ),
      install_runs_MBps: installRates.join(' '),
      cat_sync_runs_MBps: catRates.join(' '),
      ratio_runs: ratios.join(' '),
      cat_pipe_sync_MBps: median(pipeMs.map(rate)),
      install_no_skip_check_MBps: median(plain.map((f) => rate(f.writeMs))),
      install_and_verify_MBps: median(installs.map((f) => rate(f.writeMs + f.verifyMs))),
      verify_reread_MBps: median(installs.map((f) => rate(f.verifyMs))),
      reinstall_identical_MBps: rate(reinstall.writeMs),
      reinstall_skipped_bytes: reinstall.bytesSkipped,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const main =
    process.argv[2] === '--install-child'
      ? childMain(JSON.parse(process.argv[3] ?? '{}') as ChildJob)
      : benchDevice();
  main.then(
    (figures) => console.log(JSON.stringify(figures)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
