/**
 * Threshold counting counts distinct key material, not key ids: a root or delegator listing one
 * public key under two key ids must not let one private key meet a threshold of two (issue 9;
 * go-tuf GHSA / PR 733, tough GHSA-5q2r-92f9-4m49, python-tuf PR 1091).
 */
import { createPublicKey } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { TrustedMetadataSet } from '../../src/client/trusted-set.js';
import { InMemorySigner, publicKeyFingerprint } from '../../src/crypto/index.js';
import {
  type DelegatedRole,
  Delegations,
  Key,
  Metadata,
  type Root,
  Signature,
  Targets,
} from '../../src/models/index.js';
import { NOW, RepoBuilder } from '../client/metadata-builder.js';

const ALIAS = 'alias-of-the-same-key';

/** Sign `signed` with `signer`, then copy that one signature under `ALIAS` too. */
async function signTwice(signed: Root | Targets, signer: InMemorySigner): Promise<Uint8Array> {
  const md = new Metadata(signed);
  const signature = await md.sign(signer);
  md.signatures.set(ALIAS, new Signature(ALIAS, signature.sig));
  return md.toBytes();
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? `not a TufError: ${String(error)}`;
  }
  throw new Error('expected an error, nothing was thrown');
}

let repo: RepoBuilder;

beforeEach(async () => {
  repo = await RepoBuilder.create();
});

describe('a root listing one key under two key ids', () => {
  /** Make root's root role list its one key twice, with threshold 2. */
  function listRootKeyTwice(root: Root, signer: InMemorySigner): void {
    root.keys[ALIAS] = Key.fromPublicKeyData(signer.publicKey);
    root.roles.root.keyids.push(ALIAS);
    root.roles.root.threshold = 2;
  }

  it('is refused as a trust anchor when one key signed under both ids', async () => {
    const [signer] = repo.signersOf('root') as [InMemorySigner];
    listRootKeyTwice(repo.root, signer);
    const bytes = await signTwice(repo.root, signer);
    const md = Metadata.fromBytes(bytes, 'root');
    const result = md.getVerificationResult('root', md);
    expect(result.signed.size).toBe(1);
    expect([...result.duplicates]).toHaveLength(1);
    expect(result.verified).toBe(false);
    expect(codeOf(() => new TrustedMetadataSet(bytes, { referenceTime: NOW }))).toBe(
      'ERR_TUF_UNSIGNED',
    );
  });

  it('is refused as a rotated root (its own threshold, TUF 5.3.5)', async () => {
    const set = new TrustedMetadataSet(await repo.rootBytes(), { referenceTime: NOW });
    const [signer] = repo.signersOf('root') as [InMemorySigner];
    listRootKeyTwice(repo.root, signer);
    repo.root.version = 2;
    const bytes = await signTwice(repo.root, signer);
    expect(codeOf(() => set.updateRoot(bytes))).toBe('ERR_TUF_UNSIGNED');
    expect(set.root.signed.version).toBe(1);
  });

  it('is refused as the trusted root checking a rotation (its threshold, TUF 5.3.5)', async () => {
    const [signer] = repo.signersOf('root') as [InMemorySigner];
    listRootKeyTwice(repo.root, signer);
    // Trusted root v1 lists the key twice with threshold 2 but is honestly signed by a second,
    // distinct key too, so it is a valid anchor.
    const second = await InMemorySigner.generate('ed25519');
    repo.root.addKey(Key.fromPublicKeyData(second.publicKey), 'root');
    const v1 = new Metadata(repo.root);
    await v1.sign(signer, { append: true });
    await v1.sign(second, { append: true });
    const set = new TrustedMetadataSet(v1.toBytes(), { referenceTime: NOW });
    // v2 trusts only `signer` (threshold 1), and only `signer` signs it, under both ids.
    repo.root.version = 2;
    repo.root.revokeKey(second.keyid, 'root');
    const v2 = new Metadata(repo.root);
    v2.signed.roles.root.threshold = 1;
    await v2.sign(signer);
    v2.signatures.set(
      ALIAS,
      new Signature(ALIAS, (v2.signatures.get(signer.keyid) as Signature).sig),
    );
    expect(codeOf(() => set.updateRoot(v2.toBytes()))).toBe('ERR_TUF_UNSIGNED');
  });

  it('still counts two distinct keys (the duplicate is ignored, not fatal)', async () => {
    const [signer] = repo.signersOf('root') as [InMemorySigner];
    listRootKeyTwice(repo.root, signer);
    const second = await InMemorySigner.generate('ed25519');
    repo.root.addKey(Key.fromPublicKeyData(second.publicKey), 'root');
    const md = new Metadata(repo.root);
    const signature = await md.sign(signer);
    md.signatures.set(ALIAS, new Signature(ALIAS, signature.sig));
    await md.sign(second, { append: true });
    const set = new TrustedMetadataSet(md.toBytes(), { referenceTime: NOW });
    expect(set.root.signed.roles.root.threshold).toBe(2);
  });
});

