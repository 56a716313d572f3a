/**
 * Key and threshold editing: trust a key for a role, revoke one, set a role's threshold. For a
 * top-level role that is a root edit (a new root version, signed by the old and new root keys,
 * TUF 5.3.4); for a delegated role it is an edit of its delegator's `delegations`; for a hash bin
 * it applies to every bin of that delegator (they share one `succinct_roles` entry, TAP 15).
 *
 * A role whose keys change is marked for re-signing with its new keys: targets and delegated
 * roles get a pending version, snapshot is rebuilt at the next publish (timestamp always is).
 * Every edit checks first that the threshold stays reachable, so a refused edit changes nothing.
 *
 * Not safe for concurrent use.
 *
 * @module
 */
import { InvalidStateError } from '../errors.js';
import type { Delegations, Key, SuccinctRoles, TopLevelRoleName } from '../models/index.js';
import type { KeyInput } from './options.js';
import { checkThreshold, currentOf, isTopLevel, type RepositoryState } from './state.js';

/** Trust `key` for `role`; returns its key id (see `Repository.addKey`). */
export function addKey(state: RepositoryState, role: string, key: KeyInput): string {
  const [parsed] = state.keysOf([key], role);
  const k = parsed as Key;
  if (isTopLevel(role)) {
    state.touchRoot().signed.addKey(k, role);
    afterRootRoleChange(state, role);
  } else {
    const { delegatorName, succinct } = delegationOf(state, role);
    const delegations = state.touch(delegatorName).signed.delegations as Delegations;
    delegations.addKey(k, succinct === undefined ? role : undefined);
    afterDelegatedKeyChange(state, role, succinct);
  }
  return k.keyId();
}

/** Stop trusting `keyid` for `role` (see `Repository.revokeKey`). */
export function revokeKey(state: RepositoryState, role: string, keyid: string): void {
  const current = roleKeys(state, role);
  if (!current.keyids.includes(keyid))
    throw new InvalidStateError(`key ${keyid} is not trusted for ${role}`);
  checkThreshold(current.threshold, current.keyids.length - 1, role);
  if (isTopLevel(role)) {
    state.touchRoot().signed.revokeKey(keyid, role);
    afterRootRoleChange(state, role);
    return;
  }
  const { delegatorName, succinct } = delegationOf(state, role);
  const delegations = state.touch(delegatorName).signed.delegations as Delegations;
  const target = delegatedEntry(delegations, role, succinct, delegatorName);
  target.keyids = target.keyids.filter((id) => id !== keyid);
  dropUnusedKeys(delegations, [keyid]);
  afterDelegatedKeyChange(state, role, succinct);
}

/** Set how many distinct keys must sign `role` (see `Repository.setThreshold`). */
export function setThreshold(state: RepositoryState, role: string, threshold: number): void {
  const current = roleKeys(state, role);
  checkThreshold(threshold, current.keyids.length, role);
  if (isTopLevel(role)) {
    state.touchRoot().signed.roles[role].threshold = threshold;
    afterRootRoleChange(state, role);
    return;
  }
  const { delegatorName, succinct } = delegationOf(state, role);
  const delegations = state.touch(delegatorName).signed.delegations as Delegations;
  delegatedEntry(delegations, role, succinct, delegatorName).threshold = threshold;
  afterDelegatedKeyChange(state, role, succinct);
}

/**
 * Remove from `delegations.keys` those of `keyids` that no role of `delegations` still lists
 * (a key listed but used by no role is harmless, but it is noise an auditor must explain).
 */
export function dropUnusedKeys(delegations: Delegations, keyids: Iterable<string>): string[] {
  const dropped: string[] = [];
  for (const keyid of keyids) {
    const stillUsed =
      (delegations.roles ?? []).some((r) => r.keyids.includes(keyid)) ||
      (delegations.succinctRoles?.keyids.includes(keyid) ?? false);
    if (stillUsed || !Object.hasOwn(delegations.keys, keyid)) continue;
    delegations.keys = Object.fromEntries(
      Object.entries(delegations.keys).filter(([id]) => id !== keyid),
    );
    dropped.push(keyid);
  }
  return dropped;
}

function roleKeys(state: RepositoryState, role: string): { keyids: string[]; threshold: number } {
  if (isTopLevel(role)) return state.currentRoot().signed.getRole(role);
  const { delegatorName, succinct } = delegationOf(state, role);
  const found =
    succinct ??
    currentOf(state.entry(delegatorName)).delegations?.roles?.find((r) => r.name === role);
  if (found === undefined)
    throw new InvalidStateError(`${role} is not delegated by ${delegatorName}`);
  return found;
}

function delegationOf(
  state: RepositoryState,
  role: string,
): { delegatorName: string; succinct: SuccinctRoles | undefined } {
  const delegatorName = state.delegators.get(role);
  if (delegatorName === undefined) throw new InvalidStateError(`no delegated role named ${role}`);
  const succinct = currentOf(state.entry(delegatorName)).delegations?.succinctRoles;
  return { delegatorName, succinct };
}

/** The `delegations` entry holding `role`'s keys: its `roles` entry, or the shared bins entry. */
function delegatedEntry(
  delegations: Delegations,
  role: string,
  succinct: SuccinctRoles | undefined,
  delegatorName: string,
): { keyids: string[]; threshold: number } {
  const found =
    succinct === undefined
      ? delegations.roles?.find((r) => r.name === role)
      : delegations.succinctRoles;
  if (found === undefined)
    throw new InvalidStateError(`${role} is not delegated by ${delegatorName}`);
  return found;
}

function afterRootRoleChange(state: RepositoryState, role: TopLevelRoleName): void {
  // A role whose keys change must be re-signed by its new keys.
  if (role === 'targets') state.touch('targets');
  if (role === 'snapshot') state.forceSnapshot = true;
}

function afterDelegatedKeyChange(
  state: RepositoryState,
  role: string,
  succinct: SuccinctRoles | undefined,
): void {
  if (succinct === undefined) state.touch(role);
  else for (const bin of succinct.getRoles()) state.touch(bin);
}
