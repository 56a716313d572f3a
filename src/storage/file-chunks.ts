/**
 * Fast sequential reads of local files for hashing and verification: two reused buffers, the
 * next read in flight while the caller works on the current chunk.
 *
 * `fs.createReadStream` allocates a fresh buffer per chunk and reads only when asked, so the
 * read and the hash run one after the other; overlapping them makes SHA-256 over a cached
 * 1 GiB file about as fast as `openssl dgst` here (≈1,380–1,480 MB/s against ≈1,110–1,170 MB/s
 * for `createReadStream` with 1 MiB chunks, measured in one run on this machine).
 *
 * The price is the contract of {@link readFileChunks}: a yielded chunk is valid only until the
 * caller asks for the next one. Hashing and verifying consumers are done with a chunk by then;
 * anything that keeps chunks must copy them.
 *
 * Safe for concurrent use on different files (each call has its own buffers and handle).
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { hashStream } from '../crypto/hash.js';

/** Default chunk size: large enough for the page cache, small enough for devices. */
export const DEFAULT_FILE_CHUNK_SIZE = 1024 * 1024;

/** Options of {@link readFileChunks}. */
export interface ReadFileChunksOptions {
  /** Bytes per chunk (default 1 MiB); two buffers of this size are allocated. */
  chunkSize?: number;
  /** First byte to read (default 0). */
  start?: number;
  /** Stop after this many bytes (default: to the end of the file). */
  maxLength?: number;
}

/**
 * Yield the bytes of `filePath` in chunks, reading ahead into a second buffer. A chunk is only
 * valid until the next one is requested (see the module comment). The file handle is closed on
 * completion, error and early `break`.
 *
 * @example
 * ```ts
 * const hasher = new MultiHasher(['sha256']);
 * for await (const chunk of readFileChunks('/dev/mmcblk0p3', { maxLength: info.length })) hasher.update(chunk);
 * ```
 */
export async function* readFileChunks(
  filePath: string,
  options: ReadFileChunksOptions = {},
): AsyncGenerator<Uint8Array> {
  const chunkSize = options.chunkSize ?? DEFAULT_FILE_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  }
  let position = options.start ?? 0;
  let remaining = options.maxLength ?? Number.POSITIVE_INFINITY;
  const handle = await fs.open(filePath, 'r');
  const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)] as const;
  let current = 0;
  const readInto = (index: number) => {
    const length = Math.min(chunkSize, remaining);
    return length <= 0
      ? Promise.resolve({ bytesRead: 0 })
      : handle.read(buffers[index as 0 | 1], 0, length, position);
  };
  let pending: Promise<{ bytesRead: number }> | undefined = readInto(current);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      const chunk = buffers[current as 0 | 1].subarray(0, bytesRead);
      position += bytesRead;
      remaining -= bytesRead;
      current ^= 1;
      // The read ahead goes into the other buffer, which the caller has finished with.
      pending = readInto(current);
      yield chunk;
    }
  } finally {
    // Never close under an in-flight read: it would write into a closed descriptor's buffer.
    await pending?.catch(() => {});
    await handle.close();
  }
}

/**
 * Length and hashes of a local file (or of its first `maxLength` bytes), read with
 * {@link readFileChunks}.
 *
 * @example
 * ```ts
 * const { length, hashes } = await hashFile('fw.img', ['sha256', 'sha512']);
 * ```
 */
export async function hashFile(
  filePath: string,
  algorithms: readonly string[],
  options: { maxLength?: number; onChunk?: (chunk: Uint8Array) => void } = {},
): Promise<{ length: number; hashes: Record<string, string> }> {
  const chunks = readFileChunks(filePath, { maxLength: options.maxLength });
  const source = options.onChunk === undefined ? chunks : tap(chunks, options.onChunk);
  return hashStream(source, algorithms);
}

async function* tap(
  chunks: AsyncIterable<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    onChunk(chunk);
    yield chunk;
  }
}
