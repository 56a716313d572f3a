/**
 * Public keys as TUF metadata carries them, and their key ids.
 *
 * Implements:
 * - the key object of TUF 1.0 §4.2 ("KEY"): `{keytype, scheme, keyval: {public}}`, with the key
 *   types and schemes securesystemslib names (`ed25519`/`ed25519`, `ecdsa`/`ecdsa-sha2-nistp256`
 *   and its deprecated keytype spelling `ecdsa-sha2-nistp256`, `rsa`/`rsassa-pss-sha256`);
 * - {@link computeKeyId}: the lowercase hex SHA-256 of the canonical JSON of the key object, as
 *   securesystemslib `signer/_utils.py` `compute_default_keyid` does, plus the legacy
 *   `keyid_hash_algorithms` field when the key object carries it (securesystemslib's old
 *   `keys.py` `_get_keyid` hashed that field too, and keys written by it still live in
 *   repositories: the python-tuf test repository is one);
 * - `isStrongEd25519PublicKey` (from `ed25519-strict-key.ts`): refuses small-order and
 *   non-canonical ed25519 keys;
 * - strict hex helpers used for key and signature material.
 *
 * Does not implement: verification (see `provider.ts`), private keys (see `signer.ts`), or any
 * check that a key id listed in metadata *is* the hash of its key — the reference does not make
 * that check either (its `Key` docs: "Keyid is not verified to be the hash of a specific
 * representation of the key"), and python-tuf's own generated test metadata uses hard-coded ids
 * (`tests/generated_data/generate_md.py`). Callers match signatures to keys through the key ids
 * the delegator lists.
 *
 * Pure: no I/O, no clock, no `node:crypto` (so runtimes without it can use the noble provider),
 * and no noble either (`sha256.ts`, `ed25519-strict-key.ts`): a client on `node:crypto` never
 * loads it.
 * Safe for concurrent use: every function is stateless.
 *
 * @module
 */
import { encodeCanonical } from '../canonical/index.js';
import { FormatError } from '../errors.js';
import { sha256 } from './sha256.js';

export { isStrongEd25519PublicKey } from './ed25519-strict-key.js';

/** Key types tufota understands, named as TUF metadata names them. */
export const KeyType = {
  ed25519: 'ed25519',
  ecdsa: 'ecdsa',
  /** Deprecated spelling of `ecdsa` still accepted by securesystemslib (and so by us). */
  ecdsaSha2Nistp256: 'ecdsa-sha2-nistp256',
  rsa: 'rsa',
} as const;

/** Signature schemes tufota understands, named as TUF metadata names them. */
export const SignatureScheme = {
  ed25519: 'ed25519',
  ecdsaSha2Nistp256: 'ecdsa-sha2-nistp256',
  rsassaPssSha256: 'rsassa-pss-sha256',
} as const;

/** One of the {@link SignatureScheme} values. */
export type SignatureSchemeName = (typeof SignatureScheme)[keyof typeof SignatureScheme];

/**
 * A public key as it appears in TUF metadata (`root.keys`, `delegations.keys`).
 *
 * Wire names on purpose: a key object parsed from metadata can be passed as it is.
 *
 * @example
 * ```ts
 * const key: PublicKeyData = {
 *   keytype: 'ed25519',
 *   scheme: 'ed25519',
 *   keyval: { public: 'edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd' },
 * };
 * ```
 */
export interface PublicKeyData {
  /** `ed25519`, `ecdsa` (or legacy `ecdsa-sha2-nistp256`), `rsa`, or a type we do not know. */
  readonly keytype: string;
  /** `ed25519`, `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`, or a scheme we do not know. */
  readonly scheme: string;
  /** Key material: 64 hex characters for ed25519, a SubjectPublicKeyInfo PEM otherwise. */
  readonly keyval: { readonly public: string };
  /**
   * Legacy field written by securesystemslib before 0.26 (always `["sha256", "sha512"]`). It
   * takes part in the key id when present; tufota never writes it.
   */
  readonly keyid_hash_algorithms?: readonly string[];
}

/**
 * The signature algorithm a (keytype, scheme) pair resolves to. The two ECDSA keytype spellings
 * resolve to the same algorithm.
 */
export type KeyAlgorithm = 'ed25519' | 'ecdsa-sha2-nistp256' | 'rsassa-pss-sha256';

/**
 * Longest `keyval.public` string accepted (characters). An RSA-16384 SubjectPublicKeyInfo PEM is
 * about 2.8 KB; anything much longer is not a key we could use.
 */
export const MAX_PUBLIC_KEY_LENGTH = 16 * 1024;

/** Longest signature accepted (bytes): an RSA-16384 signature. ed25519 is 64, P-256 DER ≤ 72. */
export const MAX_SIGNATURE_LENGTH = 2048;

/** Length in hex characters of an ed25519 public key (32 bytes). */
export const ED25519_PUBLIC_KEY_HEX_LENGTH = 64;

/**
 * Resolve a key's (keytype, scheme) to the algorithm that verifies it, or `undefined` when the
 * pair is not one tufota implements or the object does not have the shape of a key.
 * Does not look at the key material.
 *
 * @example
 * ```ts
 * keyAlgorithm({ keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } });
 * // → 'ecdsa-sha2-nistp256'
 * ```
 */
