/**
 * Signature verification in pure JavaScript with `@noble/ed25519` (v3) and SHA-512 from
 * `@noble/hashes`, for runtimes without `node:crypto` (browsers, some edge and embedded runtimes).
 *
 * Implements ed25519 only. Keys with the ECDSA or RSA schemes tufota knows make `verify` throw
 * {@link UnsupportedAlgorithmError}: a device that cannot check its root keys must be told, not
 * silently find "not enough signatures". Unknown schemes verify as `false`, as with every provider.
 *
 * Verification uses noble's strict RFC 8032 mode (`zip215: false`) rather than its ZIP-215
 * default, so that it agrees with OpenSSL — which the node provider and the reference
 * (pyca/cryptography) use — on non-canonical encodings; noble additionally refuses small-order
 * public keys, which no honest key is.
 *
 * This module imports only `keys.ts`, `provider.ts`, `errors.ts` and the noble packages, so it
 * can be bundled without `node:crypto`.
 *
 * Pure: no I/O, no clock. Safe for concurrent use. The first use installs noble's SHA-512 hook
 * (`ed.hashes.sha512`) if the application has not installed one.
 *
 * @module
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { UnsupportedAlgorithmError } from '../errors.js';
import {
  ED25519_PUBLIC_KEY_HEX_LENGTH,
  keyAlgorithm,
  type PublicKeyData,
  tryHexToBytes,
} from './keys.js';
import type { CryptoProvider } from './provider.js';

/**
 * Install `@noble/hashes` SHA-512 into `@noble/ed25519` v3 (which ships without a sync hash).
 * Done lazily rather than at import so the package stays free of import-time side effects.
 */
function ensureSha512(): void {
  if (typeof ed.hashes.sha512 !== 'function') {
    // noble-hashes types its output as Uint8Array<ArrayBufferLike>; it is always a fresh
    // ArrayBuffer-backed array, which is what noble-ed25519's stricter type asks for.
    ed.hashes.sha512 = (message) => sha512(message) as Uint8Array<ArrayBuffer>;
  }
}

/**
 * A {@link CryptoProvider} in pure JavaScript: ed25519 only.
 *
 * @example
 * ```ts
 * import { nobleCryptoProvider } from 'tufota/crypto/noble';
 * nobleCryptoProvider.verify(ed25519Key, signatureBytes, canonicalBytes);
 * ```
 */
export const nobleCryptoProvider: CryptoProvider = {
  name: 'noble',
  verify(key: PublicKeyData, signature: Uint8Array, data: Uint8Array): boolean {
    const algorithm = keyAlgorithm(key);
    if (algorithm === undefined) return false;
    if (algorithm !== 'ed25519') {
      throw new UnsupportedAlgorithmError(
        `the noble crypto provider verifies ed25519 only, not ${key.keytype}/${key.scheme}; ` +
          'use the node:crypto provider on this runtime or use ed25519 keys',
      );
    }
    try {
      if (!(signature instanceof Uint8Array) || !(data instanceof Uint8Array)) return false;
      if (signature.length !== 64) return false;
      const material = key.keyval?.public;
      if (typeof material !== 'string' || material.length !== ED25519_PUBLIC_KEY_HEX_LENGTH) {
        return false;
      }
      const publicKey = tryHexToBytes(material, 32);
      if (publicKey === undefined) return false;
      ensureSha512();
      return ed.verify(signature, data, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/**
 * Sign `data` with a raw 32-byte ed25519 seed, in pure JavaScript. Deterministic (RFC 8032):
 * byte-identical to `node:crypto` for the same key and data.
 *
 * @throws {Error} from noble when `seed` is not 32 bytes.
 *
 * @example
 * ```ts
 * const sig = nobleEd25519Sign(seed, bytes);
 * ```
 */
export function nobleEd25519Sign(seed: Uint8Array, data: Uint8Array): Uint8Array {
  ensureSha512();
  return ed.sign(data, seed);
}

/** The raw 32-byte ed25519 public key of a 32-byte seed, in pure JavaScript. */
export function nobleEd25519PublicKey(seed: Uint8Array): Uint8Array {
  ensureSha512();
  return ed.getPublicKey(seed);
}
