/**
 * Target path validation: a target path from metadata is later joined onto a local directory or
 * a URL, so it must not be able to walk out of it (TUF leaves target paths opaque; we refuse
 * the ones no honest repository needs).
 *
 * Refused: the empty path, absolute paths (`/x`), `.` and `..` segments, empty segments (`a//b`),
 * backslashes (a Windows separator), NUL and other C0 control characters, and drive prefixes
 * (`C:`). Pure; safe for concurrent use.
 *
 * @module
 */
import { UnsafePathError } from '../errors.js';

/** The longest target path accepted, in UTF-16 code units. */
export const MAX_TARGET_PATH_LENGTH = 4096;

/** Why `targetPath` is unsafe, or `undefined` when it is safe. */
export function unsafeTargetPathReason(targetPath: string): string | undefined {
  if (targetPath.length === 0) return 'it is empty';
  if (targetPath.length > MAX_TARGET_PATH_LENGTH)
    return `it is longer than ${MAX_TARGET_PATH_LENGTH} characters`;
  if (targetPath.startsWith('/')) return 'it is absolute (starts with "/")';
  if (targetPath.includes('\\')) return 'it contains a backslash';
  if (/[\u0000-\u001f\u007f]/.test(targetPath)) return 'it contains a NUL or control character';
  if (/^[A-Za-z]:/.test(targetPath)) return 'it starts with a drive letter';
  for (const segment of targetPath.split('/')) {
    if (segment === '..' || segment === '.') return `it contains a "${segment}" segment`;
    if (segment === '') return 'it contains an empty segment ("//" or a trailing "/")';
  }
  return undefined;
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
export function checkTargetPath(targetPath: string, path = 'target path'): string {
  const reason = unsafeTargetPathReason(targetPath);
  if (reason !== undefined) {
    throw new UnsafePathError(
      `${path} ${JSON.stringify(targetPath.slice(0, 200))} is refused because ${reason}; target paths must be relative paths of plain segments`,
      { path },
    );
  }
  return targetPath;
}
