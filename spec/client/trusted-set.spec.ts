import { beforeEach, describe, expect, it } from 'vitest';
import { roleKeysChanged, TrustedMetadataSet } from '../../src/client/trusted-set.js';
import { hashBytes, InMemorySigner } from '../../src/crypto/index.js';
import { Key, MetaFile } from '../../src/models/index.js';
import { NOW, PAST, RepoBuilder, signBytes } from './metadata-builder.js';

/** Run `fn` and return the `code` of what it throws (fails the test when nothing is thrown). */
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

async function newSet(referenceTime = NOW): Promise<TrustedMetadataSet> {
  return new TrustedMetadataSet(await repo.rootBytes(), { referenceTime });
}

/** A set with root, timestamp and snapshot loaded from the current repository state. */
async function setThroughSnapshot(): Promise<TrustedMetadataSet> {
  const set = await newSet();
  set.updateTimestamp(await repo.timestampBytes());
  set.updateSnapshot(await repo.snapshotBytes());
  return set;
}

describe('TrustedMetadataSet: the trust anchor', () => {
  it('accepts a root signed by a threshold of its own keys and keeps the reference time', async () => {
    const set = await newSet();
    expect(set.root.signed.version).toBe(1);
    expect(set.referenceTime.getTime()).toBe(NOW.getTime());
    expect(set.timestamp).toBeUndefined();
  });

  it('refuses a root not signed by its own root keys', async () => {
    const stranger = await InMemorySigner.generate('ed25519');
    const bytes = await repo.rootBytes([stranger]);
    expect(codeOf(() => new TrustedMetadataSet(bytes, { referenceTime: NOW }))).toBe(
      'ERR_TUF_UNSIGNED',
    );
  });

  it('refuses bytes that are not root metadata', async () => {
    const bytes = await repo.timestampBytes();
    expect(codeOf(() => new TrustedMetadataSet(bytes, { referenceTime: NOW }))).toBe(
      'ERR_TUF_FORMAT',
    );
  });

  it('does not check the expiry of the trust anchor (TUF 5.3: a newer root may follow)', async () => {
    repo.root.expires = PAST;
    const set = await newSet();
    expect(set.root.signed.expires).toEqual(PAST);
  });

  it('refuses an invalid reference time', async () => {
    const bytes = await repo.rootBytes();
    expect(
      codeOf(() => new TrustedMetadataSet(bytes, { referenceTime: new Date(Number.NaN) })),
    ).toBe('ERR_TUF_INVALID_STATE');
  });
});

