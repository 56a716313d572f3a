/**
 * The tar writer ({@link TarWriter}): streams a ustar archive, each member's bytes passing
 * straight from the source to the sink, counted against the declared size, never buffered whole.
 * It applies the reader's name rules, so it cannot produce an archive the reader refuses, and
 * writes a pax `path`/`size` record only when ustar cannot hold the value, so `tar -tf` (GNU,
 * bsdtar, busybox) lists it.
 *
 * Does not implement: compression, links, directories, GNU extensions.
 *
 * Not safe for concurrent use: one writer per archive, awaited call by call.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { FormatError, InvalidStateError } from '../errors.js';
import {
  buildHeader,
  checkTarName,
  DEFAULT_MAX_TAR_ENTRIES,
  paddedSize,
  paxRecord,
  splitUstarName,
  TAR_BLOCK_SIZE,
  TYPE_FILE,
  TYPE_PAX,
  truncateUtf8,
  USTAR_MAX_SIZE,
} from './tar-header.js';

const encoder = new TextEncoder();

/** Where a {@link TarWriter} writes: awaited in order, one call at a time. */
export interface TarSink {
  write(chunk: Uint8Array): Promise<void>;
}

/** A {@link TarSink} appending to an open file (positioned writes, short writes handled). */
export function fileHandleSink(handle: FileHandle, start = 0): TarSink {
  let position = start;
  return {
    async write(chunk: Uint8Array): Promise<void> {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    },
  };
}

/** Options of {@link TarWriter}. */
export interface TarWriterOptions {
  /** Modification time written for members, seconds since the epoch. Default 0 (reproducible). */
  mtime?: number;
  /** Refuse more members than this. Default {@link DEFAULT_MAX_TAR_ENTRIES}. */
  maxEntries?: number;
}

/**
 * Writes a ustar archive (pax records only where ustar cannot hold a name or size), streaming
 * each member's data from its source to the sink.
 *
 * After any error the writer is unusable ({@link InvalidStateError}): the archive is incomplete
 * and must be discarded (write to a temporary file and rename it on success).
 *
 * @example
 * ```ts
 * const handle = await open('bundle.tar.tmp', 'wx');
 * const tar = new TarWriter(fileHandleSink(handle));
 * await tar.addFile('metadata/timestamp.json', bytes);
 * await tar.addFile('targets/fw.img', stat.size, createReadStream('fw.img'));
 * await tar.finish();
 * ```
 */
export class TarWriter {
  readonly #sink: TarSink;
  readonly #mtime: number;
  readonly #maxEntries: number;
  readonly #names = new Set<string>();
  #state: 'open' | 'finished' | 'failed' = 'open';
  #bytesWritten = 0;

  constructor(sink: TarSink, options: TarWriterOptions = {}) {
    const mtime = options.mtime ?? 0;
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_TAR_ENTRIES;
    if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > USTAR_MAX_SIZE) {
      throw new InvalidStateError(`mtime must be a non-negative integer of seconds, got ${mtime}`);
    }
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidStateError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.#sink = sink;
    this.#mtime = mtime;
    this.#maxEntries = maxEntries;
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Add a member holding `bytes`. */
  addFile(name: string, bytes: Uint8Array): Promise<void>;
  /** Add a member of exactly `size` bytes streamed from `source` (more or fewer is an error). */
  addFile(name: string, size: number, source: AsyncIterable<Uint8Array>): Promise<void>;
  async addFile(
    name: string,
    sizeOrBytes: number | Uint8Array,
    source?: AsyncIterable<Uint8Array>,
  ): Promise<void> {
    this.#checkOpen();
    const size = typeof sizeOrBytes === 'number' ? sizeOrBytes : sizeOrBytes.byteLength;
    const checked = checkTarName(name);
    if (checked !== name)
      throw new FormatError(`tar member name ${JSON.stringify(name)} is not normalised`);
    if (this.#names.has(name))
      throw new FormatError(`duplicate tar member name ${JSON.stringify(name)}`);
    if (this.#names.size >= this.#maxEntries) {
      throw new FormatError(`more than ${this.#maxEntries} tar members`);
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidStateError(`member size must be a non-negative integer, got ${size}`);
    }
    if (typeof sizeOrBytes === 'number' && source === undefined) {
      throw new InvalidStateError('addFile(name, size, source) needs a source');
    }
    this.#names.add(name);
    try {
      await this.#writeHeaders(name, size);
      if (typeof sizeOrBytes === 'number') {
        let received = 0;
        for await (const chunk of source as AsyncIterable<Uint8Array>) {
          received += chunk.byteLength;
          if (received > size) {
            throw new FormatError(
              `${name}: the source yields more than the declared ${size} bytes`,
            );
          }
          await this.#write(chunk);
        }
        if (received !== size) {
          throw new FormatError(
            `${name}: the source yielded ${received} bytes, ${size} were declared`,
          );
        }
      } else {
        await this.#write(sizeOrBytes);
      }
      const padding = paddedSize(size) - size;
      if (padding > 0) await this.#write(new Uint8Array(padding));
    } catch (error) {
      this.#state = 'failed';
      throw error;
    }
  }

  /** Write the end-of-archive marker. The archive is complete once this resolves. */
  async finish(): Promise<void> {
    this.#checkOpen();
    try {
      await this.#write(new Uint8Array(2 * TAR_BLOCK_SIZE));
      this.#state = 'finished';
    } catch (error) {
      this.#state = 'failed';
      throw error;
    }
  }

  #checkOpen(): void {
    if (this.#state !== 'open') {
      throw new InvalidStateError(`the tar writer is ${this.#state}; start a new archive`);
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return;
    await this.#sink.write(chunk);
    this.#bytesWritten += chunk.byteLength;
  }

  async #writeHeaders(name: string, size: number): Promise<void> {
    const split = splitUstarName(name);
    const records: Array<[string, string]> = [];
    if (split === undefined) records.push(['path', name]);
    if (size > USTAR_MAX_SIZE) records.push(['size', String(size)]);
    if (records.length > 0) {
      const data = encoder.encode(records.map(([k, v]) => paxRecord(k, v)).join(''));
      const base = name.slice(name.lastIndexOf('/') + 1);
      const paxName = `PaxHeaders/${truncateUtf8(base, 88)}`;
      await this.#write(
        buildHeader({ name: paxName, prefix: '' }, data.byteLength, TYPE_PAX, this.#mtime),
      );
      await this.#write(data);
      const padding = paddedSize(data.byteLength) - data.byteLength;
      if (padding > 0) await this.#write(new Uint8Array(padding));
    }
    const fields = split ?? { name: truncateUtf8(name, 100), prefix: '' };
    await this.#write(buildHeader(fields, Math.min(size, USTAR_MAX_SIZE), TYPE_FILE, this.#mtime));
  }
}
