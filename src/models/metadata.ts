/**
 * `Metadata<T>`: the signed envelope `{"signed": T, "signatures": [...]}` around every role
 * (TUF spec, "Document formats", "Metaformat"), with parsing from untrusted bytes, canonical
 * signed bytes, signing and threshold verification of delegated metadata.
 *
 * What is signed is the canonical JSON (OLPC, as securesystemslib encodes it) of `signed`. The
 * model round-trips losslessly (unrecognized fields included), so re-encoding a parsed `signed`
 * gives the bytes its signers signed; tests prove it on metadata made by python-tuf.
 *
 * Pure; safe for concurrent reads. Verification never throws for a bad individual signature:
 * it counts valid signatures by distinct key material and throws only when the threshold is not
 * met.
 *
 * @module
 */
import { encodeCanonical, parseJson, parseJsonWithCanonicalMember } from '../canonical/index.js';
// Not the crypto barrel: it would load the noble provider, which a node client never uses.
import { publicKeyFingerprint } from '../crypto/key-fingerprint.js';
import { bytesToHex } from '../crypto/keys.js';
import { defaultCryptoProvider } from '../crypto/node-provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { Signer } from '../crypto/signer.js';
import {
  CanonicalJsonError,
  FormatError,
  RepositoryError,
  UnsignedMetadataError,
} from '../errors.js';
import { FieldReader, getOwn, isObject, type Unrecognized } from './guards.js';
import { type Key, Signature } from './key.js';
import type { Role } from './role.js';
import { Root } from './root.js';
import type { SignedType } from './signed.js';
import { Snapshot } from './snapshot.js';
import { Targets } from './targets.js';
import { Timestamp } from './timestamp.js';

/** Any role's signed portion. */
export type AnySigned = Root | Timestamp | Snapshot | Targets;

/** Map from `_type` to the model class. */
export interface SignedTypes {
  root: Root;
  timestamp: Timestamp;
  snapshot: Snapshot;
  targets: Targets;
}

/** Options for parsing metadata bytes. */
export interface ParseOptions {
  /** Deepest JSON nesting accepted (default 64: TUF metadata nests a handful of levels). */
  maxDepth?: number;
}

/** Which keys signed, which did not, and whether the threshold is met. */
export interface VerificationResult {
  /** True when at least `threshold` distinct trusted keys (by key material) signed. */
  verified: boolean;
  threshold: number;
  /** Key ids of the role whose signature verifies and counts (one per distinct key). */
  signed: Set<string>;
  /** Key ids of the role with no valid signature. */
  unsigned: Set<string>;
  /**
   * Key ids whose signature verifies but whose key material another key id of the role already
   * counted: the same key listed twice. They do not count toward the threshold.
   */
  duplicates: Set<string>;
}

/**
 * The signed envelope of a role.
 *
 * @example
 * ```ts
 * const root = Metadata.fromBytes(rootBytes, 'root');
 * const timestamp = Metadata.fromBytes(timestampBytes, 'timestamp');
 * root.verifyDelegate('timestamp', timestamp); // throws UnsignedMetadataError below threshold
 * ```
 */
export class Metadata<T extends AnySigned = AnySigned> {
  signed: T;
  /** Key id → signature, in the order they appear on the wire. */
  signatures: Map<string, Signature>;
  unrecognized: Unrecognized;

  constructor(
    signed: T,
    signatures: Map<string, Signature> = new Map(),
    unrecognized: Unrecognized = {},
  ) {
    this.signed = signed;
    this.signatures = signatures;
    this.unrecognized = unrecognized;
  }

  /**
   * Parse untrusted metadata bytes. Strict: the JSON parser refuses floats, huge integers,
   * duplicate keys and deep nesting; every field is type-checked.
   *
   * @param expectedType - when given, any other `_type` is a {@link FormatError}.
   * @throws FormatError (incl. CanonicalJsonError, UnsafePathError) on malformed input.
   */
  static fromBytes<K extends SignedType>(
    bytes: Uint8Array,
    expectedType: K,
    options?: ParseOptions,
  ): Metadata<SignedTypes[K]>;
  static fromBytes(bytes: Uint8Array, expectedType?: undefined, options?: ParseOptions): Metadata;
  static fromBytes(
    bytes: Uint8Array,
    expectedType?: SignedType,
    options: ParseOptions = {},
  ): Metadata {
    const value = parseJson(bytes, { maxDepth: options.maxDepth ?? 64 });
    return Metadata.fromJSON(value, expectedType);
  }

