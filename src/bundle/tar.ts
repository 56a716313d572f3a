/**
 * A small, strict POSIX tar (ustar, with pax extended headers) writer and reader, for offline
 * update bundles. No dependency.
 *
 * Format (POSIX.1-2017, `pax` utility, "ustar Interchange Format" and "pax Interchange Format"):
 * an archive is a sequence of 512-byte blocks; each member is a header block followed by its
 * data padded to a block boundary; two zero blocks end the archive. A header holds the name
 * (`prefix` 155 bytes + `/` + `name` 100 bytes), octal numeric fields, a checksum (the unsigned
 * sum of the header bytes with the checksum field read as spaces), a type flag and the magic
 * `ustar\0` `00`. A pax `x` member before a file carries `LEN key=value\n` records that override
 * its header fields; we use `path` (names longer than ustar allows) and `size` (8 GiB and more).
 *
 * The reader ({@link readTarIndex}) builds an index of regular files (name → data offset and
 * size) with positioned reads of the headers only: data is never read, so indexing a bundle of
 * several GiB reads a few KiB. It is strict, because the archive comes from removable media an
 * attacker may have prepared (the metadata and targets in it are still verified by TUF; the
 * index only decides *which bytes* are handed to the verifier):
 * - only regular files (`0`, NUL) and directories (`5`, skipped: they carry no bytes) are
 *   accepted; symbolic and hard links, devices, FIFOs, GNU long names, sparse files and any
 *   other type are refused, as is the GNU/old-GNU magic (create archives with
 *   `tar --format=ustar` or `--format=pax`);
 * - names must be relative, UTF-8, free of control characters and backslashes, without empty,
 *   `.` or `..` segments (one leading `./` is dropped, as `tar -C dir .` writes it) and unique;
 * - every header checksum must match; numeric fields must be plain octal (no base-256);
 * - a member whose data runs past the end of the file, and an archive without its two zero
 *   blocks, are truncated: refused;
 * - caps: number of members ({@link DEFAULT_MAX_TAR_ENTRIES}), pax header size
 *   ({@link MAX_PAX_HEADER_SIZE}), name length ({@link MAX_TAR_NAME_LENGTH}).
 * Every refusal is a {@link FormatError} with code `ERR_TUF_FORMAT` naming the member and offset.
 *
 * The writer ({@link TarWriter}) streams: each member's bytes pass straight from the source to
 * the sink, counted against the declared size, never buffered whole. It applies the reader's
 * name rules, so it cannot produce an archive the reader refuses, and writes a pax `path`/`size`
 * record only when ustar cannot hold the value, so `tar -tf` (GNU, bsdtar, busybox) lists it.
 *
 * Does not implement: compression, links, extraction to disk, global pax headers that change
 * names or sizes (refused), GNU extensions.
 *
 * Not safe for concurrent use: one writer per archive, awaited call by call. The index returned
 * by the reader is immutable and may be shared.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { FormatError, InvalidStateError } from '../errors.js';

/** The tar block size. */
export const TAR_BLOCK_SIZE = 512;
/** Default cap on the number of members (files and directories) of an archive. */
export const DEFAULT_MAX_TAR_ENTRIES = 65_536;
/** Cap on a member name, in UTF-8 bytes (Linux `PATH_MAX`). */
export const MAX_TAR_NAME_LENGTH = 4096;
/** Cap on the data of one pax extended header member. */
export const MAX_PAX_HEADER_SIZE = 64 * 1024;
/** Largest size a ustar header holds: 11 octal digits. */
const USTAR_MAX_SIZE = 0o77777777777;

const TYPE_FILE = 0x30; // '0'
const TYPE_FILE_OLD = 0x00; // NUL: pre-POSIX regular file
const TYPE_DIRECTORY = 0x35; // '5'
const TYPE_PAX = 0x78; // 'x'
const TYPE_PAX_GLOBAL = 0x67; // 'g'

const TYPE_NAMES: Record<number, string> = {
  49: 'hard link',
  50: 'symbolic link',
  51: 'character device',
  52: 'block device',
  54: 'FIFO',
  55: 'contiguous file',
  75: 'GNU long link name',
  76: 'GNU long name',
  83: 'GNU sparse file',
};

const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One regular file in an archive. */
export interface TarEntry {
  /** The member name, normalised (no leading `./`). */
  readonly name: string;
  /** Byte position of the first data byte in the archive file. */
  readonly offset: number;
  /** Data length in bytes. */
  readonly size: number;
  /** Modification time, seconds since the epoch (informational). */
  readonly mtime: number;
}

