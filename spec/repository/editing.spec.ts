/**
 * Repository edits the CLI needed beyond the first cut, each judged by both clients (tuf-js and
 * our Updater) where it changes what is served: removing a delegation (snapshot keeps the role
 * listed, or clients would refuse it), refresh staged for another session's publish,
 * all-or-nothing signature batches, and expiry periods changed after creation.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DelegatedRole,
  Metadata,
  type Snapshot,
  type Targets,
} from '../../src/models/index.js';
import { FsRepositoryStorage, Repository, STAGING_DIR } from '../../src/repository/index.js';
import { Client, createRepository, ed25519, T0, useServedDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);
const DAY = 86_400_000;

function snapshotMeta(repo: Repository): Record<string, { version: number }> {
  return (repo.getPublished('snapshot')!.metadata as Metadata<Snapshot>).signed.meta;
}

describe('Repository: removing delegations, staged refresh, signature batches, expiry', () => {
  const served = useServedDir();

  it('removeDelegation: the role and its subtree become unreachable, stay listed in snapshot, and the name can be delegated again', async () => {
    const { repo, keys } = await createRepository(served.dir);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    const [vendor, nested, shared] = await ed25519(3);
    repo.delegate('vendor', { paths: ['vendor/*'], keys: [vendor!, shared!] });
    repo.delegate('vendor-beta', {
      delegator: 'vendor',
      paths: ['vendor/beta-*'],
      keys: [nested!],
    });
    repo.delegate('apps', { paths: ['apps/*'], keys: [shared!] });
    await repo.addTarget('vendor/a.img', text('a'), { role: 'vendor' });
    await repo.addTarget('vendor/beta-1.img', text('b'), { role: 'vendor-beta' });
    await repo.addTarget('apps/x', text('x'), { role: 'apps' });
    await repo.publish();
    expect(await client.lookup('vendor/beta-1.img')).toBeDefined();

    expect(() => repo.removeDelegation('vendor', { delegator: 'apps' })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
    const removed = repo.removeDelegation('vendor');
    expect(removed.roles.sort()).toEqual(['vendor', 'vendor-beta']);
    // The vendor key goes; the key `apps` still uses stays.
    expect(removed.keyids).toEqual([vendor!.keyid]);
    const delegations = (repo.getMetadata('targets').signed as Targets).delegations!;
    expect(Object.keys(delegations.keys)).toEqual([shared!.keyid]);
    expect(delegations.roles!.map((r: DelegatedRole) => r.name)).toEqual(['apps']);
    expect(repo.targetsRoleNames()).toEqual(['targets', 'apps']);
    const result = await repo.publish();
    expect(result.roles.map((r) => r.role)).toEqual(['targets', 'snapshot', 'timestamp']);

    // Both clients accept the new snapshot and no longer find the removed roles' targets.
    expect(await client.lookupAll(['vendor/a.img', 'vendor/beta-1.img', 'apps/x'])).toEqual([
      undefined,
      undefined,
      expect.objectContaining({ path: 'apps/x' }),
    ]);
    expect(snapshotMeta(repo)['vendor.json']?.version).toBe(1);
    expect(snapshotMeta(repo)['vendor-beta.json']?.version).toBe(1);

    // A later session does not load the removed roles; delegating the name again starts above v1.
    const again = await Repository.open(await FsRepositoryStorage.open(served.dir), {
      signers: [keys.targets, keys.snapshot, keys.timestamp, vendor!],
      now: () => T0,
    });
    expect(again.targetsRoleNames()).toEqual(['targets', 'apps']);
    again.delegate('vendor', { paths: ['vendor/*'], keys: [vendor!] });
    await again.addTarget('vendor/c.img', text('c'), { role: 'vendor' });
    await again.publish();
    expect(snapshotMeta(again)['vendor.json']?.version).toBe(2);
    expect(new TextDecoder().decode(await client.download('vendor/c.img'))).toBe('c');
    expect(await client.lookup('vendor/a.img')).toBeUndefined();
  });

  it('removeDelegation refuses top-level roles, unknown roles and single hash bins, changing nothing', async () => {
    const { repo } = await createRepository(served.dir);
    const [bins] = await ed25519(1);
    repo.createHashBins({ bitLength: 2, keys: [bins!] });
    const before = repo.getMetadata('targets').signedBytes();
    for (const name of ['targets', 'snapshot', 'nope', 'bins-0']) {
      expect(() => repo.removeDelegation(name)).toThrow(
        expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
      );
    }
    expect(repo.getMetadata('targets').signedBytes()).toEqual(before);
    expect(repo.targetsRoleNames()).toHaveLength(5);
  });

  it('refresh({ publish: false }) + prepare persists due snapshot/timestamp; the next session publishes them', async () => {
    let now = T0;
    const { repo, keys } = await createRepository(served.dir, () => now);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    now = new Date(T0.getTime() + 4 * DAY); // snapshot (7d) and timestamp (1d) are due
    const marked = await repo.refresh({ publish: false });
    expect(marked.roles).toEqual(['snapshot', 'timestamp']);
    expect(await repo.prepare()).toEqual([]);
    expect(repo.status().find((s) => s.role === 'snapshot')).toMatchObject({ resign: true });

    // Another process (`tufota publish`) opens the repository: the marks are still there.
    const storage = await FsRepositoryStorage.open(served.dir);
    const next = await Repository.open(storage, {
      signers: [keys.snapshot, keys.timestamp],
      now: () => now,
    });
    expect(next.status().find((s) => s.role === 'timestamp')).toMatchObject({ resign: true });
    const result = await next.publish();
    expect(result.roles.map((r) => `${r.role} v${r.version}`)).toEqual([
      'snapshot v2',
      'timestamp v2',
    ]);
    expect(next.getPublished('timestamp')!.metadata.signed.expires.getTime()).toBe(
      now.getTime() + DAY,
    );
    await client.refresh();
    expect(await client.trusted('timestamp')).toBe(2);
    // The marks are gone once published: a third session has nothing to publish.
    const third = await Repository.open(storage, {
      signers: [keys.snapshot, keys.timestamp],
      now: () => now,
    });
    expect((await third.publish()).roles).toEqual([]);
  });

  it('stale re-signing marks (a publish happened since) are ignored and cleaned up', async () => {
    let now = T0;
    const { repo, keys } = await createRepository(served.dir, () => now);
    now = new Date(T0.getTime() + 4 * DAY);
    await repo.refresh({ publish: false });
    await repo.prepare();
    // Some other session publishes first (say, a new target): snapshot and timestamp are fresh.
    const storage = await FsRepositoryStorage.open(served.dir);
    const other = await Repository.open(storage, {
      signers: [keys.targets, keys.snapshot, keys.timestamp],
      now: () => now,
    });
    await other.addTarget('x', text('x'));
    await other.publish();
    const later = await Repository.open(storage, {
      signers: [keys.snapshot, keys.timestamp],
      now: () => now,
    });
    expect(later.status().find((s) => s.role === 'snapshot')?.resign).toBe(false);
    expect((await later.publish()).roles).toEqual([]);
    expect(await storage.exists('.tufota/resign.json')).toBe(false);
  });

  it('addSignatures is all or nothing: one untrusted or forged signer and no signature is kept or staged', async () => {
    const [root, t1, t2, t3, snapshot, timestamp, stranger] = await ed25519(7);
    const storage = await FsRepositoryStorage.open(served.dir);
    const repo = await Repository.create(storage, {
      roles: {
        root: { keys: [root!] },
        targets: { keys: [t1!.publicKey, t2!.publicKey, t3!.publicKey], threshold: 2 },
        snapshot: { keys: [snapshot!] },
        timestamp: { keys: [timestamp!] },
      },
      signers: [t1!, t2!],
      now: () => T0,
    });
    const session = await Repository.open(storage, { now: () => T0 });
    await session.addTarget('fw', text('fw'));
    await session.prepare();
    const stagedFile = path.join(served.dir, STAGING_DIR, 'targets.json');
    const staged = await readFile(stagedFile);

    await expect(session.addSignatures('targets', [t1!, stranger!])).rejects.toMatchObject({
      code: 'ERR_TUF_KEY_NOT_AUTHORIZED',
    });
    // A signer claiming t2's key id but signing with another key.
    const forged = {
      keyid: t2!.keyid,
      publicKey: t2!.publicKey,
      sign: stranger!.sign.bind(stranger),
    };
    await expect(session.addSignatures('targets', [t1!, forged])).rejects.toMatchObject({
      code: 'ERR_TUF_KEY_NOT_AUTHORIZED',
    });
    expect(session.getMetadata('targets').signatures.size).toBe(0);
    expect(await readFile(stagedFile)).toEqual(staged);

    expect(await session.addSignatures('targets', [t1!, t3!])).toEqual([t1!.keyid, t3!.keyid]);
    const reread = Metadata.fromBytes(new Uint8Array(await readFile(stagedFile)), 'targets');
    expect([...reread.signatures.keys()].sort()).toEqual([t1!.keyid, t3!.keyid].sort());
    expect(repo).toBeDefined();
  });

  it('setExpiryPolicy validates, persists for later sessions, and applies at the next signing', async () => {
    const { repo, keys } = await createRepository(served.dir);
    await expect(repo.setExpiryPolicy({ timestamp: 10 })).rejects.toMatchObject({
      code: 'ERR_TUF_FORMAT',
    });
    await expect(
      repo.setExpiryPolicy({ bogus: DAY } as unknown as { timestamp: number }),
    ).rejects.toMatchObject({ code: 'ERR_TUF_FORMAT' });
    expect(repo.expiryPolicy().timestamp).toBe(DAY);
    expect((await repo.setExpiryPolicy({ timestamp: 6 * 3_600_000 })).snapshot).toBe(7 * DAY);

    const later = await Repository.open(await FsRepositoryStorage.open(served.dir), {
      signers: [keys.targets, keys.snapshot, keys.timestamp],
      now: () => T0,
    });
    expect(later.expiryPolicy().timestamp).toBe(6 * 3_600_000);
    await later.addTarget('x', text('x'));
    await later.publish();
    expect(later.getPublished('timestamp')!.metadata.signed.expires.getTime()).toBe(
      T0.getTime() + 6 * 3_600_000,
    );
  });
});
