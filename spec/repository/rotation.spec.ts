import { describe, expect, it } from 'vitest';
import { Metadata } from '../../src/models/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { Client, createRepository, ed25519, useServedDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('Repository: key rotation', () => {
  const served = useServedDir();

  it('root 1-of-1 → 2-of-3 → revoke one: each N+1 root is signed by the old and the new root keys', async () => {
    const { repo, keys } = await createRepository(served.dir);
    const rootV1 = repo.getPublished('root')!.bytes;
    const stale = await Client.create(served.url, rootV1); // never refreshes until the end
    const follower = await Client.create(served.url, rootV1);
    await repo.addTarget('a.txt', text('a'));
    await repo.publish();
    expect(await follower.lookup('a.txt')).toBeDefined();

    const [r2, r3] = await ed25519(2);
    repo.addKey('root', r2!);
    repo.addKey('root', r3!);
    repo.setThreshold('root', 2);
    const toV2 = await repo.publish();
    expect(toV2.written.slice(-2)).toEqual(['metadata/2.root.json', 'metadata/root.json']);
    const v2 = Metadata.fromBytes(repo.getPublished('root')!.bytes, 'root');
    const v1 = Metadata.fromBytes(rootV1, 'root');
    expect(v2.signed.roles.root.threshold).toBe(2);
    expect(() => v1.verifyDelegate('root', v2)).not.toThrow();
    expect(() => v2.verifyDelegate('root', v2)).not.toThrow();
    expect(await follower.lookup('a.txt')).toBeDefined();
    expect(await follower.trusted('root')).toBe(2);

    repo.revokeKey('root', keys.root.keyid);
    await repo.publish();
    expect(await follower.lookup('a.txt')).toBeDefined();
    expect(await follower.trusted('root')).toBe(3);

    // A later session holds only the two remaining root keys: enough for v3's 2-of-2 and v4's.
    const later = await Repository.open(await FsRepositoryStorage.open(served.dir), {
      signers: [r2!, r3!, keys.targets, keys.snapshot, keys.timestamp],
      now: () => new Date('2030-01-01T00:00:00Z'),
    });
    later.setThreshold('root', 1);
    await later.addTarget('b.txt', text('b'));
    await later.publish();
    expect(await stale.lookup('b.txt')).toBeDefined();
    expect(await stale.trusted('root')).toBe(4);
  });

  it('rotates targets, snapshot and timestamp keys; content is signed under both roots so old clients update', async () => {
    const { repo, keys } = await createRepository(served.dir);
    const rootV1 = repo.getPublished('root')!.bytes;
    const client = await Client.create(served.url, rootV1);
    await repo.addTarget('a.txt', text('a'));
    await repo.publish();
    expect(await client.lookup('a.txt')).toBeDefined();

    const [t2, s2, ts2] = await ed25519(3);
    for (const [role, old, fresh] of [
      ['targets', keys.targets, t2!],
      ['snapshot', keys.snapshot, s2!],
      ['timestamp', keys.timestamp, ts2!],
    ] as const) {
      repo.addKey(role, fresh);
      repo.revokeKey(role, old.keyid);
    }
    await repo.addTarget('b.txt', text('b'));
    await repo.publish();
    const v1 = Metadata.fromBytes(rootV1, 'root');
    const v2 = repo.getPublished('root')!.metadata as Metadata<never>;
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      const md = repo.getPublished(role)!.metadata;
      expect(() => v1.verifyDelegate(role, md)).not.toThrow();
      expect(() => (v2 as Metadata).verifyDelegate(role, md)).not.toThrow();
    }
    expect(new TextDecoder().decode(await client.download('b.txt'))).toBe('b');

    // The old keys are no longer needed once no root change is pending.
    const later = await Repository.open(await FsRepositoryStorage.open(served.dir), {
      signers: [t2!, s2!, ts2!],
      now: () => new Date('2030-01-01T00:00:00Z'),
    });
    await later.addTarget('c.txt', text('c'));
    await later.publish();
    expect(await client.lookup('c.txt')).toBeDefined();
    expect(await client.trusted('timestamp')).toBe(4);
  });

  it('refuses a rotation the previous root cannot vouch for, writing nothing, unless unsafeAllowRotationWindow', async () => {
    const { keys } = await createRepository(served.dir);
    const [ts2] = await ed25519(1);
    const storage = await FsRepositoryStorage.open(served.dir);
    const repo = await Repository.open(storage, {
      signers: [keys.root, keys.snapshot, ts2!],
      now: () => new Date('2030-01-01T00:00:00Z'),
    });
    repo.addKey('timestamp', ts2!);
    repo.revokeKey('timestamp', keys.timestamp.keyid);
    const before = await storage.list('metadata');
    await expect(repo.publish()).rejects.toMatchObject({
      code: 'ERR_TUF_UNSIGNED',
      role: 'timestamp',
    });
    expect(await storage.list('metadata')).toEqual(before);
    const result = await repo.publish({ unsafeAllowRotationWindow: true });
    expect(result.roles.map((r) => r.role)).toEqual(['root', 'timestamp']);
    const client = await Client.create(
      served.url,
      (await storage.readFile('metadata/1.root.json'))!,
    );
    await client.lookup('anything');
    expect(await client.trusted('timestamp')).toBe(2);
  });
});
