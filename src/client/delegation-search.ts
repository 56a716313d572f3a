/**
 * The targets lookup of the TUF client workflow (TUF spec 5.6.7): a pre-order depth-first search
 * of the delegation graph from the top-level targets role for the entry of one target path.
 *
 * The search visits matching delegations in their listed order, stops below a matching
 * terminating delegation (nothing after it is searched), never revisits a role on the path it
 * came by (cycles) and visits at most `maxDelegations` delegated roles. Loading and verifying
 * each role is the caller's (`Updater`): the loader is given the role and the delegator of the
 * path being followed, so each role is verified against that delegator's keys.
 *
 * A caller may narrow which matching delegations apply (`applies`): Uptane's image repository
 * also requires the ECU's hardware id (`uptane/verify/image-delegations.ts`). A delegation that
 * does not apply is skipped like one whose paths do not match: it does not end the search.
 *
 * Does no I/O itself. Safe for concurrent use (no state between calls); the loader decides
 * whether concurrent searches may share it.
 *
 * @module
 */
import { debuglog } from 'node:util';
import type { Delegations, Metadata, TargetFile, Targets } from '../models/index.js';

const debug = debuglog('tufota');

/** Loads `role` as delegated by `delegator` (`'targets'` by `'root'` for the top level). */
export type DelegatedTargetsLoader = (
  role: string,
  delegator: string,
) => Promise<Metadata<Targets>>;

interface Visit {
  role: string;
  delegator: string;
  /** Roles on the path from the top-level targets to here, for cycle detection. */
  ancestors: readonly string[];
}

/**
 * TUF 5.6.7: find the trusted entry for `targetPath`, loading roles through `loadTargets` in
 * pre-order depth-first order.
 *
 * @returns the entry, or `undefined` when no role reached lists the path.
 *
 * @example
 * ```ts
 * const info = await searchDelegations('fw/board-a.img', 32, (role, delegator) =>
 *   loadVerified(role, delegator),
 * );
 * ```
 */
export async function searchDelegations(
  targetPath: string,
  maxDelegations: number,
  loadTargets: DelegatedTargetsLoader,
  applies?: (delegations: Delegations, roleName: string) => boolean,
): Promise<TargetFile | undefined> {
  const stack: Visit[] = [{ role: 'targets', delegator: 'root', ancestors: [] }];
  let delegatedVisits = 0;
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    if (visit.ancestors.includes(visit.role)) {
      debug('skipping %s: already on this delegation path (cycle)', visit.role);
      continue;
    }
    if (visit.role !== 'targets') {
      if (delegatedVisits >= maxDelegations) {
        debug('stopping the search for %s after %d delegated roles', targetPath, delegatedVisits);
        break;
      }
      delegatedVisits++;
    }
    const metadata = await loadTargets(visit.role, visit.delegator);
    const target = metadata.signed.getTarget(targetPath);
    if (target !== undefined) {
      debug('found %s in %s', targetPath, visit.role);
      return target;
    }
    const delegations = metadata.signed.delegations;
    if (delegations === undefined) continue;
    const children: Visit[] = [];
    const ancestors = [...visit.ancestors, visit.role];
    for (const child of delegations.getRolesForTarget(targetPath)) {
      if (applies !== undefined && !applies(delegations, child.name)) continue;
      children.push({ role: child.name, delegator: visit.role, ancestors });
      if (child.terminating) {
        // A matching terminating delegation: search below it, and nowhere else afterwards.
        stack.length = 0;
        break;
      }
    }
    // Reverse so the first listed delegation is popped (visited) first.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Visit);
  }
  return undefined;
}
