/**
 * Threshold and offline signing: sign pending roles with the keys at hand and stage them
 * (`.tufota/staging/ROLE.json`) so that other sessions — another administrator, an offline
 * machine, an HSM — can add signatures before a publish; add signatures made elsewhere, each
 * checked against the keys the role's delegator trusts before it is kept; and report, per role,
 * the signatures present and missing against every threshold it must meet (`tufota status`).
 *
 * Signatures never touch a role's `signed` portion, so the bytes every signer covers stay the
 * same from `prepare` to `publish`.
 *
 * Not safe for concurrent use.
 *
 * @module
 */
import { bytesToHex, type Signer } from '../crypto/index.js';
import { RepositoryEditError } from '../errors.js';
import { type Metadata, Signature, type Targets } from '../models/index.js';
import type { RoleStatus } from './options.js';
import { forEachLimit } from './publish.js';
import type { SignedRole } from './signed-role.js';
import { authorizedKeyIds, listedKey, requirementStatus, signWithAvailable } from './signing.js';
import { CONCURRENCY, type RepositoryState } from './state.js';

/** Sign pending roles with the signers at hand and stage them (see `Repository.prepare`). */
export async function prepare(state: RepositoryState, roles?: string[]): Promise<string[]> {
  const names = roles ?? state.pendingNames();
  for (const name of names) state.pendingOf(name);
  await forEachLimit(names, CONCURRENCY, async (name) => {
    const md = state.pendingOf(name);
    await signWithAvailable(md, state.requirements(name, false), state.signers);
    await state.stage(name, md);
  });
  return names;
}

/** Add one signature to a pending role (see `Repository.addSignature`). */
export async function addSignature(
  state: RepositoryState,
  role: string,
  signer: Signer,
): Promise<void> {
  const md = state.pendingOf(role);
  const requirements = state.requirements(role, false);
  if (!authorizedKeyIds(requirements).has(signer.keyid)) {
    throw new RepositoryEditError(
      `key ${signer.keyid} is not trusted to sign ${role}; trusted: ${[...authorizedKeyIds(requirements)].join(', ')}`,
      { role },
      'ERR_TUF_KEY_NOT_AUTHORIZED',
    );
  }
  const data = md.signedBytes();
  const signatureBytes = await signer.sign(data);
  const key = listedKey(requirements, signer.keyid);
  const signature = new Signature(signer.keyid, bytesToHex(signatureBytes));
  if (key === undefined || !key.verifySignature(signature, data)) {
    throw new RepositoryEditError(
      `the signature of signer ${signer.keyid} does not verify with the key listed under that key id for ${role}`,
      { role },
      'ERR_TUF_KEY_NOT_AUTHORIZED',
    );
  }
  md.signatures.set(signer.keyid, signature);
  if (state.isStaged(role)) await state.stage(role, md);
}

/** Version, expiry and signatures of every role (see `Repository.status`). */
export function roleStatuses(state: RepositoryState): RoleStatus[] {
  const out: RoleStatus[] = [];
  const describe = (
    role: string,
    delegator: string,
    md: Metadata,
    pending: boolean,
    staged: boolean,
  ) => {
    const requirements = requirementStatus(md, state.requirements(role, false));
    out.push({
      role,
      delegator,
      version: md.signed.version,
      expires: md.signed.expires,
      pending,
      staged,
      requirements,
      verified: requirements.every((r) => r.verified),
    });
  };
  describe('root', 'root', state.currentRoot(), state.pendingRoot !== undefined, state.rootStaged);
  for (const name of ['timestamp', 'snapshot'] as const) {
    const role = name === 'timestamp' ? state.timestamp : state.snapshot;
    if (role !== undefined) describe(name, 'root', role.metadata, false, false);
  }
  for (const [name, entry] of state.roles) {
    describe(
      name,
      state.delegators.get(name) ?? 'root',
      entry.pending ?? (entry.published as SignedRole<Targets>).metadata,
      entry.pending !== undefined,
      entry.staged,
    );
  }
  return out;
}
