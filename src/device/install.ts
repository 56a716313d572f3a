/**
 * Streams a target image into a slot device through verification: the byte-moving half of an
 * update (DESIGN.md, "Trust flow on a device": image stream → verifying transform → slot →
 * fsync + re-read hash).
 *
 * Implements:
 * - {@link writeImage}: every downloaded byte goes through a `TargetVerifier` (length cap, every
 *   listed hash — TUF 5.7.2) and is written ONCE, with positional writes of large aligned blocks,
 *   straight into the slot device: no temporary copy, so a 2 GiB image needs 2 GiB of slot, not
 *   4. A small ring of block buffers is reused: one fills from the source (and is hashed) while
 *   up to `queueDepth` earlier blocks are compared and written, so memory stays at a few MiB
 *   whatever the image size.
 * - identical-block skipping: before writing a block, the slot's current bytes at that position
 *   are read and compared; equal blocks are not rewritten (flash wear, and a re-install or a
 *   restarted download costs reads, not writes). Counted in {@link WriteImageResult.bytesSkipped}.
 * - resume: the caller passes the journal's `bytesVerified` (a block boundary that was durable,
 *   i.e. `fdatasync`ed, before the journal recorded it). The verifier's state is rebuilt by
 *   re-hashing that prefix from the slot: `node:crypto` hash state cannot be exported, and a
 *   persisted mid-stream state would be one more thing to validate after a power cut, whereas
 *   re-reading the slot costs a sequential read (much cheaper than the download) and checks what
 *   is really on the medium. The remainder is requested with `fetchRange` at that offset; a
 *   source that ignores it (HTTP 200 instead of 206) answers from byte 0 and the write restarts
 *   from 0 — identical blocks are then skipped, so the restart costs reads only.
 * - checkpoints: every `checkpointBytes` the slot is `fdatasync`ed and `onCheckpoint(offset)`
 *   called, so the caller persists the resume point. The sync starts once every block below
 *   `offset` is written and runs in the background while the next blocks are received and
 *   written; `onCheckpoint(offset)` is called only after it returned, so the journal still
 *   records only durable whole blocks. (Measured on a 2 GiB install: awaiting each sync before
 *   receiving more bytes cost ~20% of throughput, as the medium idled during receive and the
 *   receive idled during the sync.) Resume granularity stays `checkpointBytes` (64 MiB by
 *   default: at most that much is received again after a power cut); a larger distance was not
 *   measurably faster once the sync no longer blocks the transfer.
 * - {@link verifySlotImage}: re-read the whole image range from the slot after `fsync` and check
 *   length and every hash again, so what gets activated is what is on the medium, not what
 *   passed through memory. (The page cache may answer these reads; a device that wants media
 *   verification should mount/open with O_DIRECT or drop caches — not done here.)
 *
 * Does not implement: policy, journaling, or touching the boot environment (`agent.ts` does, in
 * the right order). Never called on the booted slot (the agent checks).
 *
 * Not safe for concurrent use on the same device file.
 *
 * @module
 */
import { constants, promises as fs } from 'node:fs';
import { TargetVerifier } from '../client/target-verifier.js';
import { InvalidStateError, SlotError } from '../errors.js';
import type { TargetFile } from '../models/index.js';
import { publishStep } from './reporter.js';
import { SlotErrorCode } from './slot-controller.js';

/**
 * Default size of one write (and read) block: large and aligned (few syscalls), yet small enough
 * that the three buffers of a transfer stay at 3 MiB (measured: 4 MiB blocks were no faster on
 * a 2 GiB install, and cost 9 MiB more peak RSS).
 */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;
/** Default number of blocks in flight ({@link WriteTuning.queueDepth}). */
export const DEFAULT_QUEUE_DEPTH = 2;
/** Default distance between durable checkpoints. */
export const DEFAULT_CHECKPOINT_BYTES = 64 * 1024 * 1024;

/** A stream of the image from some byte on, as `Updater.openTarget` returns it. */
export interface ImageStream {
  /** Position of the first byte of `stream`: the requested offset, or 0 if the source ignored it. */
  offset: number;
  stream: AsyncIterable<Uint8Array> & { cancel?(): void };
}

