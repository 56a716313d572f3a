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

/**
 * Sign pending roles with the signers at hand and stage them (see `Repository.prepare`); also
 * persist snapshot/timestamp re-signing marks, and drop staged files of roles no longer pending.
 */
export async function prepare(state: RepositoryState, roles?: string[]): Promise<string[]> {
  const names = roles ?? state.pendingNames();
  for (const name of names) state.pendingOf(name);
  await forEachLimit(names, CONCURRENCY, async (name) => {
    const md = state.pendingOf(name);
    await signWithAvailable(md, state.requirements(name, false), state.signers);
    await state.stage(name, md);
  });
  await state.stageResign();
  await state.clearStaging();
  return names;
}

/**
 * Add signatures to a pending role, all or none (see `Repository.addSignatures`): every signer is
 * checked to be trusted for the role, and every signature to verify with the key listed under
 * its key id, before any is kept; the role is then staged once.
 *
 * @returns the key ids whose signatures were added.
 */
export async function addSignatures(
  state: RepositoryState,
  role: string,
  signers: readonly Signer[],
): Promise<string[]> {
  const md = state.pendingOf(role);
  const requirements = state.requirements(role, false);
  const trusted = authorizedKeyIds(requirements);
  const untrusted = signers.filter((s) => !trusted.has(s.keyid)).map((s) => s.keyid);
  if (untrusted.length > 0) {
    throw new RepositoryEditError(
      `key ${untrusted.join(', ')} is not trusted to sign ${role}; trusted: ${[...trusted].join(', ')}. Nothing was added.`,
      { role },
      'ERR_TUF_KEY_NOT_AUTHORIZED',
    );
  }
  const data = md.signedBytes();
  const signatures: Signature[] = [];
  for (const signer of signers) {
    const signature = new Signature(signer.keyid, bytesToHex(await signer.sign(data)));
    const key = listedKey(requirements, signer.keyid);
    if (key === undefined || !key.verifySignature(signature, data)) {
      throw new RepositoryEditError(
        `the signature of signer ${signer.keyid} does not verify with the key listed under that key id for ${role}. Nothing was added.`,
        { role },
        'ERR_TUF_KEY_NOT_AUTHORIZED',
      );
    }
    signatures.push(signature);
  }
  for (const signature of signatures) md.signatures.set(signature.keyid, signature);
  if (state.isStaged(role)) await state.stage(role, md);
  return signatures.map((s) => s.keyid);
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
      resign:
        (role === 'snapshot' && state.forceSnapshot) ||
        (role === 'timestamp' && state.forceTimestamp),
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
