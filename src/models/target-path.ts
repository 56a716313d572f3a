/**
 * Target path validation: a target path from metadata is later joined onto a local directory or
 * a URL, so it must not be able to walk out of it (TUF leaves target paths opaque; we refuse
 * the ones no honest repository needs). The models keep such paths as signed, so one odd entry
 * does not make a whole targets role unusable (issue 9); the check runs where a path is used:
 * the client's lookup and download (`TargetFile.checkPath`), the repository's add and publish.
 *
 * Refused: the empty path, absolute paths (`/x`), `.` and `..` segments, empty segments (`a//b`),
 * backslashes (a Windows separator), NUL and other C0 control characters, and drive prefixes
 * (`C:`). Pure; safe for concurrent use.
 *
 * @module
 */
import { UnsafePathError } from '../errors.js';
import { type JsonPath, resolvePath } from './guards.js';

/** The longest target path accepted, in UTF-16 code units. */
export const MAX_TARGET_PATH_LENGTH = 4096;

/**
 * Why `targetPath` is unsafe, or `undefined` when it is safe. One pass over the characters (a
 * targets role may list 100,000 paths); when several rules are broken, the reason given is the
 * first in this order: backslash, control character, drive letter, then the first bad segment.
 */
export function unsafeTargetPathReason(targetPath: string): string | undefined {
  const length = targetPath.length;
  if (length === 0) return 'it is empty';
  if (length > MAX_TARGET_PATH_LENGTH)
    return `it is longer than ${MAX_TARGET_PATH_LENGTH} characters`;
  if (targetPath.charCodeAt(0) === SLASH) return 'it is absolute (starts with "/")';
  let backslash = false;
  let control = false;
  let segment: string | undefined;
  let segmentStart = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? SLASH : targetPath.charCodeAt(i);
    if (c === SLASH) {
      if (segment === undefined) segment = badSegment(targetPath, segmentStart, i);
      segmentStart = i + 1;
    } else if (c === BACKSLASH) {
      backslash = true;
    } else if (c < 0x20 || c === 0x7f) {
      control = true;
    }
  }
  if (backslash) return 'it contains a backslash';
  if (control) return 'it contains a NUL or control character';
  if (length >= 2 && targetPath.charCodeAt(1) === COLON && isAsciiLetter(targetPath.charCodeAt(0)))
    return 'it starts with a drive letter';
  if (segment === '') return 'it contains an empty segment ("//" or a trailing "/")';
  if (segment !== undefined) return `it contains a "${segment}" segment`;
  return undefined;
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const DOT = 0x2e;

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** `''`, `'.'` or `'..'` when `targetPath[start, end)` is that segment; otherwise undefined. */
function badSegment(targetPath: string, start: number, end: number): string | undefined {
  const size = end - start;
  if (size === 0) return '';
  if (targetPath.charCodeAt(start) !== DOT || size > 2) return undefined;
  if (size === 1) return '.';
  return targetPath.charCodeAt(start + 1) === DOT ? '..' : undefined;
}

/**
 * Throw {@link UnsafePathError} unless `targetPath` is safe to join onto a directory or URL.
 *
 * @example
 * ```ts
 * checkTargetPath('firmware/board-a/1.2.0.img'); // ok
 * checkTargetPath('../etc/passwd'); // throws UnsafePathError (ERR_TUF_UNSAFE_PATH)
 * ```
 */
export function checkTargetPath(targetPath: string, path: JsonPath = 'target path'): string {
  const reason = unsafeTargetPathReason(targetPath);
  if (reason !== undefined) {
    const at = resolvePath(path);
    throw new UnsafePathError(
      `${at} ${JSON.stringify(targetPath.slice(0, 200))} is refused because ${reason}; target paths must be relative paths of plain segments`,
      { path: at },
    );
  }
  return targetPath;
}
