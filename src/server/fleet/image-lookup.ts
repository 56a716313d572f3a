/**
 * `ImageLookup`: find an image to assign in the image repository's trusted metadata. The
 * director copies length and hashes from the entry it is given, so the entry must come from
 * metadata verified like a device verifies it: a TUF `Updater` (root chain from the configured
 * trusted root, timestamp, snapshot, targets, delegations, expiry) reading the published
 * repository directory through a `FileFetcher` — never a file path or hash an operator typed.
 *
 * A fresh `Updater` per lookup (in-memory metadata store): an assignment always sees what is
 * published now, and a half-published or tampered repository fails the lookup instead of
 * reaching devices.
 *
 * Adapter (reads the repository directory). Safe for concurrent use.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { MemoryMetadataStore } from '../../client/memory-metadata-store.js';
import { Updater } from '../../client/updater.js';
import { FleetError, TufError } from '../../errors.js';
import type { TargetFile } from '../../models/index.js';
import { FileFetcher } from '../../transport/file-fetcher.js';

/** Finds targets in the image repository. */
export interface ImageLookup {
  /**
   * The trusted entry of `targetPath`, checked against `hardwareId` when the entry lists
   * `custom.hardwareIds`.
   *
   * @throws FleetError 404 when there is no such target, 400 when the hardware does not match,
   *   500 (`ERR_TUF_FLEET_STORE`) when the repository's metadata does not verify.
   */
  find(targetPath: string, hardwareId: string): Promise<TargetFile>;

  /**
   * Every target the trusted metadata resolves (top-level and delegated roles), sorted by path.
   *
   * @throws FleetError 500 (`ERR_TUF_FLEET_STORE`) when the repository's metadata does not verify.
   */
  list(): Promise<TargetFile[]>;
}

/** How long one refreshed Updater answers lookups while timestamp.json is unchanged. */
const UPDATER_REUSE_MS = 10_000;

/** Candidate paths read at most when listing (bounded work for a hostile repository). */
const MAX_LISTED = 100000;

/** An {@link ImageLookup} on a published repository directory and the root it trusts. */
export class RepositoryImageLookup implements ImageLookup {
  readonly #repositoryDir: string;
  readonly #trustedRoot: string;
  readonly #now: (() => Date) | undefined;
  #cached: { key: string; at: number; updater: Promise<Updater> } | undefined;

  /**
   * @param options.repositoryDir - the repository directory (`metadata/`, `targets/`).
   * @param options.trustedRoot - a root.json file to start the root chain from.
   * @param options.now - a clock for expiry checks (tests); default the Updater's own.
   */
  constructor(options: { repositoryDir: string; trustedRoot: string; now?: () => Date }) {
    this.#repositoryDir = options.repositoryDir;
    this.#trustedRoot = options.trustedRoot;
    this.#now = options.now;
  }

  async find(targetPath: string, hardwareId: string): Promise<TargetFile> {
    const updater = await this.#updater();
    let target: TargetFile | undefined;
    try {
      target = await updater.getTargetInfo(targetPath);
    } catch (error) {
      throw storeError(error);
    }
    if (target === undefined) {
      throw new FleetError(
        'ERR_TUF_FLEET_NOT_FOUND',
        `the image repository has no target ${JSON.stringify(targetPath)}`,
      );
    }
    const ids = target.hardwareIds;
    if (ids !== undefined && !ids.includes(hardwareId)) {
      throw new FleetError(
        'ERR_TUF_FLEET_BAD_REQUEST',
        `target ${targetPath} is built for ${ids.join(', ')}, not for hardware ${hardwareId}`,
      );
    }
    return target;
  }

  /**
   * The candidate paths come from the repository's files (unverified, so only a list of names
   * to ask about); each entry returned is what `getTargetInfo` resolves through the verified
   * delegation graph — a path a role lists without the authority to is not returned, and a
   * tampered file fails the whole listing.
   */
  async list(): Promise<TargetFile[]> {
    // Always fresh: listing is a rare admin read, and it is where a repository damaged on disk
    // shows at once (a shared Updater keeps answering from what it verified before).
    const updater = await this.#freshUpdater();
    const out: TargetFile[] = [];
    for (const path of await this.#candidatePaths()) {
      let target: TargetFile | undefined;
      try {
        target = await updater.getTargetInfo(path);
      } catch (error) {
        // A signed but unsafe path is never handed out; skip it like the Updater does.
        if (error instanceof TufError && error.code === 'ERR_TUF_UNSAFE_PATH') continue;
        throw storeError(error);
      }
      if (target !== undefined) out.push(target);
    }
    return out;
  }

