/**
 * Target files on disk for the `Updater` (TUF spec 5.7): checking a file already present against
 * its trusted entry, and downloading a target into place so the destination never holds a partial
 * or unverified file. The bytes are streamed through a {@link TargetVerifier} into a temporary
 * file beside the destination, fsynced, and renamed into place (durably).
 *
 * Does not build URLs or choose destinations (the `Updater` does), and does not publish
 * diagnostics.
 *
 * Safe for concurrent use: concurrent downloads of the same target each write their own
 * temporary file and each produce a complete file (last rename wins).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { debuglog } from 'node:util';
import { LengthOrHashMismatchError, TufError } from '../errors.js';
import type { TargetFile } from '../models/index.js';
import { renameDurable, tempPathFor } from '../storage/atomic-file.js';
import { readFileChunks } from '../storage/file-chunks.js';
import { storageStep } from '../storage/storage-step.js';
import { BufferedFileWriter, DEFAULT_WRITE_BUFFER_SIZE } from './buffered-file-writer.js';
import type { Fetcher } from './fetcher.js';
import { TargetVerifier } from './target-verifier.js';

const debug = debuglog('tufota');

/**
 * `file` if it has `info`'s trusted length and every hash; `undefined` when it is missing,
 * unreadable or does not verify.
 *
 * @throws UnsupportedAlgorithmError when the entry lists an unknown hash algorithm.
 *
 * @example
 * ```ts
 * const file = await verifiedTargetFile(info, '/var/lib/tufota/targets/fw.img');
 * ```
 */
export async function verifiedTargetFile(
  info: TargetFile,
  file: string,
): Promise<string | undefined> {
  const verifier = new TargetVerifier(info);
  try {
    // One byte past the trusted length is enough to refuse a longer file.
    for await (const chunk of readFileChunks(file, { maxLength: info.length + 1 })) {
      verifier.update(chunk);
    }
    verifier.finish();
    return file;
  } catch (error) {
    if (error instanceof LengthOrHashMismatchError || isErrnoError(error)) {
      debug('cached target %s at %s is not usable: %s', info.path, file, (error as Error).message);
      return undefined;
    }
    throw error;
  }
}

/**
 * Stream `url` (at most `info.length` bytes) into a temporary file beside `file`, verify length
 * and every hash while streaming, fsync, and rename it to `file`. On any failure the temporary
 * file is removed and `file` is untouched.
 *
 * @throws LengthOrHashMismatchError, DownloadError subclasses, StorageError.
 *
 * @example
 * ```ts
 * await downloadTargetFile(fetcher, 'https://updates.example.com/targets/fw.img', info, dest);
 * ```
 */
export async function downloadTargetFile(
  fetcher: Fetcher,
  url: string,
  info: TargetFile,
  file: string,
): Promise<void> {
  const verifier = new TargetVerifier(info);
  const temp = tempPathFor(file);
  const handle = await storageStep(`create ${temp}`, temp, () => fs.open(temp, 'wx', 0o644));
  // Double-buffered: the disk write of one buffer overlaps receiving and hashing the next.
  const writer = new BufferedFileWriter(
    handle,
    Math.max(1, Math.min(DEFAULT_WRITE_BUFFER_SIZE, info.length)),
  );
  let closed = false;
  try {
    for await (const chunk of fetcher.fetchStream(url, info.length)) {
      verifier.update(chunk);
      await storageStep(`write ${temp}`, temp, () => writer.write(chunk));
    }
    verifier.finish();
    await storageStep(`write ${temp}`, temp, () => writer.flush());
    await storageStep(`fsync ${temp}`, temp, () => handle.sync());
    closed = true;
    await storageStep(`close ${temp}`, temp, () => handle.close());
    await renameDurable(temp, file);
  } catch (error) {
    // No write may still be running on the handle when it is closed and the file removed.
    await writer.settle();
    if (!closed) await handle.close().catch(() => {});
    await fs.rm(temp, { force: true }).catch(() => {});
    throw error;
  }
  debug('downloaded target %s (%d bytes) to %s', info.path, info.length, file);
}

function isErrnoError(error: unknown): boolean {
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    !(error instanceof TufError)
  );
}