  /**
   * Parse untrusted metadata bytes for verification: the model, and the canonical JSON of
   * `signed` computed from the parsed value itself, before any model exists — the bytes the
   * signers signed. Pass them to {@link Metadata.verifyDelegate} so it does not rebuild a JSON
   * tree from the model: for a role listing 100,000 targets that costs as much as parsing.
   *
   * They are the same bytes as `metadata.signedBytes()`: every model class reads each field it
   * knows into a value it writes back unchanged (`expires` only in the one format that formats
   * back identically), keeps every other field in `unrecognized`, and writes optional fields
   * back only when present; canonical JSON sorts keys, so order does not matter. The spec
   * `spec/models/signed-bytes.spec.ts` checks the equality on every metadata fixture and on
   * generated metadata with unrecognized fields.
   *
   * When the bytes of `signed` in the input are already canonical JSON (metadata written by
   * {@link Metadata.toBytes}, or any compact, key-sorted writer), the parser proves it while
   * reading and those bytes are returned as they are, a view into `bytes`: nothing is encoded.
   *
   * @throws FormatError (incl. CanonicalJsonError, UnsafePathError) on malformed input.
   */
  static fromBytesForVerification<K extends SignedType>(
    bytes: Uint8Array,
    expectedType: K,
    options: ParseOptions = {},
  ): { metadata: Metadata<SignedTypes[K]>; signedBytes: Uint8Array } {
    const { value, canonicalMember } = parseJsonWithCanonicalMember(bytes, 'signed', {
      maxDepth: options.maxDepth ?? 64,
    });
    const metadata = Metadata.fromJSON(value, expectedType);
    // fromJSON checked that `value` is an object whose `signed` is a valid role, and it reads
    // the parsed value without changing it.
    const signedBytes =
      canonicalMember ?? encodeCanonical((value as Record<string, unknown>).signed);
    return { metadata, signedBytes };
  }

  /** Parse an already-decoded JSON value (see {@link Metadata.fromBytes}). */
  static fromJSON<K extends SignedType>(value: unknown, expectedType: K): Metadata<SignedTypes[K]>;
  static fromJSON(value: unknown, expectedType?: SignedType): Metadata;
  static fromJSON(value: unknown, expectedType?: SignedType): Metadata {
    const reader = new FieldReader(value, 'metadata');
    const signedJson = reader.take('signed');
    const type = isObject(signedJson) ? signedJson._type : undefined;
    if (expectedType !== undefined && type !== expectedType) {
      throw new FormatError(
        `expected ${expectedType} metadata, got _type ${JSON.stringify(type ?? null)}`,
        {
          path: 'signed._type',
        },
      );
    }
    let signed: AnySigned;
    switch (type) {
      case 'root':
        signed = Root.fromJSON(signedJson);
        break;
      case 'timestamp':
        signed = Timestamp.fromJSON(signedJson);
        break;
      case 'snapshot':
        signed = Snapshot.fromJSON(signedJson);
        break;
      case 'targets':
        signed = Targets.fromJSON(signedJson);
        break;
      default:
        throw new FormatError(
          `signed._type must be root, timestamp, snapshot or targets, got ${JSON.stringify(type ?? null)}`,
          { path: 'signed._type' },
        );
    }
    const signaturesJson = reader.take('signatures');
    if (!Array.isArray(signaturesJson)) {
      throw new FormatError('signatures must be an array', { path: 'signatures' });
    }
    const signatures = new Map<string, Signature>();
    signaturesJson.forEach((s, i) => {
      const signature = Signature.fromJSON(s, `signatures[${i}]`);
      // The reference refuses this too: two entries for one key id are ambiguous.
      if (signatures.has(signature.keyid)) {
        throw new FormatError(`signatures lists key id ${signature.keyid} more than once`, {
          path: `signatures[${i}]`,
        });
      }
      signatures.set(signature.keyid, signature);
    });
    return new Metadata(signed, signatures, reader.rest());
  }

  /** The envelope as a JSON value. */
  toJSON(): Record<string, unknown> {
    return {
      ...this.unrecognized,
      signatures: [...this.signatures.values()].map((s) => s.toJSON()),
      signed: this.signed.toJSON(),
    };
  }

  /**
   * Serialize for storage or serving, as UTF-8 JSON.
   *
   * Without `indent`: the canonical JSON of the whole envelope (keys sorted, no whitespace)
   * whenever that is also valid JSON, i.e. no string holds a control character, which canonical
   * JSON leaves unescaped. The bytes of `signed` are then exactly what the signatures cover, so
   * a client can verify them without re-encoding (`Metadata.fromBytesForVerification`). When a
   * string does hold one, standard `JSON.stringify` output (keys as the model orders them).
   * With `indent`: `JSON.stringify` output indented by that many spaces, for people to read.
   */
  toBytes(options: { indent?: number } = {}): Uint8Array {
    const json = this.toJSON();
    if (options.indent === undefined) {
      let canonical: Uint8Array | undefined;
      try {
        canonical = encodeCanonical(json);
      } catch (error) {
        // A value only JSON.stringify can write (it could not be signed either): write it so.
        if (!(error instanceof CanonicalJsonError)) throw error;
      }
      if (canonical !== undefined && !hasControlByte(canonical)) return canonical;
    }
    return new TextEncoder().encode(JSON.stringify(json, null, options.indent));
  }

