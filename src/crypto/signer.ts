/**
 * Signers: objects that produce TUF signatures for one key.
 *
 * Implements the {@link Signer} interface (asynchronous, so that HSMs, cloud KMSs and external
 * commands fit behind it) and {@link InMemorySigner}, which holds a private key in memory and
 * signs with `node:crypto`:
 * - ed25519 (RFC 8032, deterministic: the same key and bytes give the same signature as
 *   securesystemslib's `CryptoSigner`);
 * - ECDSA P-256 with SHA-256, DER-encoded signatures (keytype `ecdsa`, or the deprecated
 *   `ecdsa-sha2-nistp256` on request);
 * - RSASSA-PSS with SHA-256, MGF1-SHA-256 and a salt as long as the digest (32 bytes), as
 *   securesystemslib `signer/_crypto_signer.py` does (`PSS.DIGEST_LENGTH`). Verifiers accept any
 *   salt length (see `node-provider.ts`).
 *
 * Private keys come from PEM (PKCS#8, encrypted or not; traditional PEM is read too) and are
 * exported as PKCS#8 PEM, encrypted with AES-256-CBC under a password-derived key (PBES2/PBKDF2,
 * OpenSSL defaults) when a password is given.
 *
 * Does not implement: reading or writing key files (see `src/signers/file-signer.ts`), external
 * signers (`src/signers/command-signer.ts`), key types other than the three above.
 *
 * Pure apart from `node:crypto`: no file system, no clock. Safe for concurrent use: a signer's
 * state never changes after construction, and signing runs on libuv's thread pool.
 *
 * @module
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  sign as nodeSign,
} from 'node:crypto';
import { promisify } from 'node:util';
import {
  InvalidStateError,
  KeyFileError,
  SignerError,
  UnsupportedAlgorithmError,
} from '../errors.js';
import {
  bytesToHex,
  computeKeyId,
  type KeyAlgorithm,
  KeyType,
  keyAlgorithm,
  type PublicKeyData,
  SignatureScheme,
} from './keys.js';
import { encryptedPemDamage } from './pem-structure.js';

/**
 * Produces signatures for one key. Implementations: {@link InMemorySigner}, `FileSigner`,
 * `CommandSigner`, or your own (HSM, KMS).
 *
 * @example
 * ```ts
 * const sig = await signer.sign(encodeCanonical(metadata.signed));
 * signatures.push({ keyid: signer.keyid, sig: bytesToHex(sig) });
 * ```
 */
