/**
 * Turning names from signed metadata into URL components and file names.
 *
 * Role names and target paths are chosen by whoever signs metadata; the client joins them onto
 * a base URL and onto local directories. This module encodes them the way the reference does
 * (python-tuf `parse.quote(name, "")`): every byte of the UTF-8 encoding outside the RFC 3986
 * unreserved set `A-Z a-z 0-9 - _ . ~` becomes `%XX` (uppercase hex). So `/`, `\`, `%`, `?`, `#`
 * and NUL are always encoded, and an encoded name is a single path segment.
 *
 * Why `.` stays unencoded, and why `.` and `..` are still safe: the encoded role name is never a
 * segment on its own; it is always followed by `.json` (`..` → `...json`, `.` → `..json`,
 * versioned `1...json`), which neither a filesystem nor a URL parser treats as a dot segment.
 * Encoding `.` as `%2E` would not help URLs anyway: WHATWG URL parsing treats `%2e%2e` as `..`.
 * Matching the reference byte for byte also keeps our cache and request names interoperable with
 * repositories and test suites (tuf-conformance) written against python-tuf.
 *
 * Target file names use the same encoding of the whole target path, so `a/b.img` is stored as
 * `a%2Fb.img`: the same target always lands at the same flat path. The models keep odd target
 * paths (`..` segments, a leading `/`, backslashes) as signed; the `Updater` refuses them with
 * `TargetFile.checkPath` before building any file name or URL from them.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { UnsafePathError } from '../errors.js';

/** Characters `encodeURIComponent` leaves alone that the reference encodes. */
const EXTRA_RESERVED = /[!'()*]/g;

/**
 * Percent-encode `name` as one path segment: UTF-8, every byte outside `A-Za-z0-9-_.~` as `%XX`.
 *
 * @throws UnsafePathError when `name` is empty or holds a lone UTF-16 surrogate (not encodable
 *   as UTF-8, so it has no faithful file or URL name).
 *
 * @example
 * ```ts
 * encodeRoleName('a/b');  // 'a%2Fb'
 * encodeRoleName('ö');    // '%C3%B6'
 * encodeRoleName('..');   // '..' (always followed by '.json', see the module notes)
 * ```
 */
export function encodeRoleName(name: string): string {
  if (name.length === 0) throw new UnsafePathError('a role name or target path must not be empty');
  let encoded: string;
  try {
    encoded = encodeURIComponent(name);
  } catch (error) {
    throw new UnsafePathError(
      `name ${JSON.stringify(name.slice(0, 100))} holds a lone UTF-16 surrogate and cannot be encoded as UTF-8`,
      { cause: error },
    );
  }
  return encoded.replace(EXTRA_RESERVED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The file name of a role's metadata: `ROLE.json`, or `VERSION.ROLE.json` for a versioned
 * (consistent-snapshot or root) download, with ROLE percent-encoded.
 *
 * @example
 * ```ts
 * metadataFileName('timestamp');   // 'timestamp.json'
 * metadataFileName('root', 3);     // '3.root.json'
 * metadataFileName('../evil', 2);  // '2...%2Fevil.json'
 * ```
 */
export function metadataFileName(roleName: string, version?: number): string {
  const encoded = encodeRoleName(roleName);
  if (version === undefined) return `${encoded}.json`;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new UnsafePathError(`metadata version must be a positive integer, got ${version}`);
  }
  return `${version}.${encoded}.json`;
}

/**
 * The local file name a target is stored under in the target directory: the whole target path
 * percent-encoded, as the reference does (`a/b.img` → `a%2Fb.img`).
 *
 * @example
 * ```ts
 * targetFileName('firmware/board-a/1.2.0.img'); // 'firmware%2Fboard-a%2F1.2.0.img'
 * ```
 */
export function targetFileName(targetPath: string): string {
  return encodeRoleName(targetPath);
}

/**
 * The URL path (relative to the target base URL) of a target: each `/`-separated segment
 * percent-encoded, and with `hashPrefix` (consistent snapshots, TUF 5.7.3) the basename
 * prefixed as `HASH.BASENAME`.
 *
 * Encoding each segment keeps `?`, `#` and `%` in target paths from changing what is requested;
 * a conforming server decodes the segments back to the target path.
 *
 * @example
 * ```ts
 * targetUrlPath('fw/a b.img');            // 'fw/a%20b.img'
 * targetUrlPath('fw/a.img', 'ab12');      // 'fw/ab12.a.img'
 * ```
 */
export function targetUrlPath(targetPath: string, hashPrefix?: string): string {
  const segments = targetPath.split('/');
  const last = segments.length - 1;
  if (hashPrefix !== undefined) {
    if (!/^[0-9a-fA-F]+$/.test(hashPrefix)) {
      throw new UnsafePathError(
        `a target hash prefix must be hex, got ${JSON.stringify(hashPrefix.slice(0, 100))}`,
      );
    }
    segments[last] = `${hashPrefix}.${segments[last] ?? ''}`;
  }
  return segments.map((segment) => encodeRoleName(segment)).join('/');
}
