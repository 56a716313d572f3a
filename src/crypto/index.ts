/**
 * Keys, signatures, hashes and signers: the cryptography tufota's pure core uses.
 *
 * Re-exports `keys.ts` (key objects, key ids, hex), `provider.ts` and `node-provider.ts`
 * (signature verification), `signer.ts` (the `Signer` interface and `InMemorySigner`) and
 * `hash.ts` (hashes of metadata and targets). The pure-JavaScript ed25519 provider lives in
 * `noble-provider.ts` and is re-exported too; runtimes without `node:crypto` import that file
 * directly instead of this index, which pulls in `node:crypto`.
 *
 * Pure (no I/O, no clock). Safe for concurrent use; see each module.
 *
 * @module
 */

export {
  HASH_HEX_LENGTH,
  type HashAlgorithm,
  type HashStreamOptions,
  hashBytes,
  hashesEqual,
  hashStream,
  isSupportedHashAlgorithm,
  MAX_HASH_ALGORITHMS,
  MultiHasher,
  SUPPORTED_HASH_ALGORITHMS,
} from './hash.js';
export { publicKeyFingerprint } from './key-fingerprint.js';
export {
  assertPublicKeyShape,
  bytesToHex,
  computeKeyId,
  ED25519_PUBLIC_KEY_HEX_LENGTH,
  hexToBytes,
  isHex,
  isStrongEd25519PublicKey,
  isSupportedKey,
  type KeyAlgorithm,
  KeyType,
  keyAlgorithm,
  MAX_PUBLIC_KEY_LENGTH,
  MAX_SIGNATURE_LENGTH,
  type PublicKeyData,
  SignatureScheme,
  type SignatureSchemeName,
  tryHexToBytes,
} from './keys.js';
export { nobleCryptoProvider, nobleEd25519PublicKey, nobleEd25519Sign } from './noble-provider.js';
export {
  createNodeCryptoProvider,
  DEFAULT_MAX_CACHED_KEYS,
  defaultCryptoProvider,
  NodeCryptoProvider,
  type NodeCryptoProviderOptions,
  nodeCryptoProvider,
} from './node-provider.js';
export type { CryptoProvider } from './provider.js';
export {
  type FromPemOptions,
  type GenerateKeyType,
  type GenerateOptions,
  InMemorySigner,
  MAX_PRIVATE_KEY_PEM_LENGTH,
  MIN_RSA_MODULUS_LENGTH,
  PRIVATE_KEY_CIPHER,
  type PrivateKeyProblem,
  publicKeyDataFromKeyObject,
  publicKeyFromPrivatePem,
  type ReadPrivateKeyResult,
  readPrivateKeyPem,
  type Signer,
} from './signer.js';
