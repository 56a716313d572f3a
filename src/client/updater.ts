/**
 * `Updater`: the TUF client workflow (TUF spec, "Detailed client workflow", 5.1–5.7) as an
 * async shell around the pure {@link TrustedMetadataSet}. It fetches through a {@link Fetcher},
 * caches through a {@link MetadataStore}, and lets the set decide what is trusted.
 *
 * What one {@link Updater.refresh} does, in order:
 * 1. Reads the clock once (or the {@link Updater.unsafeSetReferenceTime} override): every expiry
 *    check of this refresh uses that instant (5.1).
 * 2. Root: fetches `N+1.root.json`, `N+2.root.json`, … until {@link NotFoundError}, at most
 *    `maxRootRotations` times; any other download error fails the refresh (an attacker must not
 *    be able to end the chain early with a 500). Each root that verifies is persisted as
 *    `root.json`; when it rotates the timestamp or snapshot keys, the cached timestamp and
 *    snapshot are deleted *before* the root is persisted (5.3.11), so a crash in between cannot
 *    leave a fast-forwarded cache beside the new root.
 * 3. Timestamp: the cached copy (if not discarded) is loaded through the set first, as the
 *    rollback floor — a cache that fails verification is ignored, one that is only expired is
 *    kept as the floor; then `timestamp.json` is fetched (capped at `timestampMaxLength`). An
 *    equal version keeps the trusted one and is not persisted.
 * 4. Snapshot: the cached copy is used when it is valid as final; otherwise `snapshot.json` or
 *    `V.snapshot.json` (consistent snapshots) is fetched, capped at the length the timestamp
 *    lists, else `snapshotMaxLength`.
 * 5. Targets: the same for `targets.json` / `V.targets.json`.
 * Delegated roles are loaded only when {@link Updater.getTargetInfo} needs them.
 *
 * Every persisted file holds exactly the bytes received, written atomically, only after they
 * verified. Downloads of targets are streamed through a {@link TargetVerifier} into a temp file
 * in the destination directory, fsynced, and renamed into place (`target-download.ts`). The
 * delegation search itself is in `delegation-search.ts`, the channels in `client-channels.ts`.
 *
 * Observability: `node:diagnostics_channel` channels named in {@link CLIENT_CHANNELS}, and
 * `util.debuglog('tufota')` (run with `NODE_DEBUG=tufota`).
 *
 * Concurrency: `refresh` and `getTargetInfo` are serialized internally (a second call waits for
 * the first). Target downloads may run concurrently with each other and with metadata work;
 * concurrent downloads of the same target each produce a complete file (last rename wins).
 * Use one Updater per metadata directory.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import type { CryptoProvider } from '../crypto/index.js';
import {
  EqualVersionNumberError,
  FormatError,
  InvalidStateError,
  NotFoundError,
  RepositoryError,
  StorageError,
} from '../errors.js';
import {
  checkTargetPath,
  getOwn,
  type Metadata,
  type TargetFile,
  type Targets,
} from '../models/index.js';
import { storageStep } from '../storage/storage-step.js';
import {
  publish,
  published,
  refreshedChannel,
  rootUpdatedChannel,
  targetReadyChannel,
} from './client-channels.js';
import { resolveUpdaterConfig, type UpdaterConfig } from './config.js';
import { searchDelegations } from './delegation-search.js';
import type { Fetcher } from './fetcher.js';
import type { MetadataStore } from './metadata-store.js';
import { metadataFileName, targetFileName, targetUrlPath } from './role-names.js';
import { downloadTargetFile, verifiedTargetFile } from './target-download.js';
import type { TargetVerifier } from './target-verifier.js';
import { TrustedMetadataSet } from './trusted-set.js';
import type { OpenedTarget, OpenTargetOptions, UpdaterOptions } from './updater-options.js';

export { CLIENT_CHANNELS } from './client-channels.js';
export type { OpenedTarget, OpenTargetOptions, UpdaterOptions } from './updater-options.js';

const debug = debuglog('tufota');

/**
 * The TUF client.
 *
 * @example
 * ```ts
 * const updater = await Updater.create({
 *   metadataBaseUrl: 'https://updates.example.com/metadata/',
 *   targetBaseUrl: 'https://updates.example.com/targets/',
 *   targetDir: '/var/lib/tufota/targets',
 *   fetcher: new HttpFetcher(),
 *   metadataStore: new FsMetadataStore('/var/lib/tufota/metadata'),
 * });
 * await updater.refresh();
 * const info = await updater.getTargetInfo('firmware/board-a/1.2.0.img');
 * if (info !== undefined) {
 *   const file = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
 * }
 * ```
 */