describe('TrustedMetadataSet.updateRoot', () => {
  it('accepts version N+1 signed by the old and the new root keys', async () => {
    const set = await newSet();
    const oldSigner = repo.signersOf('root');
    const newSigner = await repo.rotate('root');
    set.updateRoot(await repo.rootBytes([...oldSigner, newSigner]));
    expect(set.root.signed.version).toBe(2);
  });

  it('refuses root N+2 (no root in the chain may be skipped)', async () => {
    const set = await newSet();
    repo.root.version = 3;
    const bytes = await repo.rootBytes();
    expect(codeOf(() => set.updateRoot(bytes))).toBe('ERR_TUF_BAD_VERSION');
    expect(set.root.signed.version).toBe(1);
  });

  it('refuses a replay of the trusted version N', async () => {
    const set = await newSet();
    const bytes = await repo.rootBytes();
    expect(codeOf(() => set.updateRoot(bytes))).toBe('ERR_TUF_BAD_VERSION');
  });

  it('refuses a new root signed only by the new keys', async () => {
    const set = await newSet();
    const newSigner = await repo.rotate('root');
    const bytes = await repo.rootBytes([newSigner]);
    expect(codeOf(() => set.updateRoot(bytes))).toBe('ERR_TUF_UNSIGNED');
    expect(set.root.signed.version).toBe(1);
  });

  it('refuses a new root signed only by the old keys', async () => {
    const set = await newSet();
    const oldSigners = repo.signersOf('root');
    await repo.rotate('root');
    const bytes = await repo.rootBytes(oldSigners);
    expect(codeOf(() => set.updateRoot(bytes))).toBe('ERR_TUF_UNSIGNED');
  });

  it('needs a threshold of the trusted root keys, counting distinct keys only', async () => {
    const second = await InMemorySigner.generate('ed25519');
    repo.root.addKey(Key.fromPublicKeyData(second.publicKey), 'root');
    repo.root.roles.root.threshold = 2;
    const [first] = repo.signersOf('root');
    if (first === undefined) throw new Error('no root signer');
    const set = new TrustedMetadataSet(await repo.rootBytes([first, second]), {
      referenceTime: NOW,
    });
    repo.root.version = 2;
    // One valid signature of the two needed.
    const bytes = await repo.rootBytes([first]);
    expect(codeOf(() => set.updateRoot(bytes))).toBe('ERR_TUF_UNSIGNED');
    set.updateRoot(await repo.rootBytes([first, second]));
    expect(set.root.signed.version).toBe(2);
  });

  it('accepts an expired intermediate root; the final root is checked by updateTimestamp', async () => {
    repo.root.expires = PAST;
    const set = await newSet();
    repo.root.version = 2; // still expired
    set.updateRoot(await repo.rootBytes());
    expect(codeOf(() => set.updateTimestamp(new Uint8Array(0)))).toBe('ERR_TUF_EXPIRED');
    try {
      set.updateTimestamp(new Uint8Array(0));
    } catch (error) {
      expect((error as { role?: string }).role).toBe('root');
    }
  });

  it('refuses to update root after a timestamp was loaded', async () => {
    const set = await newSet();
    set.updateTimestamp(await repo.timestampBytes());
    repo.root.version = 2;
    const bytes = await repo.rootBytes();
    expect(codeOf(() => set.updateRoot(bytes))).toBe('ERR_TUF_INVALID_STATE');
  });
});

describe('TrustedMetadataSet: fast-forward recovery (TUF 5.3.11)', () => {
  it('reports timestamp and snapshot as to discard when the timestamp keys rotate', async () => {
    const set = await newSet();
    await repo.rotate('timestamp');
    set.updateRoot(await repo.rootBytes());
    expect([...set.rolesToDiscard].sort()).toEqual(['snapshot', 'timestamp']);
  });

  it('reports both when only the snapshot threshold changes', async () => {
    const set = await newSet();
    const extra = await InMemorySigner.generate('ed25519');
    repo.root.addKey(Key.fromPublicKeyData(extra.publicKey), 'snapshot');
    repo.root.version = 2;
    set.updateRoot(await repo.rootBytes());
    expect([...set.rolesToDiscard].sort()).toEqual(['snapshot', 'timestamp']);
  });

  it('reports nothing when only the root or targets keys rotate', async () => {
    const set = await newSet();
    const oldRoot = repo.signersOf('root');
    const newRoot = await repo.rotate('root');
    await repo.rotate('targets');
    repo.root.version = 2;
    set.updateRoot(await repo.rootBytes([...oldRoot, newRoot]));
    expect(set.rolesToDiscard.size).toBe(0);
  });

  it('roleKeysChanged compares key material, not only key ids', async () => {
    const before = repo.root;
    const after = (await import('../../src/models/index.js')).Root.fromJSON(before.toJSON());
    expect(roleKeysChanged(before, after, 'timestamp')).toBe(false);
    const [keyid] = after.roles.timestamp.keyids;
    const other = await InMemorySigner.generate('ed25519');
    if (keyid === undefined) throw new Error('no timestamp key');
    after.keys[keyid] = Key.fromPublicKeyData(other.publicKey);
    expect(roleKeysChanged(before, after, 'timestamp')).toBe(true);
  });
});

