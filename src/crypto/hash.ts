/**
 * Hashes of metadata and target files, as TUF `hashes` objects list them (TUF 1.0 §4.4, §4.5:
 * `HASHES` is `{ALGORITHM: HEXDIGEST}`).
 *
 * Implements {@link MultiHasher} (several algorithms in one pass over the bytes, so a target is
 * read once however many hashes its metadata lists), {@link hashBytes}, {@link hashStream}
 * (streaming, with the length counted and optionally capped) and {@link hashesEqual}
 * (constant-time comparison of hex digests).
 *
 * Algorithms: `sha256`, `sha384`, `sha512` — what securesystemslib's default hash set and
 * every TUF implementation we interoperate with use. Anything else is refused with
 * {@link UnsupportedAlgorithmError}; whether an unknown algorithm listed in metadata is an error
 * or is skipped is the caller's policy, not this module's.
 *
 * Pure apart from `node:crypto` (OpenSSL's hashing, the fastest available); no I/O, no clock.
 * A `MultiHasher` is stateful and must not be shared between concurrent streams; the functions
 * are safe for concurrent use.
 *
 * @module
 */
import { createHash, type Hash, timingSafeEqual } from 'node:crypto';
import {
  InvalidStateError,
  LengthOrHashMismatchError,
  UnsupportedAlgorithmError,
} from '../errors.js';

/** Hash algorithms tufota computes, named as TUF metadata names them. */
export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** Every {@link HashAlgorithm}, in the order of preference for new metadata. */
export const SUPPORTED_HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha384', 'sha512'];

/** Hex digest lengths (characters) of each algorithm. */
export const HASH_HEX_LENGTH: Readonly<Record<HashAlgorithm, number>> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

/** Most algorithms one hasher accepts: metadata listing more is malformed, not thorough. */
export const MAX_HASH_ALGORITHMS = 8;

/**
 * Whether `name` is a {@link HashAlgorithm}.
 *
 * @example
 * ```ts
 * const usable = Object.keys(meta.hashes).filter(isSupportedHashAlgorithm);
 * ```
 */
export function isSupportedHashAlgorithm(name: string): name is HashAlgorithm {
  return (SUPPORTED_HASH_ALGORITHMS as readonly string[]).includes(name);
}

/**
 * Computes several hashes over the same bytes in one pass.
 *
 * @example
 * ```ts
 * const hasher = new MultiHasher(['sha256', 'sha512']);
 * for await (const chunk of stream) hasher.update(chunk);
 * const { sha256, sha512 } = hasher.digest();
 * ```
 */
export class MultiHasher {
  /** The algorithms, deduplicated, in the order given. */
  readonly algorithms: readonly HashAlgorithm[];
  readonly #hashes: Hash[];
  #length = 0;
  #finished = false;

  /**
   * @throws {UnsupportedAlgorithmError} `ERR_TUF_UNSUPPORTED_ALGORITHM` for an algorithm outside
   *   {@link SUPPORTED_HASH_ALGORITHMS}.
   * @throws {InvalidStateError} `ERR_TUF_INVALID_STATE` for an empty or over-long list.
   */
  constructor(algorithms: readonly string[]) {
    if (!Array.isArray(algorithms) || algorithms.length === 0) {
      throw new InvalidStateError('MultiHasher needs at least one hash algorithm');
    }
    if (algorithms.length > MAX_HASH_ALGORITHMS) {
      throw new InvalidStateError(
        `MultiHasher accepts at most ${MAX_HASH_ALGORITHMS} hash algorithms, got ${algorithms.length}`,
      );
    }
    const unique: HashAlgorithm[] = [];
    for (const name of algorithms) {
      if (typeof name !== 'string' || !isSupportedHashAlgorithm(name)) {
        throw new UnsupportedAlgorithmError(
          `hash algorithm ${JSON.stringify(name)} is not supported (use ${SUPPORTED_HASH_ALGORITHMS.join(', ')})`,
        );
      }
      if (!unique.includes(name)) unique.push(name);
    }
    this.algorithms = unique;
    this.#hashes = unique.map((name) => createHash(name));
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.#length;
  }