export class Updater {
  /** The effective configuration. */
  readonly config: Readonly<UpdaterConfig>;
  readonly #metadataBaseUrl: string;
  readonly #targetBaseUrl: string | undefined;
  readonly #targetDir: string | undefined;
  readonly #fetcher: Fetcher;
  readonly #store: MetadataStore;
  readonly #provider: CryptoProvider | undefined;
  /** The newest trusted root's exact bytes: the anchor of the next refresh. */
  #rootBytes: Uint8Array;
  #set: TrustedMetadataSet;
  #refreshed = false;
  #referenceTimeOverride: Date | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    options: UpdaterOptions,
    config: Readonly<UpdaterConfig>,
    rootBytes: Uint8Array,
    set: TrustedMetadataSet,
  ) {
    this.config = config;
    this.#metadataBaseUrl = withTrailingSlash(options.metadataBaseUrl);
    this.#targetBaseUrl =
      options.targetBaseUrl === undefined ? undefined : withTrailingSlash(options.targetBaseUrl);
    this.#targetDir = options.targetDir;
    this.#fetcher = options.fetcher;
    this.#store = options.metadataStore;
    this.#provider = options.provider;
    this.#rootBytes = rootBytes;
    this.#set = set;
  }

  /**
   * Load and check the trusted root from the store and build an updater. No network access.
   *
   * @throws InvalidStateError when the store holds no root (provision it first:
   *   `FsMetadataStore.init(dir, rootBytes)`, or `new MemoryMetadataStore({ root: rootBytes })`)
   *   or options are invalid.
   * @throws FormatError, UnsignedMetadataError when the stored root is not valid root metadata
   *   signed by its own keys: the trust anchor is broken and must be re-provisioned.
   */
  static async create(options: UpdaterOptions): Promise<Updater> {
    if (typeof options.metadataBaseUrl !== 'string' || options.metadataBaseUrl.length === 0) {
      throw new InvalidStateError('Updater needs a metadataBaseUrl');
    }
    if (options.fetcher === undefined || options.metadataStore === undefined) {
      throw new InvalidStateError('Updater needs a fetcher and a metadataStore');
    }
    const config = resolveUpdaterConfig(options.config);
    const rootBytes = await options.metadataStore.load('root');
    if (rootBytes === undefined) {
      throw new InvalidStateError(
        'the metadata store holds no trusted root.json: provision it once with the root metadata shipped with the device ' +
          '(FsMetadataStore.init(dir, rootBytes) from tufota/client, or new MemoryMetadataStore({ root: rootBytes })) ' +
          'before creating an Updater',
      );
    }
    // Checks the anchor now (parse + self-signature); expiry is only checked in a refresh.
    const set = new TrustedMetadataSet(rootBytes, {
      referenceTime: new Date(),
      provider: options.provider,
    });
    return new Updater(options, config, rootBytes, set);
  }

  /**
   * The trusted metadata of the latest refresh (or just the trusted root before the first).
   * Read it; do not feed it bytes — that bypasses caching and persistence.
   */
  get trustedSet(): TrustedMetadataSet {
    return this.#set;
  }

  /**
   * Update the top-level metadata: root chain, timestamp, snapshot, targets (see the module
   * notes for the exact order). May be called again later; each call starts from the newest
   * trusted root and the cache, with a fresh reference time.
   *
   * @throws RepositoryError subclasses (bad signature, rollback, expiry, mismatch): stop the
   *   update. DownloadError subclasses: the transport failed. StorageError: the cache failed.
   */
  refresh(): Promise<void> {
    return this.#serialize(() => this.#refresh());
  }

  /**
   * Find the trusted entry for `targetPath`: a pre-order depth-first search of the delegation
   * graph from the top-level targets role (TUF 5.6.7), loading delegated roles on demand.
   * Refreshes first if no refresh has completed.
   *
   * The search visits matching delegations in their listed order, stops below a matching
   * terminating delegation (nothing after it is searched), never revisits a role on the path it
   * came by (cycles), visits at most `maxDelegations` delegated roles, and verifies each role
   * against the delegator of the path being followed.
   *
   * @returns the entry, or `undefined` when no trusted role lists the path.
   * @throws UnsafePathError (`ERR_TUF_UNSAFE_PATH`) for a path that could leave the target
   *   directory or URL base (`..` segments, a leading `/`, backslashes, …), even when a signed
   *   role lists it: such entries are kept in the metadata but never handed out.
   */
  getTargetInfo(targetPath: string): Promise<TargetFile | undefined> {
    return this.#serialize(async () => {
      checkTargetPath(targetPath);
      if (!this.#refreshed) await this.#refresh();
      const set = this.#set;
      return searchDelegations(targetPath, this.config.maxDelegations, (role, delegator) =>
        this.#loadTargets(set, role, delegator),
      );
    });
  }

  /**
   * The local path of `info`'s target if a file there has the trusted length and every hash.
   *
   * @param filepath - where to look; default `targetDir/<percent-encoded target path>`.
   * @returns the path, or `undefined` when the file is missing or does not verify.
   * @throws InvalidStateError without `filepath` and without a configured `targetDir`.
   * @throws UnsupportedAlgorithmError when the entry lists an unknown hash algorithm.
   * @throws UnsafePathError for an entry whose path could leave the target directory.
   */
  async findCachedTarget(info: TargetFile, filepath?: string): Promise<string | undefined> {
    info.checkPath();
    return verifiedTargetFile(info, filepath ?? this.#defaultTargetPath(info));
  }

  /**
   * Make `info`'s target available locally and return its path. A file already there that
   * verifies is returned without downloading. Otherwise the target is streamed from
   * `TARGETBASE/PATH` (or `DIR/HASH.BASENAME` with consistent snapshots, first listed hash, as
   * the reference does) into a temporary file beside the destination, verified for length and
   * every hash while streaming, fsynced, and renamed into place: the destination never holds a
   * partial or unverified file.
   *
   * @param filepath - destination; default `targetDir/<percent-encoded target path>`.
   * @param targetBaseUrl - overrides the configured target base URL.
   * @throws InvalidStateError without a destination or a target base URL.
   * @throws LengthOrHashMismatchError, DownloadError subclasses, StorageError.
   * @throws UnsafePathError for an entry whose path could leave the target directory or URL base
   *   (checked before anything is fetched or written).
   */
  async downloadTarget(
    info: TargetFile,
    filepath?: string,
    targetBaseUrl?: string,
  ): Promise<string> {
    info.checkPath();
    const file = filepath ?? this.#defaultTargetPath(info);
    const url = this.#targetUrl(info, targetBaseUrl);
    if ((await this.findCachedTarget(info, file)) !== undefined) {
      debug('target %s already present and verified at %s', info.path, file);
      publish(targetReadyChannel, {
        path: info.path,
        length: info.length,
        filepath: file,
        downloaded: false,
      });
      return file;
    }
    if (filepath === undefined && this.#targetDir !== undefined) {
      await storageStep(`create target directory ${this.#targetDir}`, this.#targetDir, () =>
        fs.mkdir(this.#targetDir as string, { recursive: true }),
      );
    }
    await downloadTargetFile(this.#fetcher, url, info, file);
    publish(targetReadyChannel, {
      path: info.path,
      length: info.length,
      filepath: file,
      downloaded: true,
    });
    return file;
  }

  /**
   * Open `info`'s target as a stream, for callers that write it elsewhere (the device agent
   * writes it into a boot slot). The stream never yields more than `info.length` bytes in total;
   * the caller verifies it with a {@link TargetVerifier} (use
   * {@link TargetVerifier.fromPrefix} when resuming) and must not use the bytes before
   * `finish()` succeeds.
   *
   * @example
   * ```ts
   * const verifier = new TargetVerifier(info);
   * const { stream } = await updater.openTarget(info);
   * for await (const chunk of stream) { verifier.update(chunk); await slot.write(chunk); }
   * verifier.finish();
   * ```
   */
  async openTarget(info: TargetFile, options: OpenTargetOptions = {}): Promise<OpenedTarget> {
    info.checkPath();
    const url = this.#targetUrl(info, options.targetBaseUrl);
    const response = await this.#fetcher.fetchRange(url, info.length, {
      offset: options.offset ?? 0,
      signal: options.signal,
    });
    return { offset: response.offset, stream: response };
  }

  /**
   * FOR TESTS ONLY: make the next refreshes use `time` as their reference time instead of the
   * clock. Using it in production defeats freeze-attack protection.
   */
  unsafeSetReferenceTime(time: Date): void {
    if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
      throw new InvalidStateError('unsafeSetReferenceTime needs a valid Date');
    }
    this.#referenceTimeOverride = new Date(time.getTime());
  }

  // -------------------------------------------------------------------------------------------
  // The refresh workflow.

  async #refresh(): Promise<void> {
    // TUF 5.1: the one clock read of this refresh.
    const referenceTime = this.#referenceTimeOverride ?? new Date();
    const set = new TrustedMetadataSet(this.#rootBytes, {
      referenceTime,
      provider: this.#provider,
    });
    this.#set = set;
    this.#refreshed = false;
    debug(
      'refresh: reference time %s, trusted root version %d',
      referenceTime.toISOString(),
      set.root.signed.version,
    );
    await this.#loadRoot(set);
    await this.#loadTimestamp(set);
    await this.#loadSnapshot(set);
    const targets = await this.#loadTargets(set, 'targets', 'root');
    this.#refreshed = true;
    publish(refreshedChannel, {
      referenceTime,
      rootVersion: set.root.signed.version,
      timestampVersion: set.timestamp?.signed.version,
      snapshotVersion: set.snapshot?.signed.version,
      targetsVersion: targets.signed.version,
    });
  }

  /** TUF 5.3: walk the root chain. */
  async #loadRoot(set: TrustedMetadataSet): Promise<void> {
    for (let rotation = 0; rotation < this.config.maxRootRotations; rotation++) {
      const previousVersion = set.root.signed.version;
      const url = this.#metadataUrl('root', previousVersion + 1);
      let bytes: Uint8Array;
      try {
        bytes = await this.#fetcher.fetchBytes(url, this.config.rootMaxLength);
      } catch (error) {
        // 5.3.3: "not found" (403/404/410/ENOENT) ends the chain; anything else is a failure.
        if (error instanceof NotFoundError) break;
        throw error;
      }
      set.updateRoot(bytes);
      // 5.3.11: drop the fast-forwardable cache durably *before* the new root is persisted.
      for (const role of set.rolesToDiscard) await this.#store.remove(role);
      await this.#store.save('root', bytes);
      this.#rootBytes = bytes;
      debug('root updated from version %d to %d', previousVersion, set.root.signed.version);
      publish(rootUpdatedChannel, {
        version: set.root.signed.version,
        previousVersion,
        rotatedRoles: [...set.rolesToDiscard],
      });
    }
  }

  /** TUF 5.4. */
  async #loadTimestamp(set: TrustedMetadataSet): Promise<void> {
    if (set.rolesToDiscard.size === 0) {
      await this.#tryCached(set, 'timestamp', (bytes) => set.updateTimestamp(bytes));
    }
    const bytes = await this.#fetcher.fetchBytes(
      this.#metadataUrl('timestamp'),
      this.config.timestampMaxLength,
    );
    try {
      set.updateTimestamp(bytes);
    } catch (error) {
      if (error instanceof EqualVersionNumberError) {
        debug('remote timestamp has the trusted version; keeping the trusted one');
        return;
      }
      throw error;
    }
    await this.#store.save('timestamp', bytes);
    published(set.timestamp, 'timestamp', 'remote');
  }

  /** TUF 5.5. */
  async #loadSnapshot(set: TrustedMetadataSet): Promise<void> {
    if (
      set.rolesToDiscard.size === 0 &&
      (await this.#tryCached(set, 'snapshot', (bytes) =>
        set.updateSnapshot(bytes, { trusted: true }),
      ))
    ) {
      return;
    }
    const timestamp = set.timestamp;
    if (timestamp === undefined)
      throw new InvalidStateError('snapshot requested before a timestamp was trusted');
    const meta = timestamp.signed.snapshotMeta;
    const version = set.root.signed.consistentSnapshot === true ? meta.version : undefined;
    const bytes = await this.#fetcher.fetchBytes(
      this.#metadataUrl('snapshot', version),
      meta.length ?? this.config.snapshotMaxLength,
    );
    set.updateSnapshot(bytes);
    await this.#store.save('snapshot', bytes);
    published(set.snapshot, 'snapshot', 'remote');
  }

  /** TUF 5.6: `role` as delegated by `delegator`, from this refresh, the cache, or remote. */
  async #loadTargets(
    set: TrustedMetadataSet,
    role: string,
    delegator: string,
  ): Promise<Metadata<Targets>> {
    const trusted = set.getDelegatedRole(role, delegator);
    if (trusted !== undefined) return trusted;
    // A role already verified through another delegator in this refresh is verified again
    // against this delegator's keys (or it has no authority on this path) from the bytes just
    // cached, so the verified bytes of every role need not stay in memory (1,024 hash bins
    // would hold ~30 MB); if the cache cannot give them back they are downloaded again, and the
    // set refuses content that differs from the version already trusted.
    let loaded: Metadata<Targets> | undefined;
    const cached = await this.#tryCached(set, role, (bytes) => {
      loaded = set.updateDelegatedTargets(bytes, role, delegator);
    });
    const fromCache = loaded as Metadata<Targets> | undefined; // assigned inside the callback
    if (cached !== undefined && fromCache !== undefined) {
      published(fromCache, role, 'cache');
      return fromCache;
    }
    const snapshot = set.snapshot;
    if (snapshot === undefined)
      throw new InvalidStateError(`${role} requested before a snapshot was trusted`);
    const meta = getOwn(snapshot.signed.meta, `${role}.json`);
    if (meta === undefined) {
      throw new RepositoryError(
        `${role} is delegated by ${delegator} but the snapshot does not list ${role}.json`,
        {
          role,
        },
      );
    }
    const version = set.root.signed.consistentSnapshot === true ? meta.version : undefined;
    const bytes = await this.#fetcher.fetchBytes(
      this.#metadataUrl(role, version),
      meta.length ?? this.config.targetsMaxLength,
    );
    const metadata = set.updateDelegatedTargets(bytes, role, delegator);
    await this.#store.save(role, bytes);
    published(metadata, role, 'remote');
    return metadata;
  }

  /**
   * Feed the cached bytes of `role` to `apply`. Returns the bytes when they were accepted,
   * `undefined` when there are none or they failed: local metadata is untrusted, so a cache
   * that does not verify (or cannot be read) is ignored, never fatal. What `apply` kept before
   * failing (an expired timestamp as rollback floor) stays in the set.
   */
  async #tryCached(
    set: TrustedMetadataSet,
    role: string,
    apply: (bytes: Uint8Array) => unknown,
  ): Promise<Uint8Array | undefined> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.#store.load(role);
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      debug('cached %s cannot be read, ignoring it: %s', role, error.message);
      return undefined;
    }
    if (bytes === undefined) return undefined;
    try {
      apply(bytes);
    } catch (error) {
      if (error instanceof RepositoryError || error instanceof FormatError) {
        debug('cached %s is not usable as final (%s): %s', role, error.code, error.message);
        return undefined;
      }
      throw error;
    }
    debug('cached %s verified', role);
    const metadata =
      role === 'timestamp' ? set.timestamp : role === 'snapshot' ? set.snapshot : undefined;
    if (metadata !== undefined) published(metadata, role, 'cache');
    return bytes;
  }

  // -------------------------------------------------------------------------------------------
  // Helpers.

  #serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  #metadataUrl(role: string, version?: number): string {
    return `${this.#metadataBaseUrl}${metadataFileName(role, version)}`;
  }

  #targetUrl(info: TargetFile, targetBaseUrl: string | undefined): string {
    info.checkPath();
    const base =
      targetBaseUrl === undefined ? this.#targetBaseUrl : withTrailingSlash(targetBaseUrl);
    if (base === undefined) {
      throw new InvalidStateError(
        'no target base URL: pass targetBaseUrl to Updater.create() or to this call',
      );
    }
    let hashPrefix: string | undefined;
    if (this.#set.root.signed.consistentSnapshot === true && this.config.prefixTargetsWithHash) {
      // TUF 5.7.3: the first listed hash, as the reference implementation picks it.
      hashPrefix = Object.values(info.hashes)[0];
    }
    return `${base}${targetUrlPath(info.path, hashPrefix)}`;
  }

  #defaultTargetPath(info: TargetFile): string {
    info.checkPath();
    if (this.#targetDir === undefined) {
      throw new InvalidStateError(
        'no target file path: pass filepath, or targetDir to Updater.create()',
      );
    }
    return path.join(this.#targetDir, targetFileName(info.path));
  }
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