/** The regular files of an archive, in archive order, and by name. */
export interface TarIndex {
  readonly entries: readonly TarEntry[];
  readonly byName: ReadonlyMap<string, TarEntry>;
  /** Length of the archive file when it was indexed. */
  readonly archiveSize: number;
}

/** Options of {@link readTarIndex}. */
export interface ReadTarOptions {
  /** Refuse archives with more members than this. Default {@link DEFAULT_MAX_TAR_ENTRIES}. */
  maxEntries?: number;
  /** Used in error messages (the archive's path). */
  label?: string;
}

/**
 * Normalise and check a member name: relative, UTF-8, no control characters or backslashes, no
 * empty / `.` / `..` segments, at most {@link MAX_TAR_NAME_LENGTH} bytes. One leading `./` and,
 * for directories, one trailing `/` are dropped.
 *
 * @throws FormatError naming what is wrong.
 *
 * @example
 * ```ts
 * checkTarName('./metadata/1.root.json'); // 'metadata/1.root.json'
 * checkTarName('../etc/passwd');          // throws FormatError
 * ```
 */
export function checkTarName(raw: string, options: { directory?: boolean } = {}): string {
  let name = raw.startsWith('./') ? raw.slice(2) : raw;
  if (options.directory === true && name.endsWith('/')) name = name.slice(0, -1);
  const shown = JSON.stringify(raw.slice(0, 200));
  if (name.length === 0) throw new FormatError(`tar member name ${shown} is empty`);
  if (encoder.encode(name).byteLength > MAX_TAR_NAME_LENGTH) {
    throw new FormatError(`tar member name is longer than ${MAX_TAR_NAME_LENGTH} bytes`);
  }
  if (name.startsWith('/')) throw new FormatError(`tar member name ${shown} is absolute; refused`);
  if (/[\u0000-\u001f\u007f\\]/.test(name)) {
    throw new FormatError(
      `tar member name ${shown} holds a control character or backslash; refused`,
    );
  }
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new FormatError(
        `tar member name ${shown} has an empty, "." or ".." segment (path traversal); refused`,
      );
    }
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// Reader

/**
 * Index the regular files of the ustar/pax archive open as `handle`, reading headers only.
 *
 * @throws FormatError for anything the module notes refuse (truncation, bad checksum, links,
 *   unsafe or duplicate names, too many members).
 * @throws InvalidStateError for an invalid `maxEntries`.
 *
 * @example
 * ```ts
 * const handle = await open('/media/usb/update.tar', 'r');
 * const index = await readTarIndex(handle, { label: '/media/usb/update.tar' });
 * const entry = index.byName.get('metadata/timestamp.json');
 * ```
 */
