/**
 * tufota: secure, brick-proof over-the-air updates built on The Update Framework (TUF).
 *
 * This entry point is the pure core: the metadata model, canonical JSON, keys, signatures,
 * hashes and the error hierarchy. It does no I/O. Workflows live in subpath entry points:
 * `tufota/client` (the `Updater`), `tufota/repository`, `tufota/device`, `tufota/signers`
 * (key files and external signing commands), `tufota/testing` (a repository simulator).
 *
 * @example
 * ```ts
 * import { InMemorySigner, Metadata, Targets, TargetFile } from 'tufota';
 *
 * const signer = await InMemorySigner.generate('ed25519');
 * const targets = new Metadata(new Targets({ expires: new Date('2030-01-01T00:00:00Z') }));
 * targets.signed.addTarget(new TargetFile('firmware/1.0.0.img', 4, { sha256: '…' }));
 * await targets.sign(signer);
 * ```
 *
 * @module
 */
export * from './canonical/index.js';
export * from './crypto/index.js';
export * from './errors.js';
export * from './models/index.js';
