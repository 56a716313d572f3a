/**
 * Who must sign a role before the repository may publish it, signing with the keys at hand, and
 * reporting which signatures are present and missing (for threshold and offline signing).
 *
 * A role is publishable when every {@link SigningRequirement} is met: a threshold of the keys its
 * delegator lists (TUF 5.3.4 / 5.4.2 / 5.5.3 / 5.6.3). Two cases add a second requirement:
 * - a new root must be signed by a threshold of the previous root's root keys as well as its own
 *   (TUF 5.3.4, root rotation);
 * - a top-level role whose keys or threshold the new root changes is also signed by a threshold of
 *   its keys in the previous root, so that the published content verifies for clients that have
 *   not fetched the new root yet (the gap between the two commit points, see `publish.ts`).
 *
 * Pure apart from the signers it calls; safe for concurrent use on different metadata objects.
 *
 * @module
 */
import { bytesToHex, type Signer } from '../crypto/index.js';
import { RepositoryEditError, UnsignedMetadataError } from '../errors.js';
import { type Metadata, type Root, Signature, type Targets } from '../models/index.js';

/** One threshold a role must meet: `role` as delegated by `delegator`. */
export interface SigningRequirement {
  /** The delegating metadata: a root for top-level roles, a targets role for delegated ones. */
  readonly delegator: Metadata<Root> | Metadata<Targets>;
  /** The delegated role name looked up in `delegator`. */
  readonly role: string;
  /** Human label: `root version 3`, `targets version 7`. */
  readonly label: string;
}

/** Signatures present and missing for one requirement. */
export interface RequirementStatus {
  /** Which delegator this is about (`root version 3`). */
  readonly label: string;
  readonly threshold: number;
  /** Key ids with a valid signature. */
  readonly signed: string[];
  /** Key ids of the role without a valid signature. */
  readonly missing: string[];
  readonly verified: boolean;
}

/** The key ids any requirement trusts: a signer outside this set is refused. */
export function authorizedKeyIds(requirements: readonly SigningRequirement[]): Set<string> {
  const ids = new Set<string>();
  for (const requirement of requirements) {
    for (const keyid of roleOf(requirement).keyids) ids.add(keyid);
  }
  return ids;
}

/** The public key object `requirements` list for `keyid`, if any. */
export function listedKey(requirements: readonly SigningRequirement[], keyid: string) {
  for (const requirement of requirements) {
    const signed = requirement.delegator.signed;
    const keys = signed.type === 'root' ? signed.keys : signed.delegations?.keys;
    if (
      keys !== undefined &&
      Object.hasOwn(keys, keyid) &&
      roleOf(requirement).keyids.includes(keyid)
    ) {
      return keys[keyid];
    }
  }
  return undefined;
}

function roleOf(requirement: SigningRequirement) {
  const signed = requirement.delegator.signed;
  const role =
    signed.type === 'root'
      ? signed.getRole(requirement.role)
      : signed.delegations?.getRole(requirement.role);
  if (role === undefined) {
    throw new RepositoryEditError(`${requirement.label} does not delegate ${requirement.role}`, {
      role: requirement.role,
    });
  }
  return role;
}

/**
 * Sign `metadata` with every signer in `signers` whose key some requirement trusts and that has
 * not signed yet (signatures already present are kept: they cover the same `signed`).
 *
 * @returns the canonical signed bytes, computed once.
 */
export async function signWithAvailable(
  metadata: Metadata,
  requirements: readonly SigningRequirement[],
  signers: ReadonlyMap<string, Signer>,
): Promise<Uint8Array> {
  const data = metadata.signedBytes();
  for (const keyid of authorizedKeyIds(requirements)) {
    const signer = signers.get(keyid);
    if (signer === undefined || metadata.signatures.has(keyid)) continue;
    const signature = await signer.sign(data);
    metadata.signatures.set(keyid, new Signature(keyid, bytesToHex(signature)));
  }
  return data;
}

/** Signatures present and missing, per requirement. */
export function requirementStatus(
  metadata: Metadata,
  requirements: readonly SigningRequirement[],
  signedBytes: Uint8Array = metadata.signedBytes(),
): RequirementStatus[] {
  return requirements.map((requirement) => {
    const result = requirement.delegator.getVerificationResult(
      requirement.role,
      metadata,
      undefined,
      signedBytes,
    );
    return {
      label: requirement.label,
      threshold: result.threshold,
      signed: [...result.signed],
      missing: [...result.unsigned],
      verified: result.verified,
    };
  });
}

/**
 * Throw unless every requirement is met.
 *
 * @throws UnsignedMetadataError naming the role, the delegator, how many signatures of how many,
 *   and the key ids still missing, so an operator knows whom to ask.
 */
export function assertSigned(
  name: string,
  metadata: Metadata,
  requirements: readonly SigningRequirement[],
  signedBytes?: Uint8Array,
): void {
  for (const status of requirementStatus(metadata, requirements, signedBytes)) {
    if (!status.verified) {
      throw new UnsignedMetadataError(
        `${name} version ${metadata.signed.version} has ${status.signed.length} valid signature(s) of the ${status.threshold} ` +
          `that ${status.label} requires; add signatures from: ${status.missing.join(', ') || '(no keys listed)'}`,
        { role: name },
      );
    }
  }
}
