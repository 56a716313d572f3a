/**
 * A small in-test repository for the client specs: builds top-level and delegated metadata with
 * the models, signs it with in-memory ed25519 keys, and hands out the exact bytes a repository
 * would serve. The full repository simulator (src/testing/) is a separate, public component;
 * this helper keeps the trusted-set specs about bytes alone.
 */
import { hashBytes, InMemorySigner } from '../../src/crypto/index.js';
import {
  type AnySigned,
  DelegatedRole,
  Delegations,
  Key,
  Metadata,
  MetaFile,
  Root,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
} from '../../src/models/index.js';

/** The reference time the specs use. */
export const NOW = new Date('2030-01-01T00:00:00Z');
/** An expiry well after {@link NOW}. */
export const FUTURE = new Date('2100-01-01T00:00:00Z');
/** An expiry before {@link NOW}. */
export const PAST = new Date('2020-01-01T00:00:00Z');

export type TopRole = 'root' | 'timestamp' | 'snapshot' | 'targets';

/** Sign `signed` with each signer and serialize, as a repository would publish it. */
export async function signBytes(
  signed: AnySigned,
  signers: readonly InMemorySigner[],
): Promise<Uint8Array> {
  const md = new Metadata(signed);
  for (const signer of signers) await md.sign(signer, { append: true });
  return md.toBytes();
}

/** Mutable repository state plus signing helpers. */
export class RepoBuilder {
  readonly signers = new Map<string, InMemorySigner[]>();
  root = new Root({ expires: FUTURE, consistentSnapshot: true });
  timestamp = new Timestamp({ expires: FUTURE });
  snapshot = new Snapshot({ expires: FUTURE });
  targets = new Targets({ expires: FUTURE });
  readonly delegated = new Map<string, Targets>();

  static async create(): Promise<RepoBuilder> {
    const repo = new RepoBuilder();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
      const signer = await InMemorySigner.generate('ed25519');
      repo.root.addKey(Key.fromPublicKeyData(signer.publicKey), role);
      repo.signers.set(role, [signer]);
    }
    return repo;
  }

  signersOf(role: string): InMemorySigner[] {
    return this.signers.get(role) ?? [];
  }

  async rootBytes(
    signers: readonly InMemorySigner[] = this.signersOf('root'),
  ): Promise<Uint8Array> {
    return signBytes(this.root, signers);
  }

  async timestampBytes(): Promise<Uint8Array> {
    return signBytes(this.timestamp, this.signersOf('timestamp'));
  }

  async snapshotBytes(): Promise<Uint8Array> {
    return signBytes(this.snapshot, this.signersOf('snapshot'));
  }

  async targetsBytes(): Promise<Uint8Array> {
    return signBytes(this.targets, this.signersOf('targets'));
  }

  async delegatedBytes(
    name: string,
    signers: readonly InMemorySigner[] = this.signersOf(name),
  ): Promise<Uint8Array> {
    const role = this.delegated.get(name);
    if (role === undefined) throw new Error(`no delegated role ${name}`);
    return signBytes(role, signers);
  }

  /**
   * Replace `role`'s keys in root with a fresh one (threshold unchanged) and bump the root
   * version. Returns the new signer; the old ones stay available to the caller.
   */
  async rotate(role: TopRole): Promise<InMemorySigner> {
    const signer = await InMemorySigner.generate('ed25519');
    for (const old of this.signersOf(role)) this.root.revokeKey(old.keyid, role);
    this.root.addKey(Key.fromPublicKeyData(signer.publicKey), role);
    this.signers.set(role, [signer]);
    this.root.version += 1;
    return signer;
  }

  /**
   * Delegate `name` from `delegator` (`targets` or a delegated role) with fresh keys, list it in
   * the snapshot, and return its signer.
   */
  async delegate(
    delegator: string,
    name: string,
    options: { paths?: string[]; terminating?: boolean; signer?: InMemorySigner } = {},
  ): Promise<InMemorySigner> {
    const parent = delegator === 'targets' ? this.targets : this.delegated.get(delegator);
    if (parent === undefined) throw new Error(`no delegator ${delegator}`);
    const signer = options.signer ?? (await InMemorySigner.generate('ed25519'));
    parent.delegations ??= new Delegations({ roles: [] });
    parent.delegations.roles?.push(
      new DelegatedRole({
        name,
        keyids: [],
        threshold: 1,
        terminating: options.terminating ?? false,
        paths: options.paths ?? ['*'],
      }),
    );
    parent.delegations.addKey(Key.fromPublicKeyData(signer.publicKey), name);
    if (!this.delegated.has(name)) this.delegated.set(name, new Targets({ expires: FUTURE }));
    if (!this.signers.has(name)) this.signers.set(name, [signer]);
    this.snapshot.meta[`${name}.json`] = new MetaFile(1);
    return signer;
  }

  /** Add a target with real length and sha256 to `role` (`targets` or a delegated role). */
  addTarget(role: string, path: string, content: Uint8Array): TargetFile {
    const target = new TargetFile(path, content.byteLength, hashBytes(content, ['sha256']));
    const targets = role === 'targets' ? this.targets : this.delegated.get(role);
    if (targets === undefined) throw new Error(`no role ${role}`);
    targets.addTarget(target);
    return target;
  }
}