export interface Signer {
  /** The key id metadata lists for {@link publicKey}. */
  readonly keyid: string;
  /** The public half, as TUF metadata carries it. */
  readonly publicKey: PublicKeyData;
  /** Sign `data` (the canonical bytes of `signed`) and return the raw signature bytes. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Key types {@link InMemorySigner.generate} can create. */
export type GenerateKeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** Options of {@link InMemorySigner.generate}. */
export interface GenerateOptions {
  /** RSA modulus size in bits; at least 2048. Default 3072 (as securesystemslib). */
  readonly rsaModulusLength?: number;
  /**
   * Keytype to write for ECDSA keys: `ecdsa` (default, current) or the deprecated
   * `ecdsa-sha2-nistp256` that some older repositories use.
   */
  readonly ecdsaKeytype?: 'ecdsa' | 'ecdsa-sha2-nistp256';
  /** Key id to use instead of the computed one (to match an existing repository). */
  readonly keyid?: string;
}

/** Options of {@link InMemorySigner.fromPem} and {@link publicKeyFromPrivatePem}. */
export interface FromPemOptions {
  /** Password of an encrypted PEM. Ignored for an unencrypted one. */
  readonly password?: string;
  /** Signature scheme; default the one scheme tufota implements for the key's type. */
  readonly scheme?: string;
  /** Keytype to write (only `ecdsa` vs. `ecdsa-sha2-nistp256` is a real choice). */
  readonly keytype?: string;
  /** Key id to use instead of the computed one. */
  readonly keyid?: string;
}

/** Largest private key PEM accepted (characters); an RSA-16384 PKCS#8 PEM is about 13 KB. */
export const MAX_PRIVATE_KEY_PEM_LENGTH = 64 * 1024;

/** Smallest RSA modulus {@link InMemorySigner.generate} will create. */
export const MIN_RSA_MODULUS_LENGTH = 2048;

/** Cipher used to encrypt exported private keys. */
export const PRIVATE_KEY_CIPHER = 'aes-256-cbc';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Why {@link readPrivateKeyPem} could not read a private key. */
export type PrivateKeyProblem =
  | 'too-large'
  | 'not-pem'
  | 'password-required'
  | 'wrong-password'
  | 'malformed'
  | 'unsupported';

/** Result of {@link readPrivateKeyPem}: a key, or the reason there is none. */
export type ReadPrivateKeyResult =
  | { readonly ok: true; readonly keyObject: KeyObject; readonly encrypted: boolean }
  | { readonly ok: false; readonly problem: PrivateKeyProblem; readonly detail: string };

const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/**
 * Parse a private key PEM without throwing, and say what is wrong when it cannot be used: the
 * building block for {@link InMemorySigner.fromPem} and the file signer, which word their errors
 * differently. Accepts exactly one PEM block labelled `… PRIVATE KEY` holding an ed25519, P-256
 * or RSA key.
 *
 * @example
 * ```ts
 * const result = readPrivateKeyPem(pem, password);
 * if (!result.ok && result.problem === 'wrong-password') askAgain();
 * ```
 */
export function readPrivateKeyPem(pem: string, password?: string): ReadPrivateKeyResult {
  if (typeof pem !== 'string') return fail('not-pem', 'the private key is not a string');
  if (pem.length > MAX_PRIVATE_KEY_PEM_LENGTH) {
    return fail(
      'too-large',
      `the private key PEM is ${pem.length} characters; at most ${MAX_PRIVATE_KEY_PEM_LENGTH} are accepted`,
    );
  }
  const labels = [...pem.matchAll(PEM_BEGIN)].map((m) => m[1] ?? '');
  if (labels.length !== 1 || !labels[0]!.endsWith('PRIVATE KEY')) {
    return fail(
      'not-pem',
      labels.length === 0
        ? 'no PEM block found (expected -----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)'
        : `expected one PEM private key block, found ${labels.length === 1 ? `a ${labels[0]} block` : `${labels.length} blocks`}`,
    );
  }
  const encrypted = labels[0] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
  if (encrypted && (password === undefined || password === '')) {
    // A damaged file is reported as such before anyone is sent looking for its password.
    const damage = encryptedPemDamage(pem);
    if (damage !== undefined) return fail('malformed', damage);
    return fail('password-required', 'the private key is encrypted and no password was given');
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(
      encrypted ? { key: pem, format: 'pem', passphrase: password } : { key: pem, format: 'pem' },
    );
  } catch (error) {
    const message = (error as Error).message;
    if (!encrypted) return fail('malformed', `cannot parse the private key: ${message}`);
    // A broken envelope (truncated, altered) is damage whatever the password.
    const damage = encryptedPemDamage(pem);
    if (damage !== undefined) return fail('malformed', damage);
    // With an intact envelope, a wrong password fails the block cipher's padding check ("bad
    // decrypt") with probability 255/256. Garbage that passes it means altered ciphertext (or,
    // rarely, a wrong password), so the message names both.
    if ((error as { code?: unknown }).code === 'ERR_OSSL_BAD_DECRYPT') {
      return fail('wrong-password', `cannot decrypt the private key: ${message}`);
    }
    return fail(
      'malformed',
      `the private key decrypts to bytes that are not a key: the file was altered (or, rarely, the password is wrong): ${message}`,
    );
  }
  const unsupported = unsupportedReason(keyObject);
  if (unsupported !== undefined) return fail('unsupported', unsupported);
  return { ok: true, keyObject, encrypted };
}

function fail(problem: PrivateKeyProblem, detail: string): ReadPrivateKeyResult {
  return { ok: false, problem, detail };
}

/** Why tufota cannot sign with this private key, or `undefined` if it can. */
function unsupportedReason(keyObject: KeyObject): string | undefined {
  const type = keyObject.asymmetricKeyType;
  if (type === 'ed25519' || type === 'rsa') return undefined;
  if (type === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    return curve === 'prime256v1'
      ? undefined
      : `ECDSA keys must be on curve P-256 (prime256v1), this one is on ${curve ?? 'an unknown curve'}`;
  }
  return `key type ${type ?? 'unknown'} is not supported (use ed25519, ECDSA P-256 or RSA)`;
}

/**
 * The TUF public key object of a `node:crypto` key (private or public): raw hex for ed25519, a
 * SubjectPublicKeyInfo PEM for ECDSA and RSA.
 *
 * @throws {UnsupportedAlgorithmError} `ERR_TUF_UNSUPPORTED_ALGORITHM` for a key type, curve,
 *   keytype or scheme tufota does not implement.
 *
 * @example
 * ```ts
 * const key = publicKeyDataFromKeyObject(createPublicKey(pem));
 * ```
 */
export function publicKeyDataFromKeyObject(
  keyObject: KeyObject,
  options: { readonly scheme?: string; readonly keytype?: string } = {},
): PublicKeyData {
  const reason = unsupportedReason(keyObject);
  if (reason !== undefined) throw new UnsupportedAlgorithmError(reason);
  const publicObject = keyObject.type === 'private' ? createPublicKey(keyObject) : keyObject;
  let keytype: string;
  let scheme: string;
  let material: string;
  switch (publicObject.asymmetricKeyType) {
    case 'ed25519': {
      const jwk = publicObject.export({ format: 'jwk' });
      material = bytesToHex(Buffer.from(String(jwk.x), 'base64url'));
      keytype = options.keytype ?? KeyType.ed25519;
      scheme = options.scheme ?? SignatureScheme.ed25519;
      break;
    }
    case 'ec':
      material = String(publicObject.export({ type: 'spki', format: 'pem' }));
      keytype = options.keytype ?? KeyType.ecdsa;
      scheme = options.scheme ?? SignatureScheme.ecdsaSha2Nistp256;
      break;
    default:
      material = String(publicObject.export({ type: 'spki', format: 'pem' }));
      keytype = options.keytype ?? KeyType.rsa;
      scheme = options.scheme ?? SignatureScheme.rsassaPssSha256;
  }
  const key: PublicKeyData = { keytype, scheme, keyval: { public: material } };
  const algorithm = keyAlgorithm(key);
  const expected = ALGORITHM_OF_NODE_TYPE[publicObject.asymmetricKeyType ?? ''];
  if (algorithm === undefined || algorithm !== expected) {
    throw new UnsupportedAlgorithmError(
      `keytype/scheme ${keytype}/${scheme} cannot be used with a ${publicObject.asymmetricKeyType} key ` +
        '(use ed25519/ed25519, ecdsa/ecdsa-sha2-nistp256 or rsa/rsassa-pss-sha256)',
    );
  }
  return key;
}

const ALGORITHM_OF_NODE_TYPE: Record<string, KeyAlgorithm> = {
  ed25519: 'ed25519',
  ec: 'ecdsa-sha2-nistp256',
  rsa: 'rsassa-pss-sha256',
};

/**
 * The TUF public key object of a private key PEM.
 *
 * @throws {KeyFileError} `ERR_TUF_KEY_FILE` when the PEM cannot be read (malformed, encrypted
 *   without or with a wrong password, unsupported key type).
 * @throws {UnsupportedAlgorithmError} for a `scheme`/`keytype` option that does not fit the key.
 *
 * @example
 * ```ts
 * const key = publicKeyFromPrivatePem(pem, { password });
 * root.keys[computeKeyId(key)] = key;
 * ```
 */
export function publicKeyFromPrivatePem(pem: string, options: FromPemOptions = {}): PublicKeyData {
  return publicKeyDataFromKeyObject(loadPrivateKey(pem, options.password), options);
}

function loadPrivateKey(pem: string, password: string | undefined): KeyObject {
  const result = readPrivateKeyPem(pem, password);
  if (!result.ok) throw new KeyFileError(`cannot load private key: ${result.detail}`);
  return result.keyObject;
}

/**
 * A signer holding its private key in memory.
 *
 * @example
 * ```ts
 * const signer = await InMemorySigner.generate('ed25519');
 * const sig = await signer.sign(bytes);
 * const pem = signer.exportPrivateKeyPem(password); // encrypted PKCS#8
 * const again = InMemorySigner.fromPem(pem, { password });
 * ```
 */
export class InMemorySigner implements Signer {
  readonly keyid: string;
  readonly publicKey: PublicKeyData;
  readonly #privateKey: KeyObject;
  readonly #algorithm: KeyAlgorithm;

