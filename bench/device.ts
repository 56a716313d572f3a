/**
 * Benchmark of the device install path: a 2 GiB image streamed through verification into a file
 * slot (`writeImage`: FileFetcher → TargetVerifier (SHA-256) → identical-block check →
 * positional 1 MiB writes → fsync), then re-read and re-hashed (`verifySlotImage`), beside
 * `cat image | cat > slot && sync slot` timed in the same run (see {@link timeCat} for the pipe).
 *
 * Figures (1 MB = 10^6 bytes, best of 2 runs each; each install runs in its own child process):
 * - `install_MBps`: `writeImage` to a fresh (empty) slot file, fsync included. Goal: ≥ 80% of
 *   `cat_sync_MBps`.
 * - `install_and_verify_MBps`: the same plus the full re-read and re-hash before activation (what
 *   the agent does before `activateTrial`).
 * - `install_no_skip_check_MBps`: the same with `skipIdentical: false` (no compare-read).
 * - `reinstall_identical_MBps`: writing the same image again: every block is compared and
 *   skipped (reads only).
 * - `peak_rss_MiB`: peak resident memory of the child process that ran the installs
 *   (`process.resourceUsage().maxRSS`), the largest over all children. Goal: < 100 MiB for a 2 GiB image.
 *
 * The image is a sparse file (all zeros: reading it costs no disk I/O, for `cat` and for us
 * alike), so the figures measure the write path and hashing, not the source medium.
 *
 * Not a test: timings depend on the machine. Run: `npm run bench -- device`.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { verifySlotImage, writeImage } from '../src/device/install.js';
import { TargetFile } from '../src/models/index.js';
import { FileFetcher } from '../src/transport/file-fetcher.js';

const execFileAsync = promisify(execFile);
const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
const IMAGE_BYTES = 2 * GIB;
const RUNS = 2;

const round1 = (x: number): number => Math.round(x * 10) / 10;
const mbps = (bytes: number, ms: number): number => round1(bytes / 1e6 / (ms / 1000));

/** SHA-256 of `length` zero bytes, without reading anything. */
function zeroHash(length: number): string {
  const hash = createHash('sha256');
  const block = Buffer.alloc(4 * MIB);
  for (let done = 0; done < length; done += block.length) {
    hash.update(length - done >= block.length ? block : block.subarray(0, length - done));
  }
  return hash.digest('hex');
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
    maxRssKiB: process.resourceUsage().maxRSS,
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

/**
 * The reference: `cat image | cat > slot` then `sync slot`. A plain `cat image > slot` is not a
 * fair reference with a sparse source: coreutils 9 uses copy_file_range, which copies the holes
 * as holes and writes no data at all; the pipe forces every byte through user space and the
 * page cache, as the installer does.
 */
async function timeCat(image: string, slot: string): Promise<{ catMs: number; catSyncMs: number }> {
  let catMs = Number.POSITIVE_INFINITY;
  let catSyncMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < RUNS; run++) {
    await rm(slot, { force: true });
    const t = performance.now();
    await execFileAsync('sh', ['-c', 'cat "$1" | cat > "$2"', 'sh', image, slot]);
    catMs = Math.min(catMs, performance.now() - t);
    await execFileAsync('sync', [slot]);
    catSyncMs = Math.min(catSyncMs, performance.now() - t);
  }
  return { catMs, catSyncMs };
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
    await writeFile(image, '');
    await truncate(image, IMAGE_BYTES); // sparse
    await (await open(slot, 'w')).close();
    const { catMs, catSyncMs } = await timeCat(image, catSlot);
    await rm(catSlot, { force: true });

    const base = { repo, slot, sha256: zeroHash(IMAGE_BYTES), length: IMAGE_BYTES };
    const installs: ChildFigures[] = [];
    const plain: ChildFigures[] = [];
    for (let run = 0; run < RUNS; run++) {
      installs.push(await runChild({ ...base, mode: 'install', skipIdentical: true }));
      plain.push(await runChild({ ...base, mode: 'install', skipIdentical: false }));
    }
    const reinstall = await runChild({ ...base, mode: 'reinstall', skipIdentical: true });
    const best = (list: ChildFigures[], key: 'writeMs' | 'verifyMs') =>
      Math.min(...list.map((f) => f[key]));
    const catSyncMBps = mbps(IMAGE_BYTES, catSyncMs);
    const installMBps = mbps(IMAGE_BYTES, best(installs, 'writeMs'));
    return {
      image: '2 GiB sparse file via FileFetcher, 1 MiB blocks, SHA-256',
      cat_MBps: mbps(IMAGE_BYTES, catMs),
      cat_sync_MBps: catSyncMBps,
      install_MBps: installMBps,
      install_ratio_vs_cat: Math.round((installMBps / catSyncMBps) * 100) / 100,
      install_no_skip_check_MBps: mbps(IMAGE_BYTES, best(plain, 'writeMs')),
      install_and_verify_MBps: mbps(
        IMAGE_BYTES,
        Math.min(...installs.map((f) => f.writeMs + f.verifyMs)),
      ),
      verify_reread_MBps: mbps(IMAGE_BYTES, best(installs, 'verifyMs')),
      reinstall_identical_MBps: mbps(IMAGE_BYTES, reinstall.writeMs),
      reinstall_skipped_bytes: reinstall.bytesSkipped,
      peak_rss_MiB: round1(
        Math.max(...[...installs, ...plain, reinstall].map((f) => f.maxRssKiB)) / 1024,
      ),
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
