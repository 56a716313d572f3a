/**
 * Streaming verification of a target file against its trusted {@link TargetFile} entry: the
 * exact length and *every* listed hash (TUF 5.7.2), computed while the bytes flow, so that a
 * multi-gigabyte image is never held in memory and an over-long stream is stopped at the first
 * byte past the trusted length (endless-data attack).
 *
 * Implements: {@link TargetVerifier} with `update`/`finish`, and resuming from a prefix already
 * on disk ({@link TargetVerifier.fromPrefix}). Does not implement reading or writing files, nor
 * downloading: the {@link Updater} and the device agent feed it.
 *
 * An algorithm tufota does not implement makes construction fail: "every hash" means a target
 * listing only unknown algorithms can never be verified, and one listing a known and an unknown
 * algorithm is not silently reduced to the known one.
 *
 * Not safe for concurrent use: one verifier follows one stream.
 *
 * @module
 */
import {
  hashesEqual,
  isSupportedHashAlgorithm,
  MAX_HASH_ALGORITHMS,
  MultiHasher,
} from '../crypto/hash.js';
import {
  FormatError,
  InvalidStateError,
  LengthOrHashMismatchError,
  UnsupportedAlgorithmError,
} from '../errors.js';
import type { TargetFile } from '../models/index.js';

/**
 * Verifies one target stream.
 *
 * @example
 * ```ts
 * const verifier = new TargetVerifier(info);
 * for await (const chunk of stream) {
 *   verifier.update(chunk);        // throws LengthOrHashMismatchError past info.length
 *   await sink.write(chunk);
 * }
 * verifier.finish();               // throws unless length and every hash match
 * ```
 */
export class TargetVerifier {
  /** The trusted entry the bytes are checked against. */
  readonly info: TargetFile;
  readonly #hasher: MultiHasher;
  #bytesSeen = 0;
  #finished = false;

  /**
   * @throws UnsupportedAlgorithmError when a listed hash algorithm is not implemented.
   * @throws FormatError when more hash algorithms are listed than tufota accepts.
   */
  constructor(info: TargetFile) {
    const algorithms = Object.keys(info.hashes);
    if (algorithms.length === 0) {
      throw new FormatError(`target ${info.path} lists no hashes, so it cannot be verified`);
    }
    if (algorithms.length > MAX_HASH_ALGORITHMS) {
      throw new FormatError(
        `target ${info.path} lists ${algorithms.length} hash algorithms; at most ${MAX_HASH_ALGORITHMS} are accepted`,
      );
    }
    for (const algorithm of algorithms) {
      if (!isSupportedHashAlgorithm(algorithm)) {
        throw new UnsupportedAlgorithmError(
          `target ${info.path} lists hash algorithm ${JSON.stringify(algorithm)}, which tufota does not implement; ` +
            'every listed hash must verify, so this target cannot be accepted',
        );
      }
    }
    this.info = info;
    this.#hasher = new MultiHasher(algorithms);
  }

  /**
   * A verifier that has already consumed `prefixChunks` (the part of the target already on disk
   * from an interrupted download), ready for the rest.
   *
   * @throws LengthOrHashMismatchError when the prefix is already longer than the target.
   *
   * @example
   * ```ts
   * const verifier = await TargetVerifier.fromPrefix(info, createReadStream(partialPath));
   * const { offset, stream } = await updater.openTarget(info, { offset: verifier.bytesSeen });
   * ```
   */
  static async fromPrefix(
    info: TargetFile,
    prefixChunks: AsyncIterable<Uint8Array>,
  ): Promise<TargetVerifier> {
    const verifier = new TargetVerifier(info);
    for await (const chunk of prefixChunks) verifier.update(chunk);
    return verifier;
  }

  /** Bytes fed so far. */
  get bytesSeen(): number {
    return this.#bytesSeen;
  }

  /**
   * Feed the next bytes.
   *
   * @throws LengthOrHashMismatchError as soon as the total exceeds the trusted length; nothing
   *   of the offending chunk is hashed.
   * @throws InvalidStateError after {@link TargetVerifier.finish}.
   */
  update(chunk: Uint8Array): void {
    if (this.#finished)
      throw new InvalidStateError('TargetVerifier.update() called after finish()');
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidStateError('TargetVerifier.update() needs Uint8Array chunks');
    }
    const total = this.#bytesSeen + chunk.byteLength;
    if (total > this.info.length) {
      throw new LengthOrHashMismatchError(
        `target ${this.info.path}: received more than the ${this.info.length} bytes trusted metadata lists (at least ${total})`,
        { role: 'targets' },
      );
    }
    this.#hasher.update(chunk);
    this.#bytesSeen = total;
  }

  /**
   * Check the final length and every hash. Call once, after the last chunk.
   *
   * @throws LengthOrHashMismatchError naming what differs.
   * @throws InvalidStateError when called twice.
   */
  finish(): void {
    if (this.#finished) throw new InvalidStateError('TargetVerifier.finish() called twice');
    this.#finished = true;
    if (this.#bytesSeen !== this.info.length) {
      throw new LengthOrHashMismatchError(
        `target ${this.info.path}: expected ${this.info.length} bytes, got ${this.#bytesSeen}`,
        { role: 'targets' },
      );
    }
    const actual = this.#hasher.digest();
    for (const [algorithm, expected] of Object.entries(this.info.hashes)) {
      const got = actual[algorithm] ?? '';
      if (!hashesEqual(got, expected.toLowerCase())) {
        throw new LengthOrHashMismatchError(
          `target ${this.info.path}: ${algorithm} is ${got}, trusted metadata lists ${expected.toLowerCase()}`,
          { role: 'targets' },
        );
      }
    }
  }
}
