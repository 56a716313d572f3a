/**
 * `SignedRole`: a role's metadata kept together with the exact bytes that are (or will be)
 * served, their length and their hashes — the repository-side unit of trust (STYLE point 7;
 * tough `editor/signed.rs` `SignedRole`). Snapshot and timestamp list the length and hashes of
 * these bytes, so a file is serialized once and never re-serialized to be hashed.
 *
 * Also: how role files are named in `metadata/` (TUF 5.5.1 / 5.6.1 consistent snapshots:
 * `VERSION.ROLE.json`), and which delegated role names can name a file at all.
 *
 * Pure; safe for concurrent use (a `SignedRole` is never mutated after it is made).
 *
 * @module
 */
import { hashBytes } from '../crypto/index.js';
import { FormatError } from '../errors.js';
import { Metadata, MetaFile, type SignedTypes } from '../models/index.js';

/** Hash algorithms listed for metadata files in snapshot and timestamp. */
export const METADATA_HASH_ALGORITHMS = ['sha256'] as const;

/** Longest delegated role name accepted (it becomes part of a file name). */
export const MAX_ROLE_NAME_LENGTH = 200;

/**
 * Metadata and the exact bytes it is served as.
 *
 * @example
 * ```ts
 * const role = signedRoleFromMetadata(timestampMetadata);
 * await storage.writeFile('metadata/timestamp.json', role.bytes);
 * ```
 */
export interface SignedRole<
  T extends SignedTypes[keyof SignedTypes] = SignedTypes[keyof SignedTypes],
> {
  readonly metadata: Metadata<T>;
  readonly bytes: Uint8Array;
  readonly length: number;
  readonly hashes: Record<string, string>;
}

/** Serialize `metadata` once and hash those bytes. */
export function signedRoleFromMetadata<T extends SignedTypes[keyof SignedTypes]>(
  metadata: Metadata<T>,
): SignedRole<T> {
  return signedRoleOf(metadata, metadata.toBytes());
}

/** Parse stored bytes of a role of type `type`, keeping the bytes as they are. */
export function signedRoleFromBytes<K extends keyof SignedTypes>(
  bytes: Uint8Array,
  type: K,
): SignedRole<SignedTypes[K]> {
  return signedRoleOf(Metadata.fromBytes(bytes, type), bytes);
}

function signedRoleOf<T extends SignedTypes[keyof SignedTypes]>(
  metadata: Metadata<T>,
  bytes: Uint8Array,
): SignedRole<T> {
  return {
    metadata,
    bytes,
    length: bytes.byteLength,
    hashes: hashBytes(bytes, METADATA_HASH_ALGORITHMS),
  };
}

/** What snapshot or timestamp says about this role: version, length and hashes of its bytes. */
export function metaFileOf(role: SignedRole): MetaFile {
  return new MetaFile(role.metadata.signed.version, role.length, { ...role.hashes });
}

/** `VERSION.ROLE.json` (consistent snapshots). */
export function versionedFileName(role: string, version: number): string {
  return `${version}.${role}.json`;
}

/**
 * Refuse delegated role names that cannot name a served file. A client percent-encodes the name
 * in the URL and a web server decodes it again, so the file on disk carries the name verbatim:
 * it must not contain `/`, `\` or control characters, and must be short.
 *
 * @throws FormatError
 */
export function checkRoleFileName(name: string): string {
  if (name.length === 0 || name.length > MAX_ROLE_NAME_LENGTH) {
    throw new FormatError(
      `role name must have 1 to ${MAX_ROLE_NAME_LENGTH} characters, got ${name.length}`,
    );
  }
  if (/[/\\\u0000-\u001f\u007f]/.test(name)) {
    throw new FormatError(
      `role name ${JSON.stringify(name.slice(0, 80))} cannot name a file: it contains "/", "\\" or a control character`,
    );
  }
  return name;
}