  /** The canonical JSON bytes of `signed`: what signatures cover. */
  signedBytes(): Uint8Array {
    return encodeCanonical(this.signed.toJSON());
  }

  /**
   * Sign `signed` with `signer`.
   *
   * @param append - keep other keys' signatures (threshold signing); otherwise replace them all.
   *   A previous signature by the same key is always replaced.
   */
  async sign(signer: Signer, options: { append?: boolean } = {}): Promise<Signature> {
    const signatureBytes = await signer.sign(this.signedBytes());
    const signature = new Signature(signer.keyid, bytesToHex(signatureBytes));
    if (!options.append) this.signatures.clear();
    this.signatures.set(signer.keyid, signature);
    return signature;
  }

  /**
   * Which of `roleName`'s keys signed `delegate`, per this metadata's delegation (a root for
   * top-level roles, a targets role for delegated ones).
   */
  getVerificationResult(
    roleName: string,
    delegate: Metadata,
    provider: CryptoProvider = defaultCryptoProvider,
    signedBytes?: Uint8Array,
  ): VerificationResult {
    const { keys, role } = this.delegationFor(roleName);
    const data = signedBytes ?? delegate.signedBytes();
    const signed = new Set<string>();
    const unsigned = new Set<string>();
    const duplicates = new Set<string>();
    // Count distinct key material, not key ids (key ids are unique, checked on parse, but one
    // public key can be listed under two ids). As go-tuf does (VerifyDelegate counts verified
    // public-key fingerprints) and python-tuf's legacy `tuf.sig.verify` did, a duplicate is
    // ignored, not refused: the metadata stays valid if enough other keys signed. tough instead
    // refuses any key whose id is not the hash of the key at parse time; we accept custom key
    // ids (TAP 12), so we cannot.
    const counted = new Set<string>();
    for (const keyid of role.keyids) {
      const key: Key | undefined = getOwn(keys, keyid);
      const signature = delegate.signatures.get(keyid);
      if (
        key === undefined ||
        signature === undefined ||
        !key.verifySignature(signature, data, provider)
      ) {
        unsigned.add(keyid);
        continue;
      }
      const fingerprint = publicKeyFingerprint(key) ?? `keyid:${keyid}`;
      if (counted.has(fingerprint)) {
        duplicates.add(keyid);
      } else {
        counted.add(fingerprint);
        signed.add(keyid);
      }
    }
    return {
      verified: signed.size >= role.threshold,
      threshold: role.threshold,
      signed,
      unsigned,
      duplicates,
    };
  }

  /**
   * Verify that a threshold of distinct keys trusted for `roleName` signed `delegate`.
   * Signatures by keys the role does not list are ignored, not errors.
   *
   * @throws UnsignedMetadataError naming the role, version, and how many valid signatures of how
   *   many needed.
   */
  verifyDelegate(
    roleName: string,
    delegate: Metadata,
    provider: CryptoProvider = defaultCryptoProvider,
    signedBytes?: Uint8Array,
  ): void {
    const result = this.getVerificationResult(roleName, delegate, provider, signedBytes);
    if (!result.verified) {
      throw new UnsignedMetadataError(
        `${roleName} version ${delegate.signed.version} has ${result.signed.size} valid signature(s) from trusted keys, ` +
          `${result.threshold} needed (keys without a valid signature: ${[...result.unsigned].join(', ') || 'none'}` +
          `${result.duplicates.size > 0 ? `; not counted, same key as another key id: ${[...result.duplicates].join(', ')}` : ''})`,
        { role: roleName },
      );
    }
  }

  private delegationFor(roleName: string): { keys: Record<string, Key>; role: Role } {
    const signed = this.signed;
    if (signed instanceof Root) {
      return { keys: signed.keys, role: signed.getRole(roleName) };
    }
    if (signed instanceof Targets) {
      const role = signed.delegations?.getRole(roleName);
      if (signed.delegations === undefined || role === undefined) {
        throw new RepositoryError(`${roleName} is not delegated by this targets role`, {
          role: roleName,
        });
      }
      return { keys: signed.delegations.keys, role };
    }
    throw new RepositoryError(
      `${signed.type} metadata delegates no roles (asked for ${roleName})`,
      { role: roleName },
    );
  }
}

/**
 * Whether canonical JSON `bytes` hold a byte below 0x20: canonical JSON writes no whitespace
 * outside strings, so such a byte is a control character inside a string.
 */
function hasControlByte(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! < 0x20) return true;
  return false;
}
