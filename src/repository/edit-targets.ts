/**
 * Target editing: import a target file (copied into `targets/` under its hash names, hashed once
 * on the way), list a target from its length and hashes alone, stop listing one, and route a
 * target path to the targets role that must list it — the named role, or the hash bin below it
 * (TAP 15), checking that every delegation on the way trusts the path (TUF 5.7.6: a client only
 * looks for a target in roles whose delegation matches it).
 *
 * Target files are content addressed (`targets/DIR/HASH.NAME`, TUF 5.7.3), so writing one never
 * changes what a served name means (an existing name is checked, never overwritten); the hash
 * names of one target are hard links to one copy. Removing a target leaves its files served for
 * clients that hold older metadata. Adding a path a role already lists replaces it unless
 * `ifExists` says `fail` (the CLI's default) or `skip`.
 *
 * Not safe for concurrent use.
 *
 * @module
 */
import { MultiHasher } from '../crypto/index.js';
import { InvalidStateError, PublishedFileConflictError, RepositoryEditError } from '../errors.js';
import type { TargetFile } from '../models/index.js';
import type { AddTargetOptions, TargetRoleOption } from './options.js';
import { currentOf, type RepositoryState } from './state.js';
import { INCOMING_DIR, type RepositoryStorage, type StorageData } from './storage.js';
import {
  buildCustom,
  buildTargetFile,
  consistentTargetPath,
  type TargetInfo,
} from './target-input.js';

/**
 * Copy a target's bytes in under their hash names and list the target (see
 * `Repository.addTarget`). With `ifExists: 'fail'` a path the role already lists is refused
 * before any byte is read; with `'skip'` the listed target is returned untouched; `'replace'` is
 * the library default (the CLI defaults to `'fail'`).
 */
export async function addTarget(
  state: RepositoryState,
  targetPath: string,
  source: StorageData,
  options: AddTargetOptions,
): Promise<TargetFile> {
  const custom = buildCustom(options);
  // Validates the path (and its role) before any byte is written.
  buildTargetFile(targetPath, { length: 0, hashes: { sha256: '0'.repeat(64) } }, custom);
  const roleName = routeTarget(state, targetPath, options.role);
  const existing = checkIfExists(state, roleName, targetPath, options);
  if (existing !== undefined) return existing;
  const hasher = new MultiHasher(state.hashAlgorithms);
  const incoming = `${INCOMING_DIR}/${process.pid}-${Math.random().toString(16).slice(2)}`;
  const chunks: AsyncIterable<Uint8Array> = (async function* () {
    if (source instanceof Uint8Array) {
      hasher.update(source);
      yield source;
      return;
    }
    for await (const chunk of source) {
      hasher.update(chunk);
      yield chunk;
    }
  })();
  const storage = state.storage;
  try {
    await storage.writeFile(incoming, chunks);
    const hashes = hasher.digest();
    const placed = new Set<string>();
    for (const [algorithm, digest] of Object.entries(hashes)) {
      const destination = consistentTargetPath(targetPath, digest);
      if (placed.has(destination)) continue;
      placed.add(destination);
      await placeTargetFile(storage, incoming, destination, algorithm, digest);
    }
    const target = buildTargetFile(targetPath, { length: hasher.length, hashes }, custom);
    state.touch(roleName).signed.addTarget(target);
    return target;
  } finally {
    await storage.remove(incoming).catch(() => {});
  }
}

/**
 * Give the imported file `incoming` the hash name `destination`: a hard link (one copy on disk
 * for all hash names; the storage copies where links are impossible). A name that exists must
 * hold bytes with that hash — hash names are immutable — else nothing is listed.
 *
 * @throws PublishedFileConflictError when `destination` exists with other bytes.
 */
async function placeTargetFile(
  storage: RepositoryStorage,
  incoming: string,
  destination: string,
  algorithm: string,
  digest: string,
): Promise<void> {
  let created: boolean;
  if (storage.link !== undefined) {
    created = await storage.link(incoming, destination);
  } else {
    created = !(await storage.exists(destination));
    if (created) await storage.copy(incoming, destination);
  }
  if (created) return;
  const hasher = new MultiHasher([algorithm]);
  const stream = storage.readStream?.(destination);
  if (stream !== undefined) {
    for await (const chunk of stream) hasher.update(chunk);
  } else {
    hasher.update((await storage.readFile(destination)) ?? new Uint8Array());
  }
  if (hasher.digest()[algorithm] !== digest) {
    throw new PublishedFileConflictError(
      `${destination} exists but its bytes do not hash to the ${algorithm} in its name: it was changed ` +
        'after it was published; restore it (tufota verify lists every such file) and add the target again',
      { filePath: destination },
    );
  }
}

