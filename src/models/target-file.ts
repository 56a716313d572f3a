/**
 * `TargetFile`: a target's length, hashes and optional `custom` data, as `targets.json` lists it
 * (TUF spec, "Document formats", targets.json). tufota's own conventions for `custom`
 * (`hardwareIds`, `version`, `releaseCounter`) are read through helpers here but stored verbatim.
 *
 * Pure; safe for concurrent use.
 *
 * @module
 */
import { FormatError } from '../errors.js';
import {
  expectHashes,
  FieldReader,
  isHashes,
  isInteger,
  isObject,
  type JsonPath,
  type Unrecognized,
} from './guards.js';
import { verifyLengthAndHashes } from './meta-file.js';
import { checkTargetPath, unsafeTargetPathReason } from './target-path.js';

/** What a targets role says about one target file. */
export class TargetFile {
  /**
   * The target path (the key in `targets`), verbatim. Not checked on construction: a signed
   * targets role listing one odd name (`../x`, `/etc/passwd`, `a\\b`) must not make the whole
   * role unusable, as python-tuf, tuf-js and tough also accept it. Code that joins the path onto
   * a directory or URL calls {@link TargetFile.checkPath} first; the repository refuses to
   * publish such names.
   */
  readonly path: string;
  length: number;
  hashes: Record<string, string>;
  /** The `custom` object, verbatim; `undefined` when absent. */
  custom: Record<string, unknown> | undefined;
  unrecognized: Unrecognized;

  constructor(
    path: string,
    length: number,
    hashes: Record<string, string>,
    custom?: Record<string, unknown>,
    unrecognized: Unrecognized = {},
  ) {
    this.path = path;
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new FormatError(`target ${path}: length must be an integer >= 0, got ${length}`);
    }
    if (!hasOwnKey(hashes)) {
      throw new FormatError(`target ${path}: at least one hash is required`);
    }
    this.length = length;
    this.hashes = hashes;
    this.custom = custom;
    this.unrecognized = unrecognized;
  }

  /**
   * Parse one entry of a `targets` object.
   *
   * @param path - JSON path for error messages, or a function building it (only called on error).
   */
  static fromJSON(targetPath: string, value: unknown, path: JsonPath = 'target'): TargetFile {
    return (
      TargetFile.fromCommonJSON(targetPath, value) ?? TargetFile.#read(targetPath, value, path)
    );
  }

  /**
   * {@link TargetFile.fromJSON} for the common shape only: `length`, `hashes` and optionally
   * `custom`, all valid, nothing else; `undefined` for anything else, which `fromJSON` then
   * reads (and refuses) field by field. One pass over the keys, no reader and no closures: a
   * hash bin lists about a hundred entries, a large targets role hundreds of thousands, and the
   * general reader cost as much as parsing the JSON (`npm run bench -- client-instructions`).
   *
   * @internal For `Targets.fromJSON`, which avoids building a path for each entry this way.
   */
  static fromCommonJSON(targetPath: string, value: unknown): TargetFile | undefined {
    if (!isObject(value)) return undefined;
    let length: unknown;
    let hashes: unknown;
    let custom: unknown;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) return undefined;
      if (key === 'length') length = value[key];
      else if (key === 'hashes') hashes = value[key];
      else if (key === 'custom') custom = value[key];
      else return undefined;
    }
    if (!isInteger(length, 0) || !isHashes(hashes) || (custom !== undefined && !isObject(custom))) {
      return undefined;
    }
    return new TargetFile(targetPath, length, hashes, custom as Record<string, unknown>);
  }

  static #read(targetPath: string, value: unknown, path: JsonPath): TargetFile {
    const reader = new FieldReader(value, path);
    const length = reader.integer('length', 0);
    const hashes = expectHashes(reader.take('hashes'), reader.lazyPathOf('hashes'));
    const custom = reader.takeOptional('custom');
    if (custom !== undefined && !isObject(custom)) {
      throw new FormatError(`${reader.pathOf('custom')} must be a JSON object`, {
        path: reader.pathOf('custom'),
      });
    }
    return new TargetFile(targetPath, length, hashes, custom, reader.rest());
  }

  /** Why {@link TargetFile.path} is unsafe to join onto a directory or URL, or `undefined`. */
  get unsafePathReason(): string | undefined {
    return unsafeTargetPathReason(this.path);
  }

  /**
   * Throw unless {@link TargetFile.path} is safe to join onto a directory or URL.
   *
   * @throws UnsafePathError (`ERR_TUF_UNSAFE_PATH`) naming the path and why it is refused.
   * @example
   * ```ts
   * info.checkPath(); // before using info.path as a file or URL name
   * ```
   */
  checkPath(): this {
    checkTargetPath(this.path);
    return this;
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      ...this.unrecognized,
      length: this.length,
      hashes: { ...this.hashes },
    };
    if (this.custom !== undefined) json.custom = this.custom;
    return json;
  }

  /**
   * Check bytes against this target's length and every listed hash.
   *
   * @throws LengthOrHashMismatchError
   */
  verifyLengthAndHashes(data: Uint8Array): void {
    verifyLengthAndHashes(data, this.length, this.hashes, `target ${this.path}`);
  }

  /** `custom.hardwareIds` when it is an array of strings; `undefined` otherwise. */
  get hardwareIds(): string[] | undefined {
    const ids = this.custom?.hardwareIds;
    return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? ids : undefined;
  }

  /** `custom.version` when it is a string (a semantic version by tufota's convention). */
  get releaseVersion(): string | undefined {
    const v = this.custom?.version;
    return typeof v === 'string' ? v : undefined;
  }

  /** `custom.releaseCounter` when it is a non-negative integer (Uptane's anti-rollback counter). */
  get releaseCounter(): number | undefined {
    const c = this.custom?.releaseCounter;
    return isInteger(c, 0) ? c : undefined;
  }
}

/** True when `record` has at least one own enumerable key (without allocating a key array). */
/** What `expectHashes` accepts, as a test: at least one own entry, each a hex digest. */

function hasOwnKey(record: object): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return true;
  return false;
}
