/**
 * `Key` and `Signature`: the public key objects of `root.keys` / `delegations.keys`, and the
 * entries of a metadata envelope's `signatures` list (TUF spec, "Document formats").
 *
 * Verification goes through a {@link CryptoProvider}; a key whose type or scheme is unknown, or
 * whose material is garbage, simply never verifies (it cannot count toward a threshold), as in the
 * reference implementation. Pure; safe for concurrent use.
 *
 * @module
 */
// Not the crypto barrel: it would load the noble provider, which a node client never uses.
import {
  computeKeyId,
  MAX_SIGNATURE_LENGTH,
  type PublicKeyData,
  tryHexToBytes,
} from '../crypto/keys.js';
import { defaultCryptoProvider } from '../crypto/node-provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { FieldReader, type Unrecognized } from './guards.js';

/** A public key as TUF metadata lists it. */
export class Key implements PublicKeyData {
  /** `keytype`: `ed25519`, `ecdsa`, `ecdsa-sha2-nistp256`, `rsa`, … */
  keytype: string;
  /** `scheme`: `ed25519`, `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`, … */
  scheme: string;
  /** `keyval`: `public` plus any unrecognized members. */
  keyval: { public: string; [field: string]: unknown };
  unrecognized: Unrecognized;

  constructor(
    keytype: string,
    scheme: string,
    keyval: { public: string; [field: string]: unknown },
    unrecognized: Unrecognized = {},
  ) {
    this.keytype = keytype;
    this.scheme = scheme;
    this.keyval = keyval;
    this.unrecognized = unrecognized;
  }

  /** Build a key from the public half of a signer or key pair. */
  static fromPublicKeyData(data: PublicKeyData): Key {
    return new Key(data.keytype, data.scheme, { public: data.keyval.public });
  }

  /** Parse a key object. */
  static fromJSON(value: unknown, path = 'key'): Key {
    const reader = new FieldReader(value, path);
    const keytype = reader.string('keytype');
    const scheme = reader.string('scheme');
    const keyvalReader = new FieldReader(reader.take('keyval'), reader.pathOf('keyval'));
    const publicValue = keyvalReader.string('public');
    return new Key(keytype, scheme, { ...keyvalReader.rest(), public: publicValue }, reader.rest());
  }

  toJSON(): Record<string, unknown> {
    return {
      ...this.unrecognized,
      keytype: this.keytype,
      scheme: this.scheme,
      keyval: { ...this.keyval },
    };
  }

  /**
   * The key id the reference computes: lowercase hex sha256 of the canonical key object
   * (`keytype`, `scheme`, `keyval.public`, and `keyid_hash_algorithms` where an older tool wrote
   * it, since such key ids cover it).
   */
  keyId(): string {
    return computeKeyId(this.toJSON() as unknown as PublicKeyData);
  }

  /**
   * Verify one signature over `data`. Never throws for bad signatures or unusable keys: it
   * answers `false`, so such keys never count toward a threshold.
   */
  verifySignature(
    signature: Signature,
    data: Uint8Array,
    provider: CryptoProvider = defaultCryptoProvider,
  ): boolean {
    const sig = tryHexToBytes(signature.sig, MAX_SIGNATURE_LENGTH);
    if (sig === undefined) return false;
    return provider.verify(this, sig, data);
  }
}

/** One entry of `signatures`: which key signed, and the signature in hex. */
export class Signature {
  constructor(
    public keyid: string,
    public sig: string,
    public unrecognized: Unrecognized = {},
  ) {}

  static fromJSON(value: unknown, path = 'signature'): Signature {
    const reader = new FieldReader(value, path);
    const keyid = reader.string('keyid');
    const sig = reader.string('sig');
    return new Signature(keyid, sig, reader.rest());
  }

  toJSON(): Record<string, unknown> {
    return { ...this.unrecognized, keyid: this.keyid, sig: this.sig };
  }
}
