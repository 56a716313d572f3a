/**
 * The tar header codec shared by the reader (`tar-reader.ts`) and the writer (`tar-writer.ts`):
 * block constants and caps, member-name rules, and encoding/decoding of ustar header blocks and
 * pax extended-header records. Pure functions over bytes.
 *
 * Format (POSIX.1-2017, `pax` utility, "ustar Interchange Format" and "pax Interchange Format"):
 * an archive is a sequence of 512-byte blocks; each member is a header block followed by its
 * data padded to a block boundary; two zero blocks end the archive. A header holds the name
 * (`prefix` 155 bytes + `/` + `name` 100 bytes), octal numeric fields, a checksum (the unsigned
 * sum of the header bytes with the checksum field read as spaces), a type flag and the magic
 * `ustar\0` `00`. A pax `x` member before a file carries `LEN key=value\n` records that override
 * its header fields; we use `path` (names longer than ustar allows) and `size` (8 GiB and more).
 *
 * Decoding is strict (the archive may come from an attacker): only the POSIX magic, matching
 * checksums, plain octal numbers (no base-256), well-formed UTF-8 pax records without duplicate
 * keys. Every refusal is a {@link FormatError} naming the offset.
 *
 * Does not implement: GNU extensions (long names, sparse files, base-256 numbers).
 *
 * No I/O. Safe for concurrent use.
 *
 * @module
 */
import { FormatError } from '../errors.js';

/** The tar block size. */
export const TAR_BLOCK_SIZE = 512;
/** Default cap on the number of members (files and directories) of an archive. */
export const DEFAULT_MAX_TAR_ENTRIES = 65_536;
/** Cap on a member name, in UTF-8 bytes (Linux `PATH_MAX`). */
export const MAX_TAR_NAME_LENGTH = 4096;
/** Cap on the data of one pax extended header member. */
export const MAX_PAX_HEADER_SIZE = 64 * 1024;
/** Largest size a ustar header holds: 11 octal digits. */
export const USTAR_MAX_SIZE = 0o77777777777;

// Type flags (header byte 156).
export const TYPE_FILE = 0x30; // '0'
export const TYPE_FILE_OLD = 0x00; // NUL: pre-POSIX regular file
export const TYPE_DIRECTORY = 0x35; // '5'
export const TYPE_PAX = 0x78; // 'x'
export const TYPE_PAX_GLOBAL = 0x67; // 'g'

/** Names of the member types we refuse, for error messages. */
export const TYPE_NAMES: Record<number, string> = {
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

/** Whether a block is all zeros (half of the end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

/** `size` rounded up to whole blocks: the space a member's data takes. */
export function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK_SIZE) * TAR_BLOCK_SIZE;
}

/** Check a header's magic (POSIX ustar/pax only) and checksum. @throws FormatError */
export function checkHeader(header: Uint8Array, label: string, at: number): void {
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
export function readOctal(
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

/** The member name of a header: `prefix/name`, or `name` without a prefix. */
export function headerName(header: Uint8Array, label: string, at: number): string {
  const name = readString(header, 0, 100, label, at);
  const prefix = readString(header, 345, 155, label, at);
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** Parse pax records `LEN key=value\n`, where LEN counts the whole record in bytes. */
export function parsePaxRecords(data: Uint8Array, label: string, at: number): Map<string, string> {
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

/** A pax record holding a size (decimal, safe integer). @throws FormatError */
export function paxNumber(
  records: Map<string, string>,
  key: string,
  label: string,
  at: number,
): number {
  const text = records.get(key) ?? '';
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new FormatError(
      `${label}: pax ${key} ${JSON.stringify(text.slice(0, 40))} is not a size (at byte ${at})`,
    );
  }
  return Number(text);
}

/** `LEN key=value\n`, where LEN counts its own digits. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).byteLength;
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length)
    length = bodyLength + String(length).length;
  return `${length}${body}`;
}

/** Split `name` into ustar `prefix` (≤155 bytes) and `name` (≤100 bytes) at a `/`, if possible. */
export function splitUstarName(name: string): { name: string; prefix: string } | undefined {
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
export function truncateUtf8(text: string, max: number): string {
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

/** A ustar header block (mode 0644, uid/gid 0) with its checksum. */
export function buildHeader(
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