describe('TrustedMetadataSet.updateTimestamp', () => {
  it('refuses a timestamp not signed by the timestamp keys', async () => {
    const set = await newSet();
    const bytes = await signBytes(repo.timestamp, repo.signersOf('snapshot'));
    expect(codeOf(() => set.updateTimestamp(bytes))).toBe('ERR_TUF_UNSIGNED');
    expect(set.timestamp).toBeUndefined();
  });

  it('refuses a timestamp version rollback', async () => {
    const set = await newSet();
    repo.timestamp.version = 5;
    set.updateTimestamp(await repo.timestampBytes());
    repo.timestamp.version = 4;
    const bytes = await repo.timestampBytes();
    expect(codeOf(() => set.updateTimestamp(bytes))).toBe('ERR_TUF_BAD_VERSION');
    expect(set.timestamp?.signed.version).toBe(5);
  });

  it('keeps the trusted timestamp when the new one has an equal version', async () => {
    const set = await newSet();
    set.updateTimestamp(await repo.timestampBytes());
    const trusted = set.timestamp;
    repo.timestamp.snapshotMeta = new MetaFile(7); // different content, same version
    const bytes = await repo.timestampBytes();
    expect(codeOf(() => set.updateTimestamp(bytes))).toBe('ERR_TUF_EQUAL_VERSION');
    expect(set.timestamp).toBe(trusted);
    expect(set.timestamp?.signed.snapshotMeta.version).toBe(1);
  });

  it('refuses a timestamp that lists a lower snapshot version than the trusted one', async () => {
    const set = await newSet();
    repo.timestamp.snapshotMeta = new MetaFile(3);
    set.updateTimestamp(await repo.timestampBytes());
    repo.timestamp.version = 2;
    repo.timestamp.snapshotMeta = new MetaFile(2);
    const bytes = await repo.timestampBytes();
    expect(codeOf(() => set.updateTimestamp(bytes))).toBe('ERR_TUF_BAD_VERSION');
  });

  it('keeps an expired timestamp as the rollback floor but refuses to go on with it', async () => {
    const set = await newSet();
    repo.timestamp.version = 5;
    repo.timestamp.expires = PAST;
    const expired = await repo.timestampBytes();
    expect(codeOf(() => set.updateTimestamp(expired))).toBe('ERR_TUF_EXPIRED');
    expect(set.timestamp?.signed.version).toBe(5);
    // The floor holds: an older (even unexpired) timestamp is a rollback.
    repo.timestamp.version = 4;
    repo.timestamp.expires = new Date('2100-01-01T00:00:00Z');
    const older = await repo.timestampBytes();
    expect(codeOf(() => set.updateTimestamp(older))).toBe('ERR_TUF_BAD_VERSION');
    // Snapshot cannot be loaded on an expired timestamp.
    const snapshot = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(snapshot))).toBe('ERR_TUF_EXPIRED');
    // A newer valid timestamp replaces it.
    repo.timestamp.version = 6;
    set.updateTimestamp(await repo.timestampBytes());
    set.updateSnapshot(snapshot);
    expect(set.snapshot?.signed.version).toBe(1);
  });

  it('checks the final root for expiry before anything else', async () => {
    repo.root.expires = PAST;
    const set = await newSet();
    const bytes = await repo.timestampBytes();
    expect(codeOf(() => set.updateTimestamp(bytes))).toBe('ERR_TUF_EXPIRED');
    expect(set.timestamp).toBeUndefined();
  });

  it('refuses to update the timestamp after a snapshot was loaded', async () => {
    const set = await setThroughSnapshot();
    repo.timestamp.version = 2;
    const bytes = await repo.timestampBytes();
    expect(codeOf(() => set.updateTimestamp(bytes))).toBe('ERR_TUF_INVALID_STATE');
  });
});

