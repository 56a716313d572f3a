/**
 * Delegation resolution in the image repository (Uptane Standard 2.1.0 §5.4.4.7): like the TUF
 * targets search (pre-order depth-first, in listed order, stopping below a matching terminating
 * delegation, at most `maxDelegations` roles, no cycles), with Uptane's extra rule of step 4.1:
 * "For the delegation to apply, it SHALL include the hardware identifier of the target, and the
 * target name SHALL match one of the delegation's image paths."
 *
 * A delegated role restricts hardware with a `hardwareIds` array beside its `paths` (kept by the
 * model as an unrecognized field, so it is covered by the delegator's signature):
 *
 * ```json
 * { "name": "brake-supplier", "keyids": ["…"], "threshold": 1, "terminating": true,
 *   "paths": ["brake/*"], "hardwareIds": ["brake"] }
 * ```
 *
 * A role without `hardwareIds` restricts by path only; hash-bin (succinct) delegations restrict
 * by nothing but the bin. A delegation that does not apply because of the hardware id is skipped
 * as one whose paths do not match: it does not terminate the search.
 *
 * Does no I/O itself (the loader does). Safe for concurrent use.
 *
 * @module
 */
import type { DelegatedTargetsLoader } from '../../client/delegation-search.js';
import type { Delegations, TargetFile } from '../../models/index.js';

interface Visit {
  role: string;
  delegator: string;
  ancestors: readonly string[];
}

/** The hardware ids a delegated role is restricted to, or `undefined` when it is not. */
export function delegationHardwareIds(
  delegations: Delegations,
  roleName: string,
): string[] | undefined {
  const role = delegations.roles?.find((r) => r.name === roleName);
  const ids = role?.unrecognized.hardwareIds;
  if (!Array.isArray(ids)) return undefined;
  return ids.filter((id): id is string => typeof id === 'string');
}

/**
 * Find the image repository's entry for `targetPath`, built for `hardwareId`.
 *
 * @returns the entry, or `undefined` when no applicable role lists it.
 */
export async function searchImageDelegations(
  targetPath: string,
  hardwareId: string,
  maxDelegations: number,
  loadTargets: DelegatedTargetsLoader,
): Promise<TargetFile | undefined> {
  const stack: Visit[] = [{ role: 'targets', delegator: 'root', ancestors: [] }];
  let delegatedVisits = 0;
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    if (visit.ancestors.includes(visit.role)) continue;
    if (visit.role !== 'targets') {
      if (delegatedVisits >= maxDelegations) break;
      delegatedVisits++;
    }
    // §5.4.4.7 step 1: load and check the role (the loader verifies it).
    const metadata = await loadTargets(visit.role, visit.delegator);
    // Step 2: this role lists the image.
    const target = metadata.signed.getTarget(targetPath);
    if (target !== undefined) return target;
    const delegations = metadata.signed.delegations;
    if (delegations === undefined) continue;
    const children: Visit[] = [];
    const ancestors = [...visit.ancestors, visit.role];
    // Step 4: the delegations, in listed order, that apply by path (4.1) and hardware id.
    for (const child of delegations.getRolesForTarget(targetPath)) {
      const ids = delegationHardwareIds(delegations, child.name);
      if (ids !== undefined && !ids.includes(hardwareId)) continue;
      children.push({ role: child.name, delegator: visit.role, ancestors });
      if (child.terminating) {
        // Step 3 / 4.3: below a terminating delegation, nothing after it is searched.
        stack.length = 0;
        break;
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Visit);
  }
  // Step 5.
  return undefined;
}
