/**
 * One filesystem step with a typed failure: the helper every adapter that writes files uses so
 * a raw `errno` error (`EACCES`, `ENOSPC`, …) surfaces as a {@link StorageError} naming the file
 * and the step, while errors that are already typed ({@link TufError}) pass through unchanged.
 *
 * Does not retry or clean up: the caller decides what a failed step leaves behind.
 *
 * Safe for concurrent use (stateless).
 *
 * @module
 */
import { StorageError, TufError } from '../errors.js';

/**
 * Run a filesystem step, turning its failure into a {@link StorageError} naming the file.
 *
 * @param what - the step, completing "cannot …" (e.g. `write /tmp/x`).
 * @param filePath - the file the step works on, recorded on the error.
 *
 * @example
 * ```ts
 * const handle = await storageStep(`create ${temp}`, temp, () => fs.open(temp, 'wx', 0o644));
 * ```
 */
export async function storageStep<T>(
  what: string,
  filePath: string,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof TufError) throw error;
    throw new StorageError(`cannot ${what}: ${(error as Error).message}`, {
      cause: error,
      filePath,
    });
  }
}
