/**
 * The signature-verification seam: a {@link CryptoProvider} checks one signature by one public
 * key over some bytes.
 *
 * Two implementations ship: `nodeCryptoProvider` (`node-provider.ts`, every scheme, the default)
 * and `nobleCryptoProvider` (`noble-provider.ts`, ed25519 only, pure JavaScript for runtimes
 * without `node:crypto`). Both decide the same way for every input both support.
 *
 * The contract every provider keeps, because threshold counting (TUF 1.0 §5.3.4, §5.4.3, …)
 * depends on it: malformed key material, a garbage or truncated signature, or a (keytype, scheme)
 * pair that tufota does not know yields `false` — that signature simply does not count toward the
 * threshold — never an exception. A provider may throw only for a scheme tufota knows but that
 * provider cannot do (the noble provider and ECDSA/RSA keys), since silently failing there would
 * hide a configuration mistake.
 *
 * Pure: no I/O, no clock. Safe for concurrent use.
 *
 * @module
 */
import type { PublicKeyData } from './keys.js';

/**
 * Verifies signatures. Implementations must be stateless apart from caches of parsed keys.
 *
 * @example
 * ```ts
 * const ok = defaultCryptoProvider.verify(key, hexToBytes(sig.sig, MAX_SIGNATURE_LENGTH), canonicalBytes);
 * ```
 */
export interface CryptoProvider {
  /** A short name for logs and error messages (`node`, `noble`). */
  readonly name: string;
  /**
   * Whether `signature` is a valid signature by `key` over `data` under `key.scheme`.
   *
   * Returns `false` — never throws — for a wrong signature, garbage signature bytes, malformed
   * key material, or a (keytype, scheme) tufota does not implement (see `isSupportedKey`).
   *
   * @throws {UnsupportedAlgorithmError} `ERR_TUF_UNSUPPORTED_ALGORITHM` only when the scheme is
   *   one tufota implements but this provider cannot verify.
   */
  verify(key: PublicKeyData, signature: Uint8Array, data: Uint8Array): boolean;
}