/** Opens the image at `offset` (`Updater.openTarget(info, { offset, signal })`). */
export type OpenImage = (offset: number, signal: AbortSignal | undefined) => Promise<ImageStream>;

/** Tuning shared by {@link writeImage} and {@link verifySlotImage}. */
export interface WriteTuning {
  /** Bytes per write/read (default 1 MiB; a multiple of 4096 from 64 KiB to 64 MiB). */
  blockSize?: number;
  /** Bytes between durable checkpoints (default 64 MiB; rounded up to whole blocks). */
  checkpointBytes?: number;
  /** Compare each block with the slot's current bytes and skip equal ones (default `true`). */
  skipIdentical?: boolean;
  /**
   * Blocks compared/written concurrently while the next one fills (default 2, from 1 to 16).
   * Each costs two block buffers; Node's thread pool (4 threads by default) also serves the
   * source's file reads and the background checkpoint sync, so more rarely helps.
   */
  queueDepth?: number;
}

/** Options of {@link writeImage}. */
export interface WriteImageOptions extends WriteTuning {
  /** The trusted target entry (length and hashes). */
  info: TargetFile;
  /** The slot's block device or file (must exist). */
  device: string;
  /** Where the bytes come from. */
  open: OpenImage;
  /** Durable, verified prefix already in the slot (the journal's `bytesVerified`); default 0. */
  resumeFrom?: number;
  /** Called with each new durable resume point (a block boundary), after `fdatasync`. */
  onCheckpoint?: (bytesVerified: number) => Promise<void>;
  signal?: AbortSignal;
}

/** What {@link writeImage} did. */
export interface WriteImageResult {
  /** Bytes written to the slot. */
  bytesWritten: number;
  /** Bytes not written because the slot already held them. */
  bytesSkipped: number;
  /** Bytes received from the source. */
  bytesReceived: number;
  /** Offset the transfer resumed from (0 for a full transfer or a restart). */
  resumedFrom: number;
  /** A resume was requested but the source answered from byte 0. */
  restarted: boolean;
}

/**
 * Stream the image into `device`, verified, and make it durable.
 *
 * @throws LengthOrHashMismatchError `ERR_TUF_LENGTH_OR_HASH_MISMATCH` if the bytes are not the
 *   trusted target (too long: at the first extra byte).
 * @throws SlotError `ERR_TUF_SLOT_ARGUMENT` if the device is missing or too small.
 * @throws DownloadError from the source (the durable prefix stays usable for a later resume).
 *
 * @example
 * ```ts
 * const result = await writeImage({
 *   info, device: slots.slotDevice('B'),
 *   open: (offset, signal) => updater.openTarget(info, { offset, signal }),
 *   resumeFrom: journal.bytesVerified,
 *   onCheckpoint: (n) => saveJournal({ ...journal, bytesVerified: n }),
 * });
 * await verifySlotImage(slots.slotDevice('B'), info);
 * ```
 */
