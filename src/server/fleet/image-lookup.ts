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
}

/** An {@link ImageLookup} on a published repository directory and the root it trusts. */
export class RepositoryImageLookup implements ImageLookup {
  readonly #repositoryDir: string;
  readonly #trustedRoot: string;
  readonly #now: (() => Date) | undefined;

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
    let target: TargetFile | undefined;
    try {
      const updater = await Updater.create({
        metadataBaseUrl: 'metadata/',
        fetcher: new FileFetcher({ root: this.#repositoryDir }),
        metadataStore: new MemoryMetadataStore({ root }),
      });
      // Tests run the server on an injected clock; in service the Updater reads its own.
      if (this.#now !== undefined) updater.unsafeSetReferenceTime(this.#now());
      target = await updater.getTargetInfo(targetPath);
    } catch (error) {
      if (error instanceof TufError && error.code === 'ERR_TUF_UNSAFE_PATH') {
        throw new FleetError('ERR_TUF_FLEET_BAD_REQUEST', error.message, { cause: error });
      }
      throw new FleetError(
        'ERR_TUF_FLEET_STORE',
        `the image repository's metadata does not verify: ${(error as Error).message}`,
        { cause: error },
      );
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
}
