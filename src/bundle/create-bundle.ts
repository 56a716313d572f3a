/**
 * `createBundle`: pack a published repository's trusted metadata chain and chosen targets into
 * one tar file (an offline update bundle for USB sticks and SD cards).
 *
 * What goes in, in this order (names exactly as the repository serves them, so a device reads
 * the bundle through `BundleFetcher` with the same URLs as online):
 * 1. `tufota-bundle.json`: the informational manifest (never trusted; see `manifest.ts`);
 * 2. `metadata/N.root.json` for every N from `fromRootVersion` (default 1) to the newest: the
 *    whole chain, so a device still trusting an old root rotates through it (TUF 5.3);
 * 3. `metadata/timestamp.json`, `metadata/V.snapshot.json`, and `metadata/V.ROLE.json` for the
 *    top-level targets and *every* delegated role the snapshot lists (unversioned names when the
 *    root does not use consistent snapshots). Every role is included, not only those on the
 *    chosen targets' delegation paths, so a device that searches further than the creator did
 *    (another target, a different cache state) still finds what it asks for;
 * 4. each chosen target under its served name `targets/DIR/HASH.NAME` (first listed hash, as the
 *    client requests it, TUF 5.7.3), or `targets/PATH` without consistent snapshots.
 *
 * Before a byte is written, the repository is checked the way a device will check it: an
 * {@link Updater} trusting `fromRootVersion.root.json` refreshes from the repository directory
 * (root chain, signatures, versions, hashes, expiry at `createdAt`) and looks each target up.
 * The metadata written is exactly the bytes that verified (a publish running meanwhile cannot
 * mix two states), and each target file is hashed while it streams into the archive; a
 * mismatch aborts. So a bundle that is created is one a device accepts, until its metadata
 * expires (`BundleSummary.expires`).
 *
 * The archive is written to a temporary file beside `output`, fsynced and renamed into place:
 * `output` never holds a partial bundle. Targets stream from disk to the archive, never
 * buffered whole.
 *
 * Does not implement: signing (the repository's metadata is bundled as published), compression,
 * selection by hardware id (name the targets).
 *
 * Adapter (file system). Safe to run concurrently for different outputs.
 *
 * @module
 */
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Fetcher, FetchOptions, FetchRangeOptions, FetchResponse } from '../client/fetcher.js';
import { MemoryMetadataStore } from '../client/memory-metadata-store.js';
import { TargetVerifier } from '../client/target-verifier.js';
import { Updater } from '../client/updater.js';
import {
  InvalidStateError,
  LengthOrHashMismatchError,
  NotFoundError,
  StorageError,
  TargetNotFoundError,
  TufError,
} from '../errors.js';
import type { Metadata, TargetFile, Targets } from '../models/index.js';
import { renameDurable, tempPathFor } from '../storage/atomic-file.js';
import { storageStep } from '../storage/storage-step.js';
import { FileFetcher } from '../transport/file-fetcher.js';
import {
  BUNDLE_FORMAT_VERSION,
  BUNDLE_MANIFEST_NAME,
  type BundleManifest,
  encodeBundleManifest,
} from './manifest.js';
import { DEFAULT_MAX_TAR_ENTRIES, fileHandleSink, TarWriter } from './tar.js';

/** Store keys that are not delegated roles (a delegated role cannot take these names). */
const TOP_LEVEL_NAMES = new Set(['root', 'timestamp', 'snapshot']);

/** Most targets one bundle may name (each is a separate lookup and file). */
export const MAX_BUNDLE_TARGETS = 1024;