export async function writeImage(options: WriteImageOptions): Promise<WriteImageResult> {
  const { info, device, signal } = options;
  const blockSize = checkBlockSize(options.blockSize ?? DEFAULT_BLOCK_SIZE);
  const checkpointEvery =
    Math.ceil((options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES) / blockSize) * blockSize;
  const skipIdentical = options.skipIdentical ?? true;
  const depth = checkQueueDepth(options.queueDepth ?? DEFAULT_QUEUE_DEPTH);
  let resumeFrom = options.resumeFrom ?? 0;
  if (!Number.isSafeInteger(resumeFrom) || resumeFrom < 0 || resumeFrom > info.length) {
    throw new InvalidStateError(`resumeFrom must be 0 … ${info.length}, got ${resumeFrom}`);
  }
  // Only whole blocks are checkpointed; anything else is not a resume point we wrote.
  if (resumeFrom % blockSize !== 0 && resumeFrom !== info.length) resumeFrom = 0;

  const handle = await openSlot(device, 'r+');
  const result: WriteImageResult = {
    bytesWritten: 0,
    bytesSkipped: 0,
    bytesReceived: 0,
    resumedFrom: 0,
    restarted: false,
  };
  // Every operation still running on `handle`; all are settled before it is closed.
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(run: Promise<T>): Promise<T> => {
    inFlight.add(run);
    run.then(
      () => inFlight.delete(run),
      () => inFlight.delete(run),
    );
    return run;
  };
  try {
    const isRegular = (await handle.stat()).isFile();
    if (!isRegular) await checkCapacity(handle, device, info.length);

    let verifier = new TargetVerifier(info);
    if (resumeFrom > 0) {
      await feedFromSlot(handle, verifier, resumeFrom, Buffer.allocUnsafe(blockSize), signal);
    }
    let position = resumeFrom;
    if (position < info.length) {
      const opened = await options.open(position, signal);
      if (opened.offset !== position) {
        if (opened.offset !== 0) {
          opened.stream.cancel?.();
          throw new InvalidStateError(
            `the image source resumed at byte ${opened.offset}, not ${position} or 0`,
          );
        }
        // HTTP 200 instead of 206: start over (equal blocks are skipped, so it costs reads).
        verifier = new TargetVerifier(info);
        position = 0;
        result.restarted = true;
      }
      result.resumedFrom = position;
      publishStep('download-opened', { offset: position });

      /** Compare-read then (unless equal) write one block; runs while later blocks fill. */
      const commit = async (buf: Buffer, scratch: Buffer, length: number, at: number) => {
        if (skipIdentical && (await readFully(handle, scratch, length, at)) === length) {
          if (scratch.compare(buf, 0, length, 0, length) === 0) {
            result.bytesSkipped += length;
            publishStep('block', { position: at, length, skipped: true });
            return;
          }
        }
        await writeFully(handle, buf, length, at);
        result.bytesWritten += length;
        publishStep('block', { position: at, length, skipped: false });
      };

      // A ring of `depth + 1` buffers: one fills from the source while up to `depth` blocks are
      // compared/written. Buffer i is refilled only once the block last committed from it has
      // settled (`commits[i]`), which bounds memory and reports a failed write within `depth`
      // blocks (and always before any checkpoint that would cover it).
      const ring = Array.from({ length: depth + 1 }, () => Buffer.allocUnsafe(blockSize));
      const scratches = skipIdentical ? ring.map(() => Buffer.allocUnsafe(blockSize)) : [];
      const commits: Promise<void>[] = ring.map(() => Promise.resolve());
      let current = 0;
      let fill = 0;
      let blockStart = position;
      let sinceCheckpoint = 0;
      let checkpoint: Promise<void> = Promise.resolve();

      const flush = async (): Promise<void> => {
        const run = track(
          commit(
            ring[current] as Buffer,
            (scratches[current] ?? ring[current]) as Buffer,
            fill,
            blockStart,
          ),
        );
        run.catch(() => {}); // awaited before reuse, at a checkpoint or at the end
        commits[current] = run;
        blockStart += fill;
        sinceCheckpoint += fill;
        current = (current + 1) % ring.length;
        fill = 0;
        if (sinceCheckpoint >= checkpointEvery && blockStart < info.length) {
          sinceCheckpoint = 0;
          // One sync at a time, and checkpoints reported in order.
          await checkpoint;
          // Every byte below `boundary` is in the page cache before the sync starts, so once
          // `fdatasync` returns they are all durable, whatever was written meanwhile: the
          // journal still records only synced whole blocks. The sync runs in the background
          // while the next blocks are received, hashed and written (the medium is busy all
          // along instead of in bursts), and is awaited before the next one.
          await Promise.all(commits);
          const boundary = blockStart;
          checkpoint = track(
            (async () => {
              await handle.datasync();
              publishStep('checkpoint-synced', { position: boundary });
              await options.onCheckpoint?.(boundary);
            })(),
          );
          checkpoint.catch(() => {});
        }
        await commits[current]; // the next buffer to fill must be free
      };

      try {
        for await (const chunk of opened.stream) {
          signal?.throwIfAborted();
          verifier.update(chunk); // the length cap: throws at the first byte past info.length
          result.bytesReceived += chunk.byteLength;
          let offset = 0;
          while (offset < chunk.byteLength) {
            const buf = ring[current] as Buffer;
            const n = Math.min(blockSize - fill, chunk.byteLength - offset);
            buf.set(chunk.subarray(offset, offset + n), fill);
            fill += n;
            offset += n;
            if (fill === blockSize) await flush();
          }
        }
        if (fill > 0) await flush();
        await Promise.all(commits);
        await checkpoint;
      } catch (error) {
        opened.stream.cancel?.();
        throw error;
      }
    }
    verifier.finish(); // exact length and every hash of the stream
    if (isRegular) {
      // A file slot holds exactly the image, so `sha256sum slot` matches the metadata.
      const { size } = await handle.stat();
      if (size > info.length) await handle.truncate(info.length);
    }
    await handle.sync();
    publishStep('synced', { length: info.length });
    return result;
  } finally {
    // Never close the descriptor under a pending read, write or sync (EBADF, or worse a reused
    // descriptor number).
    await Promise.allSettled([...inFlight]);
    await handle.close();
  }
}

