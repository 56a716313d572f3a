/**
 * The local metadata cache the {@link Updater} reads its trust anchor from and persists
 * verified metadata to. Implementations live in the adapter folders (`FsMetadataStore` in
 * `src/storage/`); tests may use an in-memory one.
 *
 * Contract (what the updater relies on):
 * - `save` persists exactly the bytes given, atomically and durably: after a crash the role
 *   holds either the old or the new complete bytes. The updater calls it only with bytes that
 *   verified.
 * - `load` returns exactly the bytes last saved, or `undefined` when the role has none. It must
 *   cap what it reads (a corrupted or planted huge file must not exhaust memory) and reject with
 *   a `StorageError` when the cap is exceeded or reading fails. The updater treats everything but
 *   `root` as untrusted: cached bytes go through full verification again.
 * - `remove` deletes the role's bytes durably; removing a missing role is not an error.
 * - Role names are arbitrary strings from signed metadata (`../x`, `ö`, `a/b`): implementations
 *   must encode them (see `role-names.ts`) so that no name can address anything outside the store.
 *
 * @module
 */

/**
 * Where verified metadata is cached between refreshes.
 *
 * Implementations: `FsMetadataStore` (files, the default on devices) and
 * {@link MemoryMetadataStore} (tests, checks that must leave no files).
 */
export interface MetadataStore {
  /** The bytes last saved for `roleName`, or `undefined` when there are none. */
  load(roleName: string): Promise<Uint8Array | undefined>;
  /** Replace the bytes of `roleName`, atomically and durably. */
  save(roleName: string, bytes: Uint8Array): Promise<void>;
  /** Forget `roleName` durably; no error when it is absent. */
  remove(roleName: string): Promise<void>;
}
