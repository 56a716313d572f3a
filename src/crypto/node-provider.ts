/**
 * Signature verification with `node:crypto` (OpenSSL): ed25519, ECDSA P-256 with SHA-256 (DER
 * signatures), and RSASSA-PSS with SHA-256 and MGF1-SHA-256.
 *
 * Behaviour follows securesystemslib `signer/_key.py` (`SSlibKey.verify_signature`, which uses
 * pyca/cryptography, i.e. OpenSSL as well):
 * - ed25519: `keyval.public` is the raw 32-byte key in hex; RFC 8032 verification as OpenSSL does
 *   it (S must be reduced; R compared by its canonical encoding). Unlike the reference, keys of
 *   small order or in non-canonical encoding are refused (see `isStrongEd25519PublicKey`): any
 *   message verifies under them.
 * - ECDSA: `keyval.public` is a SubjectPublicKeyInfo PEM on curve P-256 (any other curve is
 *   refused, as the reference's `_validate_curve` does); the signature is ASN.1 DER.
 * - RSA-PSS: `keyval.public` is a PEM public key; the salt length is *recovered* from the
 *   signature (`RSA_PSS_SALTLEN_AUTO`), the same as the reference's `PSS.AUTO`, so signatures
 *   made with any salt length verify. Signing (see `signer.ts`) uses the digest length (32).
 *   No minimum modulus size is enforced (the reference enforces none); choosing keys is the
 *   repository owner's job.
 *
 * Parsed `KeyObject`s are cached per (algorithm, public key string), negative results included,
 * so verifying thousands of signatures does not parse a PEM thousands of times. The cache is
 * bounded (oldest entry evicted first).
 *
 * Does not implement: other curves, RSA PKCS#1 v1.5, or any scheme outside the three above —
 * those verify as `false`.
 *
 * Pure apart from `node:crypto`; no I/O, no clock. Safe for concurrent use (JavaScript is
 * single-threaded; the cache is only ever filled with values that are equal for equal keys).
 *
 * @module
 */
import { constants, createPublicKey, type KeyObject, verify as nodeVerify } from 'node:crypto';
import {
  ED25519_PUBLIC_KEY_HEX_LENGTH,
  isStrongEd25519PublicKey,
  type KeyAlgorithm,
  keyAlgorithm,
  MAX_PUBLIC_KEY_LENGTH,
  MAX_SIGNATURE_LENGTH,
  type PublicKeyData,
  tryHexToBytes,
} from './keys.js';
import type { CryptoProvider } from './provider.js';

/** DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier 1.3.101.112, BIT STRING. */
// biome-ignore format: one DER header, kept on one line
const ED25519_SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);

/** Default bound of the parsed-key cache: far more keys than any sane repository lists. */
export const DEFAULT_MAX_CACHED_KEYS = 4096;

/** Options of {@link createNodeCryptoProvider}. */
export interface NodeCryptoProviderOptions {
  /** Most parsed public keys kept; the oldest is dropped beyond it. Default 4096. */
  readonly maxCachedKeys?: number;
}

/**
 * A {@link CryptoProvider} backed by `node:crypto`. Use {@link nodeCryptoProvider} (shared
 * instance) unless a separately bounded cache is wanted.
 */
export class NodeCryptoProvider implements CryptoProvider {
  readonly name = 'node';
  readonly #maxCachedKeys: number;
  /** (algorithm + "\n" + keyval.public) → parsed key, or `null` when the material is unusable. */
  readonly #cache = new Map<string, KeyObject | null>();

  constructor(options: NodeCryptoProviderOptions = {}) {
    const max = options.maxCachedKeys ?? DEFAULT_MAX_CACHED_KEYS;
    this.#maxCachedKeys = Number.isSafeInteger(max) && max > 0 ? max : DEFAULT_MAX_CACHED_KEYS;
  }

  /** Number of public keys currently parsed and cached (for diagnostics and tests). */
  get cachedKeyCount(): number {
    return this.#cache.size;
  }

