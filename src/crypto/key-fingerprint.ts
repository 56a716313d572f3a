/**
 * Key-material fingerprints: one string per distinct public key, whatever key id, scheme or
 * encoding the metadata lists it under. Threshold counting (TUF 5.3.4, 5.4.3, 5.5.3, 5.6.3)
 * counts these, not key ids: a root or delegator that lists one public key under two key ids
 * must not let one private key meet a threshold of two.
 *
 * ed25519 keys are 32 raw bytes (hex, compared case-insensitively); PEM keys (ECDSA P-256, RSA)
 * are parsed and reduced to their JWK coordinates (`x`/`y`, `n`/`e`), so the SPKI and PKCS#1
 * encodings of one RSA key, or the compressed and uncompressed points of one EC key, give one
 * fingerprint.
 *
 * Pure: CPU work only (`node:crypto`), no I/O, no clock. Safe for concurrent use.
 *
 * @module
 */
import { createPublicKey } from 'node:crypto';
import { keyAlgorithm, MAX_PUBLIC_KEY_LENGTH, type PublicKeyData } from './keys.js';

/**
 * The fingerprint of `key`'s material, or `undefined` when the key is not one tufota can verify
 * with (unknown keytype/scheme, malformed material). Two keys with the same fingerprint are the
 * same private key's public half.
 *
 * @example
 * ```ts
 * publicKeyFingerprint(keyA) === publicKeyFingerprint(keyB); // same key under two key ids
 * ```
 */
export function publicKeyFingerprint(key: PublicKeyData): string | undefined {
  const algorithm = keyAlgorithm(key);
  const material = key.keyval?.public;
  if (algorithm === undefined || typeof material !== 'string') return undefined;
  if (material.length > MAX_PUBLIC_KEY_LENGTH) return undefined;
  if (algorithm === 'ed25519') return `ed25519:${material.toLowerCase()}`;
  try {
    const jwk = createPublicKey({ key: material, format: 'pem' }).export({ format: 'jwk' });
    if (jwk.kty === 'EC') return `ec:${jwk.crv}:${jwk.x}:${jwk.y}`;
    if (jwk.kty === 'RSA') return `rsa:${jwk.n}:${jwk.e}`;
    return undefined;
  } catch {
    return undefined;
  }
}
