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
import { type DelegatedTargetsLoader, searchDelegations } from '../../client/delegation-search.js';
import type { Delegations, TargetFile } from '../../models/index.js';

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
  // §5.4.4.7 steps 1–3 and 5 are the TUF search (each role loaded and checked by the loader);
  // step 4.1 adds the hardware id to the path as a condition for a delegation to apply.
  return searchDelegations(targetPath, maxDelegations, loadTargets, (delegations, roleName) => {
    const ids = delegationHardwareIds(delegations, roleName);
    return ids === undefined || ids.includes(hardwareId);
  });
}