export function keyAlgorithm(key: PublicKeyData): KeyAlgorithm | undefined {
  if (typeof key !== 'object' || key === null) return undefined;
  const { keytype, scheme } = key;
  if (keytype === KeyType.ed25519 && scheme === SignatureScheme.ed25519) return 'ed25519';
  if (
    (keytype === KeyType.ecdsa || keytype === KeyType.ecdsaSha2Nistp256) &&
    scheme === SignatureScheme.ecdsaSha2Nistp256
  ) {
    return 'ecdsa-sha2-nistp256';
  }
  if (keytype === KeyType.rsa && scheme === SignatureScheme.rsassaPssSha256) {
    return 'rsassa-pss-sha256';
  }
  return undefined;
}

/**
 * Whether tufota implements this key's (keytype, scheme). Verification of a key that is not
 * supported always yields `false`; callers use this to tell "unsupported key" apart from "bad
 * signature" in their reports. Does not validate the key material itself.
 *
 * @example
 * ```ts
 * if (!isSupportedKey(key)) log(`key ${keyid} uses ${key.keytype}/${key.scheme}: ignored`);
 * ```
 */
export function isSupportedKey(key: PublicKeyData): boolean {
  return keyAlgorithm(key) !== undefined;
}

/**
 * Compute a key's id: lowercase hex SHA-256 of the OLPC canonical JSON of
 * `{keytype, scheme, keyval: {public}}` — plus `keyid_hash_algorithms` when the key object has it,
 * as securesystemslib's legacy `_get_keyid` did, so ids of keys written by older tools come out
 * the same. Only `keyval.public` is hashed (a private part, if any, never is).
 *
 * @throws {FormatError} `ERR_TUF_FORMAT` when the object is not a key (missing or non-string
 *   fields, an over-long public key).
 *
 * @example
 * ```ts
 * computeKeyId({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: hex } });
 * // → '…64 hex characters…'
 * ```
 */
export function computeKeyId(key: PublicKeyData): string {
  assertPublicKeyShape(key);
  const keyObject: Record<string, unknown> = {
    keytype: key.keytype,
    scheme: key.scheme,
    keyval: { public: key.keyval.public },
  };
  const legacy = key.keyid_hash_algorithms;
  if (legacy !== undefined) {
    if (!Array.isArray(legacy) || !legacy.every((a) => typeof a === 'string')) {
      throw new FormatError('keyid_hash_algorithms must be an array of strings', {
        path: 'keyid_hash_algorithms',
      });
    }
    keyObject.keyid_hash_algorithms = [...legacy];
  }
  return bytesToHex(sha256(encodeCanonical(keyObject)));
}

/**
 * Throw unless `key` has the shape of a {@link PublicKeyData}: string `keytype`, `scheme` and
 * `keyval.public`, the last no longer than {@link MAX_PUBLIC_KEY_LENGTH}.
 *
 * @throws {FormatError} `ERR_TUF_FORMAT`, with `path` naming the bad field.
 */
export function assertPublicKeyShape(key: unknown): asserts key is PublicKeyData {
  if (typeof key !== 'object' || key === null) {
    throw new FormatError('a key must be an object', { path: '' });
  }
  const k = key as Record<string, unknown>;
  if (typeof k.keytype !== 'string') {
    throw new FormatError('key field keytype must be a string', { path: 'keytype' });
  }
  if (typeof k.scheme !== 'string') {
    throw new FormatError('key field scheme must be a string', { path: 'scheme' });
  }
  const keyval = k.keyval;
  if (typeof keyval !== 'object' || keyval === null) {
    throw new FormatError('key field keyval must be an object', { path: 'keyval' });
  }
  const pub = (keyval as Record<string, unknown>).public;
  if (typeof pub !== 'string') {
    throw new FormatError('key field keyval.public must be a string', { path: 'keyval.public' });
  }
  if (pub.length > MAX_PUBLIC_KEY_LENGTH) {
    throw new FormatError(
      `key field keyval.public is ${pub.length} characters long; at most ${MAX_PUBLIC_KEY_LENGTH} are accepted`,
      { path: 'keyval.public' },
    );
  }
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Whether `text` is an even-length string of hex digits (either case, as Python's
 * `bytes.fromhex` — which securesystemslib decodes signatures with — accepts).
 */
export function isHex(text: string): boolean {
  return typeof text === 'string' && HEX_RE.test(text);
}

/**
 * Decode hex (either case) to bytes, or return `undefined` when `text` is not even-length hex or
 * would decode to more than `maxBytes` bytes. Never throws: for untrusted key and signature
 * material whose failure must simply not count.
 */
export function tryHexToBytes(text: string, maxBytes: number): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length > maxBytes * 2 || !HEX_RE.test(text)) {
    return undefined;
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/**
 * Decode hex (either case) to bytes.
 *
 * @throws {FormatError} `ERR_TUF_FORMAT` when `text` is not even-length hex or is longer than
 *   `maxBytes` bytes.
 *
 * @example
 * ```ts
 * const sig = hexToBytes(signature.sig, MAX_SIGNATURE_LENGTH);
 * ```
 */
export function hexToBytes(text: string, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  const bytes = tryHexToBytes(text, maxBytes);
  if (bytes === undefined) {
    const shown = typeof text === 'string' ? `${text.length} characters` : typeof text;
    throw new FormatError(
      `expected an even-length hex string of at most ${maxBytes} bytes, got ${shown}`,
    );
  }
  return bytes;
}

const HEX_DIGITS = '0123456789abcdef';

/** Encode bytes as lowercase hex. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  return out;
}
