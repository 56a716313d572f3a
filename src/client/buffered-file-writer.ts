/**
 * `BufferedFileWriter`: writes a stream of chunks to an open file with one write in flight
 * while the next chunks arrive, so that receiving (and hashing) a download overlaps with the
 * disk instead of alternating with it.
 *
 * Chunks are copied into one of two buffers of `bufferSize` bytes; when one is full it is
 * written while the other fills. The copy is deliberate: a fetcher may reuse a chunk's memory
 * once the next one is requested, and the bytes written must be exactly the bytes hashed. It
 * also turns many small socket reads into few large writes. Memory: two buffers per writer.
 *
 * What it does not do: open, fsync, close or rename the file (the caller owns the handle and the
 * atomic-replace sequence), or wrap errors (a failed write rejects the next `write()` or
 * `flush()` with the file system's error).
 *
 * Not safe for concurrent use: await each `write()` before the next.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';

/** Default size of each of the two buffers. */
export const DEFAULT_WRITE_BUFFER_SIZE = 256 * 1024;

/**
 * Double-buffered sequential writer.
 *
 * @example
 * ```ts
 * const writer = new BufferedFileWriter(handle);
 * for await (const chunk of stream) await writer.write(chunk);
 * await writer.flush();
 * await handle.sync();
 * ```
 */
export class BufferedFileWriter {
  readonly #handle: FileHandle;
  readonly #bufferSize: number;
  /** The two buffers; the second is allocated when first needed (small files never need it). */
  readonly #buffers: Uint8Array[] = [];
  /** Index of the buffer being filled; the other one may be in flight. */
  #current = 0;
  #filled = 0;
  /** File position of the first byte of the buffer being filled. */
  #position = 0;
  #inFlight: Promise<void> | undefined;

  /**
   * @param bufferSize - size of each buffer; pass the expected file length when it is smaller,
   *   so a small file costs a small buffer.
   */
  constructor(handle: FileHandle, bufferSize = DEFAULT_WRITE_BUFFER_SIZE) {
    if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(`bufferSize must be a positive integer, got ${bufferSize}`);
    }
    this.#handle = handle;
    this.#bufferSize = bufferSize;
    this.#buffers.push(new Uint8Array(bufferSize));
  }

  /** Bytes accepted so far (written or buffered). */
  get length(): number {
    return this.#position + this.#filled;
  }

  /** Copy `chunk` into the buffer, writing full buffers; resolves once `chunk` may be reused. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const fill = this.#buffers[this.#current] as Uint8Array;
      const take = Math.min(fill.byteLength - this.#filled, chunk.byteLength - offset);
      fill.set(chunk.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === fill.byteLength) await this.#startWrite();
    }
  }

  /** Write what is buffered and wait for every write to finish. */
  async flush(): Promise<void> {
    if (this.#filled > 0) await this.#startWrite();
    await this.#waitInFlight();
  }

  /** Wait for the write in flight, ignoring its outcome (before closing after a failure). */
  async settle(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    await inFlight?.catch(() => {});
  }

  /**
   * Wait for the previous write (so the other buffer is free), start writing the filled one,
   * and fill the other one next.
   */
  async #startWrite(): Promise<void> {
    await this.#waitInFlight();
    const full = (this.#buffers[this.#current] as Uint8Array).subarray(0, this.#filled);
    const position = this.#position;
    this.#position += this.#filled;
    this.#filled = 0;
    this.#current ^= 1;
    if (this.#buffers.length < 2) this.#buffers.push(new Uint8Array(this.#bufferSize));
    const writing = writeFully(this.#handle, full, position);
    // Handled here so a failure between calls is not an unhandled rejection; the next
    // write(), flush() or settle() still sees it.
    writing.catch(() => {});
    this.#inFlight = writing;
  }

  async #waitInFlight(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    await inFlight;
  }
}

/** `handle.write` until every byte of `data` is written at `position` (writes may be short). */
async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < data.byteLength) {
    const { bytesWritten } = await handle.write(
      data,
      written,
      data.byteLength - written,
      position + written,
    );
    written += bytesWritten;
  }
}