  private constructor(privateKey: KeyObject, publicKey: PublicKeyData, keyid: string | undefined) {
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
    this.#algorithm = keyAlgorithm(publicKey)!;
    this.keyid = keyid ?? computeKeyId(publicKey);
  }

  /**
   * Generate a new key pair: ed25519, ECDSA P-256, or RSA (3072 bits unless told otherwise).
   * Asynchronous because RSA generation takes a noticeable time; it runs off the main thread.
   *
   * @throws {InvalidStateError} `ERR_TUF_INVALID_STATE` for an unknown key type or an RSA size
   *   below 2048 bits.
   */
  static async generate(
    keytype: GenerateKeyType,
    options: GenerateOptions = {},
  ): Promise<InMemorySigner> {
    let privateKey: KeyObject;
    let keytypeName: string | undefined;
    switch (keytype) {
      case 'ed25519':
        ({ privateKey } = await generateKeyPairAsync('ed25519'));
        break;
      case 'ecdsa':
        ({ privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' }));
        keytypeName = options.ecdsaKeytype ?? KeyType.ecdsa;
        break;
      case 'rsa': {
        const modulusLength = options.rsaModulusLength ?? 3072;
        if (!Number.isSafeInteger(modulusLength) || modulusLength < MIN_RSA_MODULUS_LENGTH) {
          throw new InvalidStateError(
            `RSA keys must have at least ${MIN_RSA_MODULUS_LENGTH} bits, ${modulusLength} was asked for`,
          );
        }
        ({ privateKey } = await generateKeyPairAsync('rsa', {
          modulusLength,
          publicExponent: 0x10001,
        }));
        break;
      }
      default:
        throw new InvalidStateError(
          `cannot generate a key of type ${String(keytype)} (use ed25519, ecdsa or rsa)`,
        );
    }
    const publicKey = publicKeyDataFromKeyObject(
      privateKey,
      keytypeName === undefined ? {} : { keytype: keytypeName },
    );
    return new InMemorySigner(privateKey, publicKey, options.keyid);
  }

  /**
   * Load a private key PEM (PKCS#8, encrypted or not).
   *
   * @throws {KeyFileError} `ERR_TUF_KEY_FILE` when the PEM is malformed, encrypted and the
   *   password is missing or wrong, or holds a key type tufota cannot sign with.
   * @throws {UnsupportedAlgorithmError} `ERR_TUF_UNSUPPORTED_ALGORITHM` when `scheme`/`keytype`
   *   do not fit the key.
   */
  static fromPem(pem: string, options: FromPemOptions = {}): InMemorySigner {
    return InMemorySigner.fromKeyObject(loadPrivateKey(pem, options.password), options);
  }

  /**
   * Wrap a `node:crypto` private key.
   *
   * @throws {UnsupportedAlgorithmError} for a key type, curve or scheme tufota does not implement.
   * @throws {InvalidStateError} when `privateKey` is not a private key.
   */
  static fromKeyObject(
    privateKey: KeyObject,
    options: Pick<FromPemOptions, 'scheme' | 'keytype' | 'keyid'> = {},
  ): InMemorySigner {
    if (privateKey.type !== 'private') {
      throw new InvalidStateError(`a signer needs a private key, got a ${privateKey.type} key`);
    }
    const publicKey = publicKeyDataFromKeyObject(privateKey, options);
    return new InMemorySigner(privateKey, publicKey, options.keyid);
  }

  /**
   * Sign `data`. Runs on libuv's thread pool.
   *
   * @throws {SignerError} `ERR_TUF_SIGNER` if OpenSSL fails.
   */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    const key = this.#privateKey;
    return new Promise((resolve, reject) => {
      const done = (error: Error | null, signature: Buffer) => {
        if (error) {
          reject(
            new SignerError(`signing with key ${this.keyid} failed: ${error.message}`, {
              cause: error,
            }),
          );
        } else {
          resolve(new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength));
        }
      };
      switch (this.#algorithm) {
        case 'ed25519':
          nodeSign(null, data, key, done);
          break;
        case 'ecdsa-sha2-nistp256':
          nodeSign('sha256', data, { key, dsaEncoding: 'der' }, done);
          break;
        case 'rsassa-pss-sha256':
          // Salt as long as the digest, as the reference signer (PSS.DIGEST_LENGTH).
          nodeSign(
            'sha256',
            data,
            {
              key,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
            },
            done,
          );
          break;
      }
    });
  }

  /**
   * Export the private key as PKCS#8 PEM. With a password (the norm for keys at rest) the PEM is
   * encrypted with AES-256-CBC under a PBKDF2-derived key; without one it is plain.
   *
   * @throws {InvalidStateError} `ERR_TUF_INVALID_STATE` for an empty password (refused rather
   *   than producing a key that only looks protected).
   */
  exportPrivateKeyPem(password?: string): string {
    if (password === undefined) {
      return String(this.#privateKey.export({ type: 'pkcs8', format: 'pem' }));
    }
    if (typeof password !== 'string' || password.length === 0) {
      throw new InvalidStateError(
        'refusing to encrypt a private key with an empty password; pass a non-empty password, ' +
          'or no password at all for an unencrypted PEM',
      );
    }
    return String(
      this.#privateKey.export({
        type: 'pkcs8',
        format: 'pem',
        cipher: PRIVATE_KEY_CIPHER,
        passphrase: password,
      }),
    );
  }
}
