/**
 * Delegation editing: delegate target paths (or path hash prefixes) to a new targets role
 * (TUF 4.5, `delegations.roles`) and remove such a delegation, and succinct hash-bin delegation (TAP 15,
 * `delegations.succinct_roles`): create bins, and resize them (a rebuild that moves every
 * target to its new bin).
 *
 * Snapshot rule behind every removal here: a client refuses a new snapshot that stops listing a
 * targets role the trusted snapshot listed (TUF 5.5.5), so a role that is no longer delegated
 * (an old hash bin; a removed delegation and the roles below it) stays listed in snapshot with
 * its last version, and its files stay served: it is unreachable, not forgotten. A role created
 * again under a used name is versioned above every version snapshot ever listed for it.
 *
 * Not safe for concurrent use.
 *
 * @module
 */
import { FormatError, InvalidStateError, RepositoryEditError } from '../errors.js';
import { DelegatedRole, Delegations, type Key, type TargetFile } from '../models/index.js';
import { dropUnusedKeys } from './edit-keys.js';
import { distributeToBins, makeSuccinctRoles } from './hash-bins.js';
import type {
  CreateHashBinsOptions,
  DelegateOptions,
  RemoveDelegationOptions,
  RemoveDelegationResult,
} from './options.js';
import { checkRoleFileName } from './signed-role.js';
import { checkThreshold, currentOf, isTopLevel, type RepositoryState } from './state.js';

/** Delegate to a new role (see `Repository.delegate`). */
export function delegate(state: RepositoryState, name: string, options: DelegateOptions): void {
  checkRoleFileName(name);
  const delegatorName = options.delegator ?? 'targets';
  assertNameFree(
    state,
    name,
    `a targets role named ${name} already exists; role names must be unique`,
  );
  const delegator = currentOf(state.entry(delegatorName));
  if (delegator.delegations?.succinctRoles !== undefined) {
    throw new InvalidStateError(
      `${delegatorName} delegates to hash bins; it cannot also delegate by name`,
    );
  }
  const keys = state.keysOf(options.keys, name);
  const threshold = checkThreshold(options.threshold ?? 1, keys.length, name);
  for (const prefix of options.pathHashPrefixes ?? []) {
    if (!/^[0-9a-f]{1,64}$/.test(prefix))
      throw new FormatError(`path hash prefix ${JSON.stringify(prefix)} is not lowercase hex`);
  }
  for (const pattern of options.paths ?? []) {
    if (typeof pattern !== 'string' || pattern.length === 0)
      throw new FormatError('delegation path patterns must be non-empty strings');
  }
  if (options.hardwareIds !== undefined) {
    if (
      options.hardwareIds.length === 0 ||
      options.hardwareIds.some((id) => typeof id !== 'string' || id.length === 0)
    ) {
      throw new FormatError(
        "a delegation's hardware ids must be a non-empty list of non-empty strings",
      );
    }
  }
  const role = new DelegatedRole({
    name,
    keyids: keys.map((k) => k.keyId()),
    threshold,
    terminating: options.terminating ?? false,
    paths: options.paths,
    pathHashPrefixes: options.pathHashPrefixes,
    ...(options.hardwareIds === undefined
      ? {}
      : { unrecognized: { hardwareIds: [...new Set(options.hardwareIds)] } }),
  });
  const md = state.touch(delegatorName);
  const delegations = md.signed.delegations ?? new Delegations();
  delegations.roles = [...(delegations.roles ?? []), role];
  delegations.keys = { ...delegations.keys, ...keyMap(keys) };
  md.signed.delegations = delegations;
  state.addEmptyRole(name, delegatorName);
}

/**
 * Stop delegating to `name` (see `Repository.removeDelegation`): its delegator drops the
 * `delegations.roles` entry and the keys no other role of that delegator lists; the role and
 * every role below it leave the state. Snapshot keeps listing them (module comment).
 */