/**
 * Re-read `info.length` bytes of `device` and check length and every hash.
 *
 * @throws LengthOrHashMismatchError `ERR_TUF_LENGTH_OR_HASH_MISMATCH` on any difference.
 */
export async function verifySlotImage(
  device: string,
  info: TargetFile,
  options: { blockSize?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const blockSize = checkBlockSize(options.blockSize ?? DEFAULT_BLOCK_SIZE);
  const handle = await openSlot(device, 'r');
  try {
    const verifier = new TargetVerifier(info);
    await feedFromSlot(
      handle,
      verifier,
      info.length,
      Buffer.allocUnsafe(blockSize),
      options.signal,
    );
    verifier.finish();
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------

function checkQueueDepth(depth: number): number {
  if (!Number.isSafeInteger(depth) || depth < 1 || depth > 16) {
    throw new InvalidStateError(`queueDepth must be an integer from 1 to 16, got ${depth}`);
  }
  return depth;
}

function checkBlockSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 64 * 1024 || size > 64 * 1024 * 1024 || size % 4096) {
    throw new InvalidStateError(
      `blockSize must be a multiple of 4096 from 64 KiB to 64 MiB, got ${size}`,
    );
  }
  return size;
}

async function openSlot(device: string, flags: 'r' | 'r+'): Promise<fs.FileHandle> {
  try {
    // O_NOFOLLOW is not used: slot paths are often /dev/disk/by-partlabel symlinks.
    return await fs.open(device, flags === 'r' ? constants.O_RDONLY : constants.O_RDWR);
  } catch (error) {
    throw new SlotError(
      `cannot open slot device ${device}: ${(error as Error).message}`,
      { cause: error },
      SlotErrorCode.Argument,
    );
  }
}

/** A block device cannot grow: refuse an image larger than it before writing anything. */
async function checkCapacity(handle: fs.FileHandle, device: string, length: number): Promise<void> {
  if (length === 0) return;
  const probe = Buffer.alloc(1);
  const { bytesRead } = await handle.read(probe, 0, 1, length - 1);
  if (bytesRead !== 1) {
    throw new SlotError(
      `slot device ${device} is smaller than the ${length}-byte image`,
      {},
      SlotErrorCode.Argument,
    );
  }
}

/** Feed `length` bytes of the slot from offset 0 to `verifier` (short read: what there is). */
async function feedFromSlot(
  handle: fs.FileHandle,
  verifier: TargetVerifier,
  length: number,
  buf: Buffer,
  signal: AbortSignal | undefined,
): Promise<void> {
  let position = 0;
  while (position < length) {
    signal?.throwIfAborted();
    const want = Math.min(buf.length, length - position);
    const got = await readFully(handle, buf, want, position);
    if (got === 0) break;
    verifier.update(buf.subarray(0, got));
    position += got;
    if (got < want) break;
  }
}

async function readFully(
  handle: fs.FileHandle,
  buf: Buffer,
  length: number,
  position: number,
): Promise<number> {
  let total = 0;
  while (total < length) {
    const { bytesRead } = await handle.read(buf, total, length - total, position + total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return total;
}

async function writeFully(
  handle: fs.FileHandle,
  buf: Buffer,
  length: number,
  position: number,
): Promise<void> {
  let total = 0;
  while (total < length) {
    const { bytesWritten } = await handle.write(buf, total, length - total, position + total);
    total += bytesWritten;
  }
}