/** Options of {@link createBundle}. */
export interface CreateBundleOptions {
  /** The published repository's root directory (holding `metadata/` and `targets/`). */
  repositoryDir: string;
  /** Target paths, as listed in targets metadata (`firmware/board-a/1.2.0.img`). At least one. */
  targets: string[];
  /** The bundle file to write (replaced atomically if it exists). */
  output: string;
  /**
   * The oldest root version a device receiving this bundle may still trust; the chain from it
   * to the newest root is included. Default 1 (every root).
   */
  fromRootVersion?: number;
  /** Shown in the manifest; default the repository directory's name. */
  repositoryName?: string;
  /**
   * Creation time: written to the manifest and used as the reference time of the check.
   * Default the system clock.
   */
  createdAt?: Date;
}

/** What {@link createBundle} wrote. */
export interface BundleSummary {
  /** The bundle's path. */
  output: string;
  /** Its size in bytes. */
  size: number;
  /** Root versions included. */
  rootVersions: { from: number; to: number };
  /** Metadata members, in archive order (`metadata/1.root.json`, …). */
  metadata: string[];
  /** Target members: the target path, its length and its member name. */
  targets: Array<{ path: string; length: number; name: string }>;
  /** Earliest expiry of the top-level metadata: strict devices refuse the bundle after it. */
  expires: Date;
  /** The manifest written (informational). */
  manifest: BundleManifest;
}

/**
 * Build an offline update bundle from a published repository directory.
 *
 * @throws InvalidStateError for bad options or a repository without `fromRootVersion.root.json`.
 * @throws TargetNotFoundError when no trusted role lists a chosen target.
 * @throws RepositoryError subclasses (ExpiredMetadataError, UnsignedMetadataError, …) when the
 *   repository would be refused by a device; LengthOrHashMismatchError when a target file does
 *   not match its metadata. StorageError when reading or writing fails. Nothing is left at
 *   `output` on any error.
 *
 * @example
 * ```ts
 * const summary = await createBundle({
 *   repositoryDir: '/srv/tuf',
 *   targets: ['firmware/board-a/1.2.0.img'],
 *   output: '/media/usb/update.tar',
 * });
 * console.log(`bundle valid until ${summary.expires.toISOString()}`);
 * ```
 */