export function removeDelegation(
  state: RepositoryState,
  name: string,
  options: RemoveDelegationOptions,
): RemoveDelegationResult {
  if (isTopLevel(name))
    throw new InvalidStateError(`${name} is a top-level role; it cannot be removed`);
  const delegatorName = state.delegators.get(name);
  if (delegatorName === undefined) throw new InvalidStateError(`no delegated role named ${name}`);
  if (options.delegator !== undefined && options.delegator !== delegatorName) {
    throw new InvalidStateError(
      `${name} is delegated by ${delegatorName}, not by ${options.delegator}`,
    );
  }
  const delegations = currentOf(state.entry(delegatorName)).delegations;
  if (delegations?.succinctRoles !== undefined) {
    throw new InvalidStateError(
      `${name} is a hash bin of ${delegatorName}; bins are not removed one by one (resize them instead)`,
    );
  }
  const found = delegations?.roles?.find((r) => r.name === name);
  if (found === undefined)
    throw new InvalidStateError(`${name} is not delegated by ${delegatorName}`);
  const md = state.touch(delegatorName);
  const edited = md.signed.delegations as Delegations;
  edited.roles = (edited.roles ?? []).filter((r) => r.name !== name);
  const keyids = dropUnusedKeys(edited, found.keyids);
  // The subtree below `name` is unreachable now: each role has exactly one delegator.
  const roles = [name];
  for (let i = 0; i < roles.length; i++) {
    for (const [child, parent] of state.delegators) if (parent === roles[i]) roles.push(child);
  }
  for (const role of roles) {
    state.roles.delete(role);
    state.delegators.delete(role);
  }
  return { roles, keyids };
}

/** Delegate to 2^bitLength hash bins (see `Repository.createHashBins`). */
export function createHashBins(state: RepositoryState, options: CreateHashBinsOptions): string[] {
  const delegatorName = options.delegator ?? 'targets';
  const existing = currentOf(state.entry(delegatorName)).delegations;
  if (
    existing !== undefined &&
    (existing.succinctRoles !== undefined || (existing.roles?.length ?? 0) > 0)
  ) {
    throw new InvalidStateError(
      `${delegatorName} already delegates; hash bins need a delegator with no delegations (to change the number of existing bins, resize them)`,
    );
  }
  const prefix = checkRoleFileName(options.namePrefix ?? 'bins');
  const keys = state.keysOf(options.keys, prefix);
  const threshold = checkThreshold(options.threshold ?? 1, keys.length, prefix);
  const succinct = makeSuccinctRoles(
    options,
    keys.map((k) => k.keyId()),
    threshold,
  );
  const bins = [...succinct.getRoles()];
  for (const bin of bins) assertNameFree(state, bin, clashMessage(bin));
  const md = state.touch(delegatorName);
  md.signed.delegations = new Delegations({ keys: keyMap(keys), succinctRoles: succinct });
  for (const bin of bins) state.addEmptyRole(bin, delegatorName);
  return bins;
}

/** Rebuild the bins of `delegator` with a new bit length (see `Repository.resizeHashBins`). */
export function resizeHashBins(
  state: RepositoryState,
  bitLength: number,
  options: { delegator?: string },
): string[] {
  const delegatorName = options.delegator ?? 'targets';
  const old = currentOf(state.entry(delegatorName)).delegations?.succinctRoles;
  if (old === undefined)
    throw new InvalidStateError(`${delegatorName} does not delegate to hash bins`);
  const succinct = makeSuccinctRoles(
    { bitLength, namePrefix: old.namePrefix },
    old.keyids,
    old.threshold,
  );
  if (bitLength === old.bitLength) return [...old.getRoles()];
  const oldBins = [...old.getRoles()];
  const oldSet = new Set(oldBins);
  const newBins = [...succinct.getRoles()];
  for (const bin of newBins) {
    if (!oldSet.has(bin)) assertNameFree(state, bin, clashMessage(bin));
  }
  const targets: TargetFile[] = [];
  for (const bin of oldBins) targets.push(...Object.values(currentOf(state.entry(bin)).targets));
  const md = state.touch(delegatorName);
  (md.signed.delegations as Delegations).succinctRoles = succinct;
  for (const bin of oldBins) {
    state.roles.delete(bin);
    state.delegators.delete(bin);
  }
  const distribution = distributeToBins(succinct, targets);
  for (const bin of newBins) {
    const pending = state.emptyTargets(bin);
    for (const target of distribution.get(bin) ?? []) pending.signed.addTarget(target);
    state.addEmptyRole(bin, delegatorName, pending);
  }
  return newBins;
}

function keyMap(keys: readonly Key[]): Record<string, Key> {
  return Object.fromEntries(keys.map((k) => [k.keyId(), k]));
}

function clashMessage(bin: string): string {
  return `hash bin ${bin} would clash with an existing role`;
}

/** @throws RepositoryEditError `ERR_TUF_DUPLICATE_ROLE` when a targets role is named `name`. */
function assertNameFree(state: RepositoryState, name: string, message: string): void {
  if (state.roles.has(name))
    throw new RepositoryEditError(message, { role: name }, 'ERR_TUF_DUPLICATE_ROLE');
}
