/**
 * Checking what an administrator hands the repository for a target — path, length, hashes and
 * `custom` data (tufota's `hardwareIds`, `version`, `releaseCounter`) — before anything is
 * written, and where a target's file is stored (`targets/DIR/HASH.NAME` with consistent
 * snapshots, TUF 5.7.3: one copy per hash algorithm listed).
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import semver from 'semver';
import { encodeCanonical } from '../canonical/index.js';
import { HASH_HEX_LENGTH, isSupportedHashAlgorithm } from '../crypto/index.js';
import { FormatError, UnsafePathError } from '../errors.js';
import { checkTargetPath, TargetFile, targetCustomProblem } from '../models/index.js';
import { TARGETS_DIR } from './storage.js';

/** tufota's conventions for `custom`, merged into it when given. */
export interface TargetCustomOptions {
  /** Arbitrary JSON object stored as the target's `custom` (canonical-JSON encodable). */
  custom?: Record<string, unknown>;
  /** Hardware the image is built for (`custom.hardwareIds`, Uptane's hardware identifier). */
  hardwareIds?: string[];
  /** Semantic version of the release (`custom.version`). */
  version?: string;
  /** Anti-rollback counter (`custom.releaseCounter`), an integer >= 0. */
  releaseCounter?: number;
}

/** What is known about a target without its bytes (bulk imports of files stored elsewhere). */
export interface TargetInfo {
  length: number;
  /** Algorithm → lowercase hex digest; at least one. */
  hashes: Record<string, string>;
}

/** Longest `custom` object accepted, as canonical JSON bytes. */
export const MAX_CUSTOM_LENGTH = 64 * 1024;

/**
 * Build the `custom` object, or `undefined` when there is none. The conventions are checked on
 * the merged object — `--custom` JSON included — with the rule devices apply before installing
 * (`models/target-conventions.ts`), plus what only a publisher can insist on: `version` is a
 * semantic version and `hardwareIds` names at least one board.
 *
 * @throws FormatError (`path` names the field) for malformed conventions or a `custom` that
 *   cannot be canonical JSON.
 */
export function buildCustom(options: TargetCustomOptions): Record<string, unknown> | undefined {
  const custom: Record<string, unknown> = options.custom === undefined ? {} : { ...options.custom };
  if (options.hardwareIds !== undefined) custom.hardwareIds = options.hardwareIds;
  if (options.version !== undefined) custom.version = options.version;
  if (options.releaseCounter !== undefined) custom.releaseCounter = options.releaseCounter;
  const problem = targetCustomProblem(custom);
  if (problem !== undefined) throw new FormatError(problem.message, { path: problem.field });
  if (Array.isArray(custom.hardwareIds)) {
    if (custom.hardwareIds.length === 0) {
      throw new FormatError('custom.hardwareIds must name at least one hardware id', {
        path: 'custom.hardwareIds',
      });
    }
    custom.hardwareIds = [...custom.hardwareIds];
  }
  if (custom.version !== undefined && semver.valid(custom.version as string) === null) {
    throw new FormatError(
      `custom.version must be a semantic version such as 1.4.2, got ${JSON.stringify(custom.version)}`,
      { path: 'custom.version' },
    );
  }
  if (Object.keys(custom).length === 0 && options.custom === undefined) return undefined;
  // Throws CanonicalJsonError for floats, -0, lone surrogates: values a signature cannot cover.
  const encoded = encodeCanonical(custom);
  if (encoded.byteLength > MAX_CUSTOM_LENGTH) {
    throw new FormatError(
      `custom is ${encoded.byteLength} bytes as canonical JSON; at most ${MAX_CUSTOM_LENGTH}`,
      {
        path: 'custom',
      },
    );
  }
  return custom;
}

/**
 * A checked {@link TargetFile}.
 *
 * @throws UnsafePathError for a path that could leave the targets directory.
 * @throws FormatError for a bad length, unknown hash algorithm or malformed digest.
 */
export function buildTargetFile(
  path: string,
  info: TargetInfo,
  custom: Record<string, unknown> | undefined,
): TargetFile {
  checkTargetPath(path);
  // TUF recommends target paths be path-relative URL strings, and the reference clients
  // (python-tuf, tuf-js) join them onto the base URL unencoded: a `#` or `?` becomes a fragment
  // or query and `%41` an escape, so such devices would ask for another file. Our client reads
  // them; our repository does not publish them.
  const urlUnsafe = /[#?%]/.exec(path);
  if (urlUnsafe !== null) {
    throw new UnsafePathError(
      `target path ${JSON.stringify(path)} contains ${JSON.stringify(urlUnsafe[0])}, which other TUF clients read as URL syntax; rename the file`,
      { path: 'target path' },
    );
  }
  if (!Number.isSafeInteger(info.length) || info.length < 0) {
    throw new FormatError(
      `target ${path}: length must be an integer >= 0, got ${String(info.length)}`,
    );
  }
  const entries = Object.entries(info.hashes ?? {});
  if (entries.length === 0) throw new FormatError(`target ${path}: at least one hash is required`);
  const hashes: Record<string, string> = {};
  for (const [algorithm, digest] of entries) {
    if (!isSupportedHashAlgorithm(algorithm)) {
      throw new FormatError(
        `target ${path}: hash algorithm ${JSON.stringify(algorithm)} is not supported`,
      );
    }
    if (
      typeof digest !== 'string' ||
      !/^[0-9a-f]+$/.test(digest) ||
      digest.length !== HASH_HEX_LENGTH[algorithm]
    ) {
      throw new FormatError(
        `target ${path}: ${algorithm} must be ${HASH_HEX_LENGTH[algorithm]} lowercase hex digits`,
      );
    }
    hashes[algorithm] = digest;
  }
  return new TargetFile(path, info.length, hashes, custom);
}

/** Storage path of a target's copy named by one of its hashes: `targets/DIR/HASH.NAME`. */
export function consistentTargetPath(targetPath: string, digest: string): string {
  const slash = targetPath.lastIndexOf('/');
  const dir = slash === -1 ? '' : `${targetPath.slice(0, slash)}/`;
  return `${TARGETS_DIR}/${dir}${digest}.${targetPath.slice(slash + 1)}`;
}
