/**
 * `MemoryMetadataStore`: a {@link MetadataStore} in a `Map`, for tests, for short-lived checks
 * that must leave no files (`createBundle` verifies a repository with one), and for runtimes
 * without a file system. Nothing survives the process, so a device that restarts with it starts
 * again from the root it is given: use `FsMetadataStore` for real devices.
 *
 * Pure; not safe for concurrent writers of the same role (the last `save` wins).
 *
 * @module
 */
import type { MetadataStore } from './metadata-store.js';

/**
 * A metadata cache in memory. Saved bytes are copied, so later changes to the caller's buffer
 * cannot alter what was "persisted".
 *
 * @example
 * ```ts
 * const store = new MemoryMetadataStore({ root: rootBytes });
 * const updater = await Updater.create({ metadataBaseUrl, fetcher, metadataStore: store });
 * ```
 */
export class MemoryMetadataStore implements MetadataStore {
  /** Role name → the bytes last saved. */
  readonly files = new Map<string, Uint8Array>();
  /** Role names in the order they were saved (one entry per save). */
  readonly saves: string[] = [];

  /** @param options.root - the trusted root to start from, stored as `root`. */
  constructor(options: { root?: Uint8Array } = {}) {
    if (options.root !== undefined) this.files.set('root', Uint8Array.from(options.root));
  }

  async load(roleName: string): Promise<Uint8Array | undefined> {
    return this.files.get(roleName);
  }

  async save(roleName: string, bytes: Uint8Array): Promise<void> {
    this.saves.push(roleName);
    this.files.set(roleName, Uint8Array.from(bytes));
  }

  async remove(roleName: string): Promise<void> {
    this.files.delete(roleName);
  }
}
