/**
 * The tar reader ({@link readTarIndex}): builds an index of the regular files of a ustar/pax
 * archive (name → data offset and size) with positioned reads of the headers only: data is never
 * read, so indexing a bundle of several GiB reads a few KiB. It is strict, because the archive
 * comes from removable media an attacker may have prepared (the metadata and targets in it are
 * still verified by TUF; the index only decides *which bytes* are handed to the verifier):
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
 *   ({@link MAX_PAX_HEADER_SIZE}), name length (`MAX_TAR_NAME_LENGTH`).
 * Every refusal is a {@link FormatError} with code `ERR_TUF_FORMAT` naming the member and offset.
 *
 * Does not implement: extraction to disk, global pax headers that change names or sizes
 * (refused).
 *
 * The index returned is immutable and may be shared; concurrent reads of one handle are safe
 * (positioned reads).
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { FormatError, InvalidStateError } from '../errors.js';
import {
  checkHeader,
  checkTarName,
  DEFAULT_MAX_TAR_ENTRIES,
  headerName,
  isZeroBlock,
  MAX_PAX_HEADER_SIZE,
  paddedSize,
  parsePaxRecords,
  paxNumber,
  readOctal,
  TAR_BLOCK_SIZE,
  TYPE_DIRECTORY,
  TYPE_FILE,
  TYPE_FILE_OLD,
  TYPE_NAMES,
  TYPE_PAX,
  TYPE_PAX_GLOBAL,
} from './tar-header.js';

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