export async function createBundle(options: CreateBundleOptions): Promise<BundleSummary> {
  const fromRootVersion = options.fromRootVersion ?? 1;
  if (!Number.isSafeInteger(fromRootVersion) || fromRootVersion < 1) {
    throw new InvalidStateError(
      `fromRootVersion must be a positive integer, got ${fromRootVersion}`,
    );
  }
  const targetPaths = [...new Set(options.targets)];
  if (targetPaths.length === 0) throw new InvalidStateError('a bundle needs at least one target');
  if (targetPaths.length > MAX_BUNDLE_TARGETS) {
    throw new InvalidStateError(`a bundle holds at most ${MAX_BUNDLE_TARGETS} targets`);
  }
  if (typeof options.output !== 'string' || options.output === '') {
    throw new InvalidStateError('createBundle needs an output path');
  }
  const repositoryDir = path.resolve(options.repositoryDir);
  const createdAt = options.createdAt ?? new Date();

  // 1. Verify as a device would, recording the exact bytes that verified.
  const files = new FileFetcher({ root: repositoryDir });
  const fetcher = new RecordingFetcher(files);
  const anchorName = `${fromRootVersion}.root.json`;
  let anchor: Uint8Array;
  try {
    anchor = await files.fetchBytes(`metadata/${anchorName}`, 512_000);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new InvalidStateError(
        `${repositoryDir} has no metadata/${anchorName}: not a published repository, or no root version ${fromRootVersion}`,
        { cause: error },
      );
    }
    throw error;
  }
  const store = new MemoryMetadataStore({ root: anchor });
  const updater = await Updater.create({
    metadataBaseUrl: 'metadata/',
    targetBaseUrl: 'targets/',
    fetcher,
    metadataStore: store,
  });
  if (options.createdAt !== undefined) updater.unsafeSetReferenceTime(options.createdAt);
  await updater.refresh();
  const infos: TargetFile[] = [];
  for (const targetPath of targetPaths) {
    const info = await updater.getTargetInfo(targetPath);
    if (info === undefined) {
      throw new TargetNotFoundError(
        `no trusted targets role of ${repositoryDir} lists ${JSON.stringify(targetPath)}`,
      );
    }
    infos.push(info);
  }

  // 2. Decide the members.
  const set = updater.trustedSet;
  const root = set.root;
  const timestamp = set.timestamp;
  const snapshot = set.snapshot;
  if (timestamp === undefined || snapshot === undefined) {
    throw new InvalidStateError('the refresh ended without a trusted timestamp and snapshot');
  }
  const consistent = root.signed.consistentSnapshot === true;
  const newestRoot = root.signed.version;
  const metadata: Array<{ name: string; bytes: Uint8Array }> = [];
  for (let version = fromRootVersion; version <= newestRoot; version++) {
    const name = `${version}.root.json`;
    const bytes = version === fromRootVersion ? anchor : fetcher.recorded(`metadata/${name}`);
    if (bytes === undefined) throw new InvalidStateError(`root version ${version} was not fetched`);
    metadata.push({ name, bytes });
  }
  metadata.push({ name: 'timestamp.json', bytes: required(fetcher, 'metadata/timestamp.json') });
  const snapshotName = consistent
    ? `${timestamp.signed.snapshotMeta.version}.snapshot.json`
    : 'snapshot.json';
  metadata.push({ name: snapshotName, bytes: required(fetcher, `metadata/${snapshotName}`) });
  for (const [file, meta] of Object.entries(snapshot.signed.meta)) {
    if (!file.endsWith('.json')) continue;
    const name = consistent ? `${meta.version}.${file}` : file;
    // Roles the lookups visited verified; the others are copied from disk as published (their
    // consistent-snapshot names never change) and verified by the device if it needs them.
    const role = file.slice(0, -'.json'.length);
    const cached = TOP_LEVEL_NAMES.has(role) ? undefined : store.files.get(role);
    const bytes = cached ?? (await readMetadataFile(repositoryDir, name, meta.length ?? 5_000_000));
    metadata.push({ name, bytes });
  }
  const prefix = consistent && updater.config.prefixTargetsWithHash;
  const targetMembers = infos.map((info) => ({
    info,
    name: `targets/${servedTargetName(info, prefix)}`,
  }));
  const expires = earliest([root, timestamp, snapshot, set.getDelegatedRole('targets', 'root')]);
  const manifest: BundleManifest = {
    format: 'tufota-bundle',
    formatVersion: BUNDLE_FORMAT_VERSION,
    createdAt: createdAt.toISOString(),
    repository: options.repositoryName ?? path.basename(repositoryDir),
    rootVersions: { from: fromRootVersion, to: newestRoot },
    timestampVersion: timestamp.signed.version,
    snapshotVersion: snapshot.signed.version,
    expires: expires.toISOString(),
    targets: infos.map((info) => ({
      path: info.path,
      length: info.length,
      hashes: { ...info.hashes },
    })),
  };

  // 3. Write to a temporary file, then rename.
  const output = path.resolve(options.output);
  const temp = tempPathFor(output);
  const handle = await storageStep(`create ${temp}`, temp, () => fs.open(temp, 'wx', 0o644));
  let closed = false;
  try {
    const tar = new TarWriter(fileHandleSink(handle), {
      mtime: Math.max(0, Math.floor(createdAt.getTime() / 1000)),
      maxEntries: DEFAULT_MAX_TAR_ENTRIES,
    });
    await tar.addFile(BUNDLE_MANIFEST_NAME, encodeBundleManifest(manifest));
    for (const { name, bytes } of metadata) await tar.addFile(`metadata/${name}`, bytes);
    for (const { info, name } of targetMembers) {
      await tar.addFile(name, info.length, verifiedTargetStream(repositoryDir, name, info));
    }
    await tar.finish();
    await storageStep(`fsync ${temp}`, temp, () => handle.sync());
    closed = true;
    await storageStep(`close ${temp}`, temp, () => handle.close());
    await renameDurable(temp, output);
    const size = tar.bytesWritten;
    return {
      output,
      size,
      rootVersions: { from: fromRootVersion, to: newestRoot },
      metadata: metadata.map(({ name }) => `metadata/${name}`),
      targets: targetMembers.map(({ info, name }) => ({
        path: info.path,
        length: info.length,
        name,
      })),
      expires,
      manifest,
    };
  } catch (error) {
    if (!closed) await handle.close().catch(() => {});
    await fs.rm(temp, { force: true }).catch(() => {});
    throw error;
  }
}