describe('a delegator listing one key under two key ids', () => {
  it('a delegated role with threshold 2 signed by one key under both ids is refused', async () => {
    const signer = await repo.delegate('targets', 'vendor');
    const delegations = repo.targets.delegations as Delegations;
    const role = delegations.getRole('vendor') as DelegatedRole;
    delegations.keys[ALIAS] = Key.fromPublicKeyData(signer.publicKey);
    role.keyids.push(ALIAS);
    role.threshold = 2;
    const set = new TrustedMetadataSet(await repo.rootBytes(), { referenceTime: NOW });
    set.updateTimestamp(await repo.timestampBytes());
    set.updateSnapshot(await repo.snapshotBytes());
    set.updateTargets(await repo.targetsBytes());
    const bytes = await signTwice(repo.delegated.get('vendor') as Targets, signer);
    expect(codeOf(() => set.updateDelegatedTargets(bytes, 'vendor', 'targets'))).toBe(
      'ERR_TUF_UNSIGNED',
    );
    expect(set.getDelegatedRole('vendor', 'targets')).toBeUndefined();
  });

  it('succinct hash bins with threshold 2 signed by one key under both ids are refused', async () => {
    const signer = await InMemorySigner.generate('ed25519');
    const key = Key.fromPublicKeyData(signer.publicKey);
    const targets = new Metadata(repo.targets);
    targets.signed.delegations = Delegations.fromJSON({
      keys: { [signer.keyid]: key.toJSON(), [ALIAS]: key.toJSON() },
      succinct_roles: {
        keyids: [signer.keyid, ALIAS],
        threshold: 2,
        bit_length: 1,
        name_prefix: 'bin',
      },
    });
    const binTargets = new Targets({ expires: repo.targets.expires });
    const bytes = await signTwice(binTargets, signer);
    const md = Metadata.fromBytes(bytes, 'targets');
    expect(codeOf(() => targets.verifyDelegate('bin-0', md))).toBe('ERR_TUF_UNSIGNED');
  });
});

describe('publicKeyFingerprint', () => {
  it('is the same for the SPKI and PKCS#1 encodings of one RSA key and differs between keys', async () => {
    const a = await InMemorySigner.generate('rsa', { rsaModulusLength: 2048 });
    const b = await InMemorySigner.generate('ed25519');
    const pkcs1 = createPublicKey(a.publicKey.keyval.public)
      .export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const aAgain = { ...a.publicKey, keyval: { public: pkcs1 } };
    expect(publicKeyFingerprint(a.publicKey)).toBeDefined();
    expect(publicKeyFingerprint(aAgain)).toBe(publicKeyFingerprint(a.publicKey));
    expect(publicKeyFingerprint(b.publicKey)).not.toBe(publicKeyFingerprint(a.publicKey));
    const upper = { ...b.publicKey, keyval: { public: b.publicKey.keyval.public.toUpperCase() } };
    expect(publicKeyFingerprint(upper)).toBe(publicKeyFingerprint(b.publicKey));
  });
});