/**
 * Apply `options.ifExists` when `roleName` already lists `targetPath` (pending edits included):
 * `'fail'` throws, `'skip'` returns the listed target, `'replace'` (default) returns undefined.
 *
 * @throws RepositoryEditError `ERR_TUF_TARGET_EXISTS` for `'fail'`; nothing is changed.
 */
function checkIfExists(
  state: RepositoryState,
  roleName: string,
  targetPath: string,
  options: AddTargetOptions,
): TargetFile | undefined {
  const policy = options.ifExists ?? 'replace';
  if (policy !== 'fail' && policy !== 'skip' && policy !== 'replace') {
    throw new InvalidStateError(`ifExists must be fail, skip or replace, got ${String(policy)}`);
  }
  const listed = currentOf(state.entry(roleName)).getTarget(targetPath);
  if (listed === undefined || policy === 'replace') return undefined;
  if (policy === 'skip') return listed;
  throw new RepositoryEditError(
    `${roleName} already lists ${targetPath} (${listed.length} bytes, sha256 ${listed.hashes.sha256?.slice(0, 16) ?? '?'}…); ` +
      'nothing was changed: replace it deliberately (--replace, or --if-exists replace|skip), or choose another path',
    { role: roleName },
    'ERR_TUF_TARGET_EXISTS',
  );
}

/**
 * List a target from its length and hashes alone (see `Repository.addTargetInfo`); `ifExists`
 * as for {@link addTarget}.
 */
export function addTargetInfo(
  state: RepositoryState,
  targetPath: string,
  info: TargetInfo,
  options: AddTargetOptions,
): TargetFile {
  const target = buildTargetFile(targetPath, info, buildCustom(options));
  const roleName = routeTarget(state, targetPath, options.role);
  const existing = checkIfExists(state, roleName, targetPath, options);
  if (existing !== undefined) return existing;
  state.touch(roleName).signed.addTarget(target);
  return target;
}

/** Stop listing a target; true if it was listed (see `Repository.removeTarget`). */
export function removeTarget(
  state: RepositoryState,
  targetPath: string,
  options: TargetRoleOption,
): boolean {
  const found = options.role === undefined ? findTarget(state, targetPath) : undefined;
  const roleName = found?.role ?? routeTarget(state, targetPath, options.role);
  if (currentOf(state.entry(roleName)).getTarget(targetPath) === undefined) return false;
  return state.touch(roleName).signed.removeTarget(targetPath);
}

/** The target at `targetPath` and the role listing it (pending edits included), if any. */
export function findTarget(
  state: RepositoryState,
  targetPath: string,
): { role: string; target: TargetFile } | undefined {
  for (const [name, entry] of state.roles) {
    const target = currentOf(entry).getTarget(targetPath);
    if (target !== undefined) return { role: name, target };
  }
  return undefined;
}

/**
 * The leaf role for `targetPath`: `role` (default `targets`), following hash bins.
 *
 * @throws InvalidStateError when a delegation on the way does not trust the path.
 */
export function routeTarget(state: RepositoryState, targetPath: string, role = 'targets'): string {
  let name = role;
  state.entry(name);
  for (;;) {
    const succinct = currentOf(state.entry(name)).delegations?.succinctRoles;
    if (succinct === undefined) break;
    name = succinct.getRoleForTarget(targetPath);
  }
  // Every delegation on the way down must trust the path, or no client would find it there.
  for (let child = name, parent = state.delegators.get(child); parent !== undefined; ) {
    const delegations = currentOf(state.entry(parent)).delegations;
    const delegated = delegations?.roles?.find((r) => r.name === child);
    if (delegated !== undefined && !delegated.isDelegatedPath(targetPath)) {
      throw new InvalidStateError(
        `role ${child} is not trusted for target path ${targetPath} (its delegation from ${parent} does not match it)`,
      );
    }
    child = parent;
    parent = state.delegators.get(child);
  }
  return name;
}