/** `DIR/HASH.NAME` (first listed hash, as the client requests it) or the plain target path. */
function servedTargetName(info: TargetFile, prefixWithHash: boolean): string {
  if (!prefixWithHash) return info.path;
  const hash = Object.values(info.hashes)[0] as string;
  const slash = info.path.lastIndexOf('/');
  return `${info.path.slice(0, slash + 1)}${hash}.${info.path.slice(slash + 1)}`;
}

/** Stream a target file from the repository, failing if its length or hashes do not match. */
async function* verifiedTargetStream(
  repositoryDir: string,
  member: string,
  info: TargetFile,
): AsyncGenerator<Uint8Array> {
  const file = path.join(repositoryDir, ...member.split('/'));
  const verifier = new TargetVerifier(info);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
      const bytes = chunk as Uint8Array;
      verifier.update(bytes);
      yield bytes;
    }
    verifier.finish();
  } catch (error) {
    if (error instanceof LengthOrHashMismatchError) {
      throw new LengthOrHashMismatchError(
        `${file} does not match the trusted metadata of ${info.path} (${error.message}); the bundle was not written`,
        { cause: error },
      );
    }
    if (error instanceof TufError) throw error;
    throw new StorageError(`cannot read target file ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  }
}

async function readMetadataFile(dir: string, name: string, maxLength: number): Promise<Uint8Array> {
  const file = path.join(dir, 'metadata', name);
  const bytes = await storageStep(`read ${file}`, file, () => fs.readFile(file));
  if (bytes.byteLength > maxLength) {
    throw new LengthOrHashMismatchError(
      `${file} is ${bytes.byteLength} bytes, more than the ${maxLength} the snapshot allows`,
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function required(fetcher: RecordingFetcher, url: string): Uint8Array {
  const bytes = fetcher.recorded(url);
  if (bytes === undefined) throw new InvalidStateError(`${url} was not fetched during the check`);
  return bytes;
}

function earliest(roles: Array<Metadata | Metadata<Targets> | undefined>): Date {
  let min: Date | undefined;
  for (const role of roles) {
    const expires = role?.signed.expires;
    if (expires !== undefined && (min === undefined || expires < min)) min = expires;
  }
  if (min === undefined) throw new InvalidStateError('no trusted metadata to take an expiry from');
  return min;
}

/** Delegates to a fetcher and keeps the bytes of every whole-resource `fetchBytes`. */
class RecordingFetcher implements Fetcher {
  readonly #inner: Fetcher;
  readonly #bytes = new Map<string, Uint8Array>();

  constructor(inner: Fetcher) {
    this.#inner = inner;
  }

  recorded(url: string): Uint8Array | undefined {
    return this.#bytes.get(url);
  }

  fetchStream(url: string, maxLength: number, options?: FetchOptions): AsyncIterable<Uint8Array> {
    return this.#inner.fetchStream(url, maxLength, options);
  }

  async fetchBytes(url: string, maxLength: number, options?: FetchOptions): Promise<Uint8Array> {
    const bytes = await this.#inner.fetchBytes(url, maxLength, options);
    this.#bytes.set(url, bytes);
    return bytes;
  }

  fetchRange(url: string, maxLength: number, options: FetchRangeOptions): Promise<FetchResponse> {
    return this.#inner.fetchRange(url, maxLength, options);
  }
}