describe('TrustedMetadataSet.updateSnapshot', () => {
  it('refuses a snapshot before a timestamp', async () => {
    const set = await newSet();
    const bytes = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(bytes))).toBe('ERR_TUF_INVALID_STATE');
  });

  it('refuses a snapshot whose hash differs from the one the timestamp lists', async () => {
    const set = await newSet();
    const good = await repo.snapshotBytes();
    repo.timestamp.snapshotMeta = new MetaFile(1, undefined, {
      sha256: hashBytes(good, ['sha256']).sha256 ?? '',
    });
    set.updateTimestamp(await repo.timestampBytes());
    repo.snapshot.meta['targets.json'] = new MetaFile(1, 123);
    const tampered = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(tampered))).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
    expect(set.snapshot).toBeUndefined();
    set.updateSnapshot(good);
    expect(set.snapshot?.signed.version).toBe(1);
  });

  it('refuses a snapshot whose length differs from the one the timestamp lists', async () => {
    const set = await newSet();
    const good = await repo.snapshotBytes();
    repo.timestamp.snapshotMeta = new MetaFile(1, good.byteLength + 1);
    set.updateTimestamp(await repo.timestampBytes());
    expect(codeOf(() => set.updateSnapshot(good))).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  });

  it('refuses a snapshot not signed by the snapshot keys', async () => {
    const set = await newSet();
    set.updateTimestamp(await repo.timestampBytes());
    const bytes = await signBytes(repo.snapshot, repo.signersOf('timestamp'));
    expect(codeOf(() => set.updateSnapshot(bytes))).toBe('ERR_TUF_UNSIGNED');
  });

  it('refuses, as final, a snapshot whose version differs from the timestamp meta', async () => {
    const set = await newSet();
    repo.timestamp.snapshotMeta = new MetaFile(2);
    set.updateTimestamp(await repo.timestampBytes());
    const bytes = await repo.snapshotBytes(); // version 1
    expect(codeOf(() => set.updateSnapshot(bytes))).toBe('ERR_TUF_BAD_VERSION');
    // Kept as intermediate (rollback floor), but targets cannot be loaded on it.
    expect(set.snapshot?.signed.version).toBe(1);
    const targets = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(targets))).toBe('ERR_TUF_BAD_VERSION');
  });

  it('refuses an expired snapshot as final', async () => {
    const set = await newSet();
    set.updateTimestamp(await repo.timestampBytes());
    repo.snapshot.expires = PAST;
    const bytes = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(bytes))).toBe('ERR_TUF_EXPIRED');
    const targets = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(targets))).toBe('ERR_TUF_EXPIRED');
  });

  it('refuses a new snapshot from which a targets role disappeared', async () => {
    await repo.delegate('targets', 'role-a');
    const set = await newSet();
    repo.timestamp.snapshotMeta = new MetaFile(2);
    set.updateTimestamp(await repo.timestampBytes());
    // Cached intermediate snapshot v1 lists role-a.json.
    const cached = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(cached, { trusted: true }))).toBe('ERR_TUF_BAD_VERSION');
    repo.snapshot.version = 2;
    delete repo.snapshot.meta['role-a.json'];
    const bytes = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(bytes))).toBe('ERR_TUF_REPOSITORY');
    expect(set.snapshot?.signed.version).toBe(1);
  });

  it('refuses a new snapshot that lowers a targets version', async () => {
    const set = await newSet();
    repo.timestamp.snapshotMeta = new MetaFile(2);
    set.updateTimestamp(await repo.timestampBytes());
    repo.snapshot.meta['targets.json'] = new MetaFile(5);
    const cached = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(cached, { trusted: true }))).toBe('ERR_TUF_BAD_VERSION');
    repo.snapshot.version = 2;
    repo.snapshot.meta['targets.json'] = new MetaFile(4);
    const bytes = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(bytes))).toBe('ERR_TUF_BAD_VERSION');
    expect(set.snapshot?.signed.meta['targets.json']?.version).toBe(5);
  });

  it('trusted cached bytes skip the hash check as a floor, but not as the final snapshot', async () => {
    const set = await newSet();
    repo.timestamp.snapshotMeta = new MetaFile(1, undefined, { sha256: '00'.repeat(32) });
    set.updateTimestamp(await repo.timestampBytes());
    const cached = await repo.snapshotBytes();
    expect(codeOf(() => set.updateSnapshot(cached, { trusted: true }))).toBe(
      'ERR_TUF_LENGTH_OR_HASH_MISMATCH',
    );
    expect(set.snapshot?.signed.version).toBe(1); // kept as intermediate
    const targets = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(targets))).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  });

  it('accepts trusted cached bytes that match the timestamp as final', async () => {
    const set = await newSet();
    const cached = await repo.snapshotBytes();
    repo.timestamp.snapshotMeta = new MetaFile(1, cached.byteLength, hashBytes(cached, ['sha256']));
    set.updateTimestamp(await repo.timestampBytes());
    set.updateSnapshot(cached, { trusted: true });
    set.updateTargets(await repo.targetsBytes());
    expect(set.targets?.signed.version).toBe(1);
  });
});

