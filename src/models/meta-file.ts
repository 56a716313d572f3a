/**
 * `MetaFile`: what timestamp and snapshot say about another metadata file: its version and,
 * optionally, its length and hashes (TUF spec, "Document formats", timestamp.json and
 * snapshot.json `meta` entries).
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { hashBytes } from '../crypto/hash.js';
import { LengthOrHashMismatchError } from '../errors.js';
import {
  expectHashes,
  FieldReader,
  isHashes,
  isInteger,
  isObject,
  type JsonPath,
  type Unrecognized,
} from './guards.js';

/** Version, and optionally length and hashes, of a metadata file. */
export class MetaFile {
  constructor(
    public version: number,
    public length?: number,
    public hashes?: Record<string, string>,
    public unrecognized: Unrecognized = {},
  ) {}

  static fromJSON(value: unknown, path: JsonPath = 'meta'): MetaFile {
    return MetaFile.fromCommonJSON(value) ?? MetaFile.#read(value, path);
  }

  /**
   * {@link MetaFile.fromJSON} for the common shape only: `version`, and optionally `length` and
   * `hashes`, all valid, nothing else; `undefined` for anything else, which `fromJSON` then reads
   * (and refuses) field by field. One pass over the keys, no reader and no closures: a snapshot
   * of hash bins lists thousands of entries, and in a fresh process, where this code runs in
   * V8's interpreter, the general reader was most of the cost of reading the snapshot.
   *
   * @internal For `Snapshot.fromJSON`, which avoids building a path for each entry this way.
   */
  static fromCommonJSON(value: unknown): MetaFile | undefined {
    if (!isObject(value)) return undefined;
    let version: unknown;
    let length: unknown;
    let hashes: unknown;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) return undefined;
      if (key === 'version') version = value[key];
      else if (key === 'length') length = value[key];
      else if (key === 'hashes') hashes = value[key];
      else return undefined;
    }
    if (
      !isInteger(version, 1) ||
      (length !== undefined && !isInteger(length, 0)) ||
      (hashes !== undefined && !isHashes(hashes))
    ) {
      return undefined;
    }
    return new MetaFile(version, length, hashes);
  }

  static #read(value: unknown, path: JsonPath): MetaFile {
    const reader = new FieldReader(value, path);
    const version = reader.integer('version', 1);
    const length = reader.optionalInteger('length', 0);
    const rawHashes = reader.takeOptional('hashes');
    const hashes =
      rawHashes === undefined ? undefined : expectHashes(rawHashes, reader.lazyPathOf('hashes'));
    return new MetaFile(version, length, hashes, reader.rest());
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { ...this.unrecognized, version: this.version };
    if (this.length !== undefined) json.length = this.length;
    if (this.hashes !== undefined) json.hashes = { ...this.hashes };
    return json;
  }

  /**
   * Check `data` against the length and hashes listed, where listed (TUF 5.5.2, 5.6.2).
   *
   * @param role - the role the bytes are for, named in the error.
   * @throws LengthOrHashMismatchError
   */
  verifyLengthAndHashes(data: Uint8Array, role: string): void {
    verifyLengthAndHashes(data, this.length, this.hashes, role);
  }
}

/**
 * Check bytes against an expected length and hash map (either may be absent).
 *
 * @throws LengthOrHashMismatchError naming `what`, the expected and the actual values.
 */
export function verifyLengthAndHashes(
  data: Uint8Array,
  length: number | undefined,
  hashes: Record<string, string> | undefined,
  what: string,
): void {
  if (length !== undefined && data.byteLength !== length) {
    throw new LengthOrHashMismatchError(
      `${what}: expected ${length} bytes, got ${data.byteLength}`,
      { role: what },
    );
  }
  if (hashes === undefined) return;
  const actual = hashBytes(data, Object.keys(hashes));
  for (const [algorithm, expected] of Object.entries(hashes)) {
    if (actual[algorithm] !== expected.toLowerCase()) {
      throw new LengthOrHashMismatchError(
        `${what}: ${algorithm} is ${actual[algorithm]}, expected ${expected.toLowerCase()}`,
        { role: what },
      );
    }
  }
}