  /**
   * Feed bytes.
   *
   * @throws {InvalidStateError} `ERR_TUF_INVALID_STATE` after {@link digest}.
   */
  update(chunk: Uint8Array): void {
    if (this.#finished) throw new InvalidStateError('MultiHasher.update() called after digest()');
    for (const hash of this.#hashes) hash.update(chunk);
    this.#length += chunk.byteLength;
  }

  /**
   * Finish and return `{algorithm: lowercase hex digest}`. Can be called once.
   *
   * @throws {InvalidStateError} `ERR_TUF_INVALID_STATE` when called twice.
   */
  digest(): Record<string, string> {
    if (this.#finished) throw new InvalidStateError('MultiHasher.digest() called twice');
    this.#finished = true;
    const out: Record<string, string> = {};
    this.algorithms.forEach((name, i) => {
      out[name] = this.#hashes[i]!.digest('hex');
    });
    return out;
  }
}

/**
 * Hash bytes with each algorithm.
 *
 * @throws {UnsupportedAlgorithmError} for an unknown algorithm.
 *
 * @example
 * ```ts
 * hashBytes(new TextEncoder().encode('abc'), ['sha256']).sha256;
 * // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export function hashBytes(
  bytes: Uint8Array,
  algorithms: readonly string[],
): Record<string, string> {
  const hasher = new MultiHasher(algorithms);
  hasher.update(bytes);
  return hasher.digest();
}

/** Options of {@link hashStream}. */
export interface HashStreamOptions {
  /**
   * Stop with {@link LengthOrHashMismatchError} as soon as more than this many bytes arrive
   * (the stream is not read further).
   */
  readonly maxLength?: number;
}

/**
 * Hash a stream of bytes with each algorithm and count its length.
 *
 * @throws {UnsupportedAlgorithmError} for an unknown algorithm.
 * @throws {LengthOrHashMismatchError} `ERR_TUF_LENGTH_OR_HASH_MISMATCH` when the stream is longer
 *   than `options.maxLength`.
 * @throws {InvalidStateError} when the stream yields something other than bytes.
 *
 * @example
 * ```ts
 * const { length, hashes } = await hashStream(createReadStream(file), ['sha256']);
 * ```
 */
export async function hashStream(
  stream: AsyncIterable<Uint8Array>,
  algorithms: readonly string[],
  options: HashStreamOptions = {},
): Promise<{ length: number; hashes: Record<string, string> }> {
  const hasher = new MultiHasher(algorithms);
  const maxLength = options.maxLength ?? Number.POSITIVE_INFINITY;
  for await (const chunk of stream) {
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidStateError(
        'hashStream() needs a stream of Uint8Array chunks (open files without an encoding)',
      );
    }
    if (hasher.length + chunk.byteLength > maxLength) {
      throw new LengthOrHashMismatchError(`stream is longer than the ${maxLength} bytes allowed`);
    }
    hasher.update(chunk);
  }
  return { length: hasher.length, hashes: hasher.digest() };
}

const DIGEST_CHARS = /^[0-9a-zA-Z]+$/;

/**
 * Compare two hex digests in constant time (for their common length). Case-sensitive, as the
 * reference compares digests (`hexdigest()` output against the metadata string); TUF metadata
 * uses lowercase. Empty strings and strings that are not alphanumeric are never equal to
 * anything.
 *
 * @example
 * ```ts
 * if (!hashesEqual(computed.sha256, expected.sha256)) throw new LengthOrHashMismatchError(…);
 * ```
 */
export function hashesEqual(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length !== b.length) return false;
  if (!DIGEST_CHARS.test(a) || !DIGEST_CHARS.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}