describe('TrustedMetadataSet.updateTargets', () => {
  it('refuses targets before a snapshot', async () => {
    const set = await newSet();
    set.updateTimestamp(await repo.timestampBytes());
    const bytes = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(bytes))).toBe('ERR_TUF_INVALID_STATE');
  });

  it('accepts targets matching the snapshot and returns them', async () => {
    const set = await setThroughSnapshot();
    const targets = set.updateTargets(await repo.targetsBytes());
    expect(set.targets).toBe(targets);
    expect(set.getDelegatedRole('targets', 'root')).toBe(targets);
  });

  it('refuses a targets version other than the snapshot lists', async () => {
    const set = await setThroughSnapshot();
    repo.targets.version = 2;
    const bytes = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(bytes))).toBe('ERR_TUF_BAD_VERSION');
    expect(set.targets).toBeUndefined();
  });

  it('refuses targets whose hash differs from the one the snapshot lists', async () => {
    repo.snapshot.meta['targets.json'] = new MetaFile(1, undefined, { sha256: 'ab'.repeat(32) });
    const set = await setThroughSnapshot();
    const bytes = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(bytes))).toBe('ERR_TUF_LENGTH_OR_HASH_MISMATCH');
  });

  it('refuses targets not signed by the targets keys', async () => {
    const set = await setThroughSnapshot();
    const bytes = await signBytes(repo.targets, repo.signersOf('snapshot'));
    expect(codeOf(() => set.updateTargets(bytes))).toBe('ERR_TUF_UNSIGNED');
  });

  it('refuses expired targets and keeps nothing', async () => {
    const set = await setThroughSnapshot();
    repo.targets.expires = PAST;
    const bytes = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(bytes))).toBe('ERR_TUF_EXPIRED');
    expect(set.targets).toBeUndefined();
  });

  it('refuses targets the snapshot does not list', async () => {
    delete repo.snapshot.meta['targets.json'];
    const set = await setThroughSnapshot();
    const bytes = await repo.targetsBytes();
    expect(codeOf(() => set.updateTargets(bytes))).toBe('ERR_TUF_REPOSITORY');
  });
});