export async function readTarIndex(
  handle: FileHandle,
  options: ReadTarOptions = {},
): Promise<TarIndex> {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_TAR_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new InvalidStateError(`maxEntries must be a positive integer, got ${maxEntries}`);
  }
  const label = options.label ?? 'tar archive';
  const archiveSize = (await handle.stat()).size;
  const entries: TarEntry[] = [];
  const byName = new Map<string, TarEntry>();
  const header = new Uint8Array(TAR_BLOCK_SIZE);
  let position = 0;
  let members = 0;
  let pax: Map<string, string> | undefined;

  const fail = (message: string, at = position): never => {
    throw new FormatError(`${label}: ${message} (at byte ${at})`);
  };

  for (;;) {
    if (position + TAR_BLOCK_SIZE > archiveSize) {
      fail('truncated: the archive ends before its end-of-archive marker (two zero blocks)');
    }
    await readFully(handle, header, position, label);
    if (isZeroBlock(header)) {
      if (pax !== undefined) fail('a pax extended header is followed by the end of the archive');
      if (position + 2 * TAR_BLOCK_SIZE > archiveSize) {
        fail('truncated: only one of the two end-of-archive zero blocks is present');
      }
      await readFully(handle, header, position + TAR_BLOCK_SIZE, label);
      if (!isZeroBlock(header)) fail('a single zero block inside the archive');
      break;
    }
    const at = position;
    checkHeader(header, label, at);
    members++;
    if (members > maxEntries) fail(`more than ${maxEntries} members; refused`, at);

    const type = header[156] as number;
    const headerSize = readOctal(header, 124, 12, 'size', label, at);
    const isPax = type === TYPE_PAX || type === TYPE_PAX_GLOBAL;
    // A pax `size` record applies to the member after the `x` header, never to another header.
    const size =
      !isPax && pax?.has('size') === true ? paxNumber(pax, 'size', label, at) : headerSize;
    const dataStart = at + TAR_BLOCK_SIZE;
    const dataEnd = dataStart + size;
    if (!Number.isSafeInteger(dataEnd) || dataEnd > archiveSize) {
      fail(`truncated: a member declares ${size} bytes but the archive ends first`, at);
    }
    position = dataStart + paddedSize(size);

    if (isPax) {
      if (pax !== undefined) fail('two pax extended headers in a row', at);
      if (size > MAX_PAX_HEADER_SIZE) {
        fail(`a pax header of ${size} bytes exceeds the ${MAX_PAX_HEADER_SIZE}-byte cap`, at);
      }
      const data = new Uint8Array(size);
      await readFully(handle, data, dataStart, label);
      const records = parsePaxRecords(data, label, at);
      if (type === TYPE_PAX_GLOBAL) {
        // Global headers would change every later member; ours never need them.
        for (const key of records.keys()) {
          if (key === 'path' || key === 'size' || key === 'linkpath' || key.startsWith('GNU.')) {
            fail(`a global pax header sets "${key}"; refused`, at);
          }
        }
      } else {
        pax = records;
      }
      continue;
    }

    const records = pax;
    pax = undefined;
    if (type !== TYPE_FILE && type !== TYPE_FILE_OLD && type !== TYPE_DIRECTORY) {
      const what = TYPE_NAMES[type] ?? `type ${JSON.stringify(String.fromCharCode(type))}`;
      fail(
        `member ${JSON.stringify(headerName(header, label, at))} is a ${what}; only regular files are accepted`,
        at,
      );
    }
    const rawName = records?.get('path') ?? headerName(header, label, at);
    if (records !== undefined) {
      for (const key of records.keys()) {
        if (key.startsWith('GNU.sparse')) fail('a GNU sparse member; refused', at);
        if (key === 'hdrcharset') fail('a pax header with a non-UTF-8 charset; refused', at);
      }
    }
    const directory = type === TYPE_DIRECTORY;
    // `tar -C dir .` starts with the archive root itself: a directory named `./`.
    if (directory && (rawName === './' || rawName === '.') && size === 0) continue;
    let name: string;
    try {
      name = checkTarName(rawName, { directory });
    } catch (error) {
      throw new FormatError(`${label}: ${(error as Error).message} (at byte ${at})`, {
        cause: error,
      });
    }
    if (directory) {
      if (size !== 0) fail(`directory ${JSON.stringify(name)} declares data`, at);
      continue;
    }
    if (byName.has(name)) fail(`duplicate member name ${JSON.stringify(name)}; refused`, at);
    const mtime =
      records?.has('mtime') === true
        ? Math.floor(Number(records.get('mtime')))
        : readOctal(header, 136, 12, 'mtime', label, at);
    const entry: TarEntry = Object.freeze({
      name,
      offset: dataStart,
      size,
      mtime: Number.isFinite(mtime) ? mtime : 0,
    });
    entries.push(entry);
    byName.set(name, entry);
  }
  return Object.freeze({ entries: Object.freeze(entries), byName, archiveSize });
}

async function readFully(
  handle: FileHandle,
  buffer: Uint8Array,
  position: number,
  label: string,
): Promise<void> {
  let done = 0;
  while (done < buffer.byteLength) {
    const { bytesRead } = await handle.read(
      buffer,
      done,
      buffer.byteLength - done,
      position + done,
    );
    if (bytesRead === 0) {
      throw new FormatError(
        `${label}: truncated: the file ended while reading byte ${position + done}`,
      );
    }
    done += bytesRead;
  }
}

function isZeroBlock(block: Uint8Array): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK_SIZE) * TAR_BLOCK_SIZE;
}

function checkHeader(header: Uint8Array, label: string, at: number): void {
  const magic = String.fromCharCode(...header.subarray(257, 265));
  if (magic !== 'ustar\u000000') {
    const gnu = magic === 'ustar  \u0000';
    throw new FormatError(
      `${label}: not a POSIX ustar/pax header${gnu ? ' (GNU format)' : ''} (at byte ${at}); ` +
        'create the archive with `tar --format=ustar` or `tar --format=pax`',
    );
  }
  const stored = readOctal(header, 148, 8, 'checksum', label, at);
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK_SIZE; i++) {
    sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  }
  if (sum !== stored) {
    throw new FormatError(
      `${label}: header checksum mismatch (stored ${stored}, computed ${sum}) at byte ${at}: the archive is corrupt`,
    );
  }
}