  /**
   * A refreshed Updater on the published repository, shared while `metadata/timestamp.json` is
   * the same file (inode, size, mtime) and for at most {@link UPDATER_REUSE_MS}: a rollout step
   * looks up every candidate device's image, and a full refresh per lookup (root, timestamp,
   * snapshot, targets, signatures) made a 200-device step take seconds. A new publish replaces
   * timestamp.json, so the next lookup refreshes; the age bound keeps expiry checks current.
   * What a shared Updater answers was verified when it refreshed: a file damaged on disk since
   * then is not served from it, only noticed up to that long later.
   */
  #updater(): Promise<Updater> {
    const stamp = this.#timestampStamp();
    return stamp.then((key) => {
      const nowMs = (this.#now?.() ?? new Date()).getTime();
      const cached = this.#cached;
      if (
        cached !== undefined &&
        key !== undefined &&
        cached.key === key &&
        nowMs - cached.at >= 0 &&
        nowMs - cached.at < UPDATER_REUSE_MS
      ) {
        return cached.updater;
      }
      const updater = this.#freshUpdater();
      if (key !== undefined) this.#cached = { key, at: nowMs, updater };
      // A failed refresh is not kept: the next lookup tries again.
      updater.catch(() => {
        if (this.#cached?.updater === updater) this.#cached = undefined;
      });
      return updater;
    });
  }

  async #timestampStamp(): Promise<string | undefined> {
    try {
      const st = await fs.stat(join(this.#repositoryDir, 'metadata', 'timestamp.json'));
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined; // no shared updater: the fresh one reports what is wrong
    }
  }

  /** A fresh, refreshed Updater on the published repository. */
  async #freshUpdater(): Promise<Updater> {
    let root: Uint8Array;
    try {
      root = new Uint8Array(await fs.readFile(this.#trustedRoot));
    } catch (error) {
      throw new FleetError(
        'ERR_TUF_FLEET_STORE',
        `cannot read the image repository's trusted root ${this.#trustedRoot}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      const updater = await Updater.create({
        metadataBaseUrl: 'metadata/',
        fetcher: new FileFetcher({ root: this.#repositoryDir }),
        metadataStore: new MemoryMetadataStore({ root }),
      });
      // Tests run the server on an injected clock; in service the Updater reads its own.
      if (this.#now !== undefined) updater.unsafeSetReferenceTime(this.#now());
      await updater.refresh();
      return updater;
    } catch (error) {
      throw storeError(error);
    }
  }

  /** Target paths named in any targets file of `metadata/`, deduplicated and sorted. */
  async #candidatePaths(): Promise<string[]> {
    const dir = join(this.#repositoryDir, 'metadata');
    const paths = new Set<string>();
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (error) {
      throw storeError(error);
    }
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      let doc: unknown;
      try {
        doc = JSON.parse(await fs.readFile(join(dir, name), 'utf8'));
      } catch {
        continue; // Not metadata we can read: it names no candidates.
      }
      const signed = (doc as { signed?: { _type?: unknown; targets?: unknown } } | null)?.signed;
      if (signed?._type !== 'targets' || typeof signed.targets !== 'object') continue;
      for (const path of Object.keys(signed.targets ?? {})) {
        if (paths.size >= MAX_LISTED) break;
        paths.add(path);
      }
    }
    return [...paths].sort();
  }
}

function storeError(error: unknown): FleetError {
  if (error instanceof FleetError) return error;
  if (error instanceof TufError && error.code === 'ERR_TUF_UNSAFE_PATH') {
    return new FleetError('ERR_TUF_FLEET_BAD_REQUEST', error.message, { cause: error });
  }
  return new FleetError(
    'ERR_TUF_FLEET_STORE',
    `the image repository's metadata does not verify: ${(error as Error).message}`,
    { cause: error },
  );
}