  verify(key: PublicKeyData, signature: Uint8Array, data: Uint8Array): boolean {
    try {
      const algorithm = keyAlgorithm(key);
      if (algorithm === undefined) return false;
      if (!(signature instanceof Uint8Array) || !(data instanceof Uint8Array)) return false;
      if (signature.length === 0 || signature.length > MAX_SIGNATURE_LENGTH) return false;
      const keyObject = this.#keyObject(algorithm, key.keyval?.public);
      if (keyObject === null) return false;
      switch (algorithm) {
        case 'ed25519':
          return signature.length === 64 && nodeVerify(null, data, keyObject, signature);
        case 'ecdsa-sha2-nistp256':
          return nodeVerify('sha256', data, { key: keyObject, dsaEncoding: 'der' }, signature);
        case 'rsassa-pss-sha256':
          // MGF1 uses the signature digest (SHA-256) by default in OpenSSL; the salt length is
          // read from the signature, as the reference's `PSS.AUTO` does.
          return nodeVerify(
            'sha256',
            data,
            {
              key: keyObject,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_AUTO,
            },
            signature,
          );
      }
    } catch {
      // OpenSSL throws on some malformed signatures (e.g. an RSA signature longer than the
      // modulus). A signature that cannot be checked is not a valid signature.
      return false;
    }
  }

  #keyObject(algorithm: KeyAlgorithm, material: unknown): KeyObject | null {
    if (typeof material !== 'string' || material.length > MAX_PUBLIC_KEY_LENGTH) return null;
    const cacheKey = `${algorithm}\n${material}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const parsed = parsePublicKey(algorithm, material);
    if (this.#cache.size >= this.#maxCachedKeys) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(cacheKey, parsed);
    return parsed;
  }
}

/**
 * Parse key material for `algorithm` into a `KeyObject`, or `null` when it is not usable for
 * that algorithm (wrong encoding, wrong key type, wrong curve, private key, certificate…).
 */
function parsePublicKey(algorithm: KeyAlgorithm, material: string): KeyObject | null {
  try {
    if (algorithm === 'ed25519') {
      if (material.length !== ED25519_PUBLIC_KEY_HEX_LENGTH) return null;
      const raw = tryHexToBytes(material, 32);
      // OpenSSL would accept a small-order key, for which trivial signatures verify on any data.
      if (raw === undefined || !isStrongEd25519PublicKey(raw)) return null;
      const der = new Uint8Array(ED25519_SPKI_PREFIX.length + raw.length);
      der.set(ED25519_SPKI_PREFIX);
      der.set(raw, ED25519_SPKI_PREFIX.length);
      return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    }
    // Only a single public-key PEM block: node would also derive a public key from a private
    // key or a certificate, and metadata holding those is malformed, not a key.
    if (!isSinglePublicKeyPem(material)) return null;
    const keyObject = createPublicKey({ key: material, format: 'pem' });
    if (algorithm === 'ecdsa-sha2-nistp256') {
      const ok =
        keyObject.asymmetricKeyType === 'ec' &&
        keyObject.asymmetricKeyDetails?.namedCurve === 'prime256v1';
      return ok ? keyObject : null;
    }
    return keyObject.asymmetricKeyType === 'rsa' ? keyObject : null;
  } catch {
    return null;
  }
}

const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/** Whether `text` holds exactly one PEM block, of type `PUBLIC KEY` or `RSA PUBLIC KEY`. */
function isSinglePublicKeyPem(text: string): boolean {
  const labels = [...text.matchAll(PEM_BEGIN)].map((m) => m[1]);
  return labels.length === 1 && (labels[0] === 'PUBLIC KEY' || labels[0] === 'RSA PUBLIC KEY');
}

/**
 * Create a node-backed provider with its own key cache.
 *
 * @example
 * ```ts
 * const provider = createNodeCryptoProvider({ maxCachedKeys: 64 });
 * provider.verify(key, signatureBytes, canonicalBytes);
 * ```
 */
export function createNodeCryptoProvider(
  options: NodeCryptoProviderOptions = {},
): NodeCryptoProvider {
  return new NodeCryptoProvider(options);
}

/**
 * The shared `node:crypto` provider: ed25519, ECDSA P-256, RSASSA-PSS-SHA256.
 *
 * @example
 * ```ts
 * import { nodeCryptoProvider } from 'tufota/crypto';
 * if (nodeCryptoProvider.verify(key, sig, bytes)) count++;
 * ```
 */
export const nodeCryptoProvider: NodeCryptoProvider = new NodeCryptoProvider();

/** The provider tufota uses unless told otherwise: {@link nodeCryptoProvider}. */
export const defaultCryptoProvider: CryptoProvider = nodeCryptoProvider;