/** An octal field: optional leading spaces, digits, then NUL/space padding to the end. */
function readOctal(
  header: Uint8Array,
  start: number,
  length: number,
  field: string,
  label: string,
  at: number,
): number {
  const bytes = header.subarray(start, start + length);
  if (((bytes[0] as number) & 0x80) !== 0) {
    throw new FormatError(
      `${label}: base-256 ${field} field (a GNU extension) at byte ${at}; refused`,
    );
  }
  let i = 0;
  while (i < length && bytes[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  while (i < length && (bytes[i] as number) >= 0x30 && (bytes[i] as number) <= 0x37) {
    value = value * 8 + ((bytes[i] as number) - 0x30);
    i++;
    digits++;
  }
  for (; i < length; i++) {
    if (bytes[i] !== 0 && bytes[i] !== 0x20) digits = -1;
  }
  if (digits <= 0) {
    throw new FormatError(`${label}: malformed octal ${field} field at byte ${at}`);
  }
  return value;
}

/** A NUL-terminated string field as UTF-8 (fatal on invalid sequences). */
function readString(
  header: Uint8Array,
  start: number,
  length: number,
  label: string,
  at: number,
): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  try {
    return utf8.decode(end === -1 ? bytes : bytes.subarray(0, end));
  } catch (error) {
    throw new FormatError(`${label}: member name is not UTF-8 (at byte ${at})`, { cause: error });
  }
}

function headerName(header: Uint8Array, label: string, at: number): string {
  const name = readString(header, 0, 100, label, at);
  const prefix = readString(header, 345, 155, label, at);
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** Parse pax records `LEN key=value\n`, where LEN counts the whole record in bytes. */
function parsePaxRecords(data: Uint8Array, label: string, at: number): Map<string, string> {
  const records = new Map<string, string>();
  let i = 0;
  const bad = (what: string): never => {
    throw new FormatError(`${label}: malformed pax header (${what}) at byte ${at}`);
  };
  while (i < data.byteLength) {
    const space = data.indexOf(0x20, i);
    if (space === -1 || space - i > 7 || space === i) bad('record length');
    const lengthText = String.fromCharCode(...data.subarray(i, space));
    if (!/^[1-9]\d*$/.test(lengthText)) bad('record length');
    const length = Number(lengthText);
    const end = i + length;
    if (end > data.byteLength || data[end - 1] !== 0x0a) bad('record end');
    let record: string;
    try {
      record = utf8.decode(data.subarray(space + 1, end - 1));
    } catch {
      return bad('record is not UTF-8');
    }
    const eq = record.indexOf('=');
    if (eq <= 0) bad('record without key');
    const key = record.slice(0, eq);
    if (records.has(key)) bad(`duplicate key "${key}"`);
    records.set(key, record.slice(eq + 1));
    i = end;
  }
  return records;
}

function paxNumber(records: Map<string, string>, key: string, label: string, at: number): number {
  const text = records.get(key) ?? '';
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new FormatError(
      `${label}: pax ${key} ${JSON.stringify(text.slice(0, 40))} is not a size (at byte ${at})`,
    );
  }
  return Number(text);
}

// ---------------------------------------------------------------------------------------------
// Writer

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

/** `LEN key=value\n`, where LEN counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).byteLength;
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length)
    length = bodyLength + String(length).length;
  return `${length}${body}`;
}

/** Split `name` into ustar `prefix` (≤155 bytes) and `name` (≤100 bytes) at a `/`, if possible. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  const bytes = encoder.encode(name);
  if (bytes.byteLength <= 100) return { name, prefix: '' };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (encoder.encode(prefix).byteLength <= 155 && encoder.encode(rest).byteLength <= 100) {
      return { name: rest, prefix };
    }
  }
  return undefined;
}

/** At most `max` UTF-8 bytes of `text`, cut at a character boundary. */
function truncateUtf8(text: string, max: number): string {
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).byteLength;
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

function buildHeader(
  fields: { name: string; prefix: string },
  size: number,
  type: number,
  mtime: number,
): Uint8Array {
  const header = new Uint8Array(TAR_BLOCK_SIZE);
  header.set(encoder.encode(fields.name), 0);
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, mtime);
  header[156] = type;
  header.set(encoder.encode('ustar\u000000'), 257);
  header.set(encoder.encode(fields.prefix), 345);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  // Six digits, NUL, space: the form GNU tar and the POSIX examples use.
  header.set(encoder.encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
  return header;
}

/** Zero-padded octal filling the field but its last byte, which stays NUL. */
function writeOctal(header: Uint8Array, start: number, length: number, value: number): void {
  header.set(encoder.encode(value.toString(8).padStart(length - 1, '0')), start);
}