describe('TrustedMetadataSet.updateDelegatedTargets', () => {
  it('verifies a delegated role against its delegator', async () => {
    await repo.delegate('targets', 'role-a');
    const set = await setThroughSnapshot();
    set.updateTargets(await repo.targetsBytes());
    const a = set.updateDelegatedTargets(await repo.delegatedBytes('role-a'), 'role-a', 'targets');
    expect(set.getDelegatedRole('role-a', 'targets')).toBe(a);
  });

  it('refuses a delegated role before its delegator is trusted', async () => {
    await repo.delegate('targets', 'role-a');
    const set = await setThroughSnapshot();
    const bytes = await repo.delegatedBytes('role-a');
    expect(codeOf(() => set.updateDelegatedTargets(bytes, 'role-a', 'targets'))).toBe(
      'ERR_TUF_INVALID_STATE',
    );
  });

  it('refuses a role the delegator does not delegate', async () => {
    await repo.delegate('targets', 'role-a');
    await repo.delegate('role-a', 'role-b');
    const set = await setThroughSnapshot();
    set.updateTargets(await repo.targetsBytes());
    const bytes = await repo.delegatedBytes('role-b');
    expect(codeOf(() => set.updateDelegatedTargets(bytes, 'role-b', 'targets'))).toBe(
      'ERR_TUF_REPOSITORY',
    );
  });

  it('refuses the top-level targets under any delegator but root', async () => {
    const set = await setThroughSnapshot();
    const bytes = await repo.targetsBytes();
    expect(codeOf(() => set.updateDelegatedTargets(bytes, 'targets', 'targets'))).toBe(
      'ERR_TUF_INVALID_STATE',
    );
  });

  it('trusts a role through the delegator of the path being followed, not through another', async () => {
    // role-a and role-b both delegate "shared"; role-a lists key KA for it, role-b lists KB.
    // "shared" is signed by KA only: trusted through role-a, refused through role-b.
    await repo.delegate('targets', 'role-a');
    await repo.delegate('targets', 'role-b');
    const ka = await repo.delegate('role-a', 'shared');
    await repo.delegate('role-b', 'shared'); // fresh key KB, which does not sign
    repo.signers.set('shared', [ka]);
    const set = await setThroughSnapshot();
    set.updateTargets(await repo.targetsBytes());
    set.updateDelegatedTargets(await repo.delegatedBytes('role-a'), 'role-a', 'targets');
    set.updateDelegatedTargets(await repo.delegatedBytes('role-b'), 'role-b', 'targets');
    const shared = await repo.delegatedBytes('shared');
    set.updateDelegatedTargets(shared, 'shared', 'role-a');
    expect(set.getDelegatedRole('shared', 'role-a')).toBeDefined();
    expect(codeOf(() => set.updateDelegatedTargets(shared, 'shared', 'role-b'))).toBe(
      'ERR_TUF_UNSIGNED',
    );
    expect(set.getDelegatedRole('shared', 'role-b')).toBeUndefined();
  });

  it('refuses other content for a role already trusted through another delegator', async () => {
    await repo.delegate('targets', 'role-a');
    await repo.delegate('targets', 'role-b');
    const k = await repo.delegate('role-a', 'shared');
    await repo.delegate('role-b', 'shared', { signer: k });
    const set = await setThroughSnapshot();
    set.updateTargets(await repo.targetsBytes());
    set.updateDelegatedTargets(await repo.delegatedBytes('role-a'), 'role-a', 'targets');
    set.updateDelegatedTargets(await repo.delegatedBytes('role-b'), 'role-b', 'targets');
    set.updateDelegatedTargets(await repo.delegatedBytes('shared'), 'shared', 'role-a');
    repo.addTarget('shared', 'evil.bin', new Uint8Array([1]));
    const other = await repo.delegatedBytes('shared');
    expect(codeOf(() => set.updateDelegatedTargets(other, 'shared', 'role-b'))).toBe(
      'ERR_TUF_REPOSITORY',
    );
  });

  it('refuses a delegated role whose version differs from the snapshot', async () => {
    await repo.delegate('targets', 'role-a');
    const set = await setThroughSnapshot();
    set.updateTargets(await repo.targetsBytes());
    const role = repo.delegated.get('role-a');
    if (role === undefined) throw new Error('missing role');
    role.version = 3;
    const bytes = await repo.delegatedBytes('role-a');
    expect(codeOf(() => set.updateDelegatedTargets(bytes, 'role-a', 'targets'))).toBe(
      'ERR_TUF_BAD_VERSION',
    );
  });

  it('refuses an expired delegated role', async () => {
    await repo.delegate('targets', 'role-a');
    const set = await setThroughSnapshot();
    set.updateTargets(await repo.targetsBytes());
    const role = repo.delegated.get('role-a');
    if (role === undefined) throw new Error('missing role');
    role.expires = PAST;
    const bytes = await repo.delegatedBytes('role-a');
    expect(codeOf(() => set.updateDelegatedTargets(bytes, 'role-a', 'targets'))).toBe(
      'ERR_TUF_EXPIRED',
    );
    expect(set.getDelegatedRole('role-a', 'targets')).toBeUndefined();
  });
});
