/**
 * Target editing: import a target file (copied into `targets/` under its hash names, hashed once
 * on the way), list a target from its length and hashes alone, stop listing one, and route a
 * target path to the targets role that must list it — the named role, or the hash bin below it
 * (TAP 15), checking that every delegation on the way trusts the path (TUF 5.7.6: a client only
 * looks for a target in roles whose delegation matches it).
 *
 * Target files are content addressed (`targets/DIR/HASH.NAME`, TUF 5.7.3), so writing one never
 * changes what a served name means; removing a target leaves its files served for clients that
 * hold older metadata.
 *
 * Not safe for concurrent use.
 *
 * @module
 */
import { MultiHasher } from '../crypto/index.js';
import { InvalidStateError } from '../errors.js';
import type { TargetFile } from '../models/index.js';
import type { AddTargetOptions, TargetRoleOption } from './options.js';
import { currentOf, type RepositoryState } from './state.js';
import { INCOMING_DIR, type StorageData } from './storage.js';
import {
  buildCustom,
  buildTargetFile,
  consistentTargetPath,
  type TargetInfo,
} from './target-input.js';

/** Copy a target's bytes in under their hash names and list the target (see `Repository.addTarget`). */
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
    const destinations = [...new Set(Object.values(hashes))].map((d) =>
      consistentTargetPath(targetPath, d),
    );
    for (const [i, destination] of destinations.entries()) {
      if (await storage.exists(destination)) continue;
      if (i === destinations.length - 1) await storage.rename(incoming, destination);
      else await storage.copy(incoming, destination);
    }
    const target = buildTargetFile(targetPath, { length: hasher.length, hashes }, custom);
    state.touch(roleName).signed.addTarget(target);
    return target;
  } finally {
    await storage.remove(incoming).catch(() => {});
  }
}

/** List a target from its length and hashes alone (see `Repository.addTargetInfo`). */
export function addTargetInfo(
  state: RepositoryState,
  targetPath: string,
  info: TargetInfo,
  options: AddTargetOptions,
): TargetFile {
  const target = buildTargetFile(targetPath, info, buildCustom(options));
  state.touch(routeTarget(state, targetPath, options.role)).signed.addTarget(target);
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
