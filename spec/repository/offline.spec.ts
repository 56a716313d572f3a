import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { Client, ed25519, T0, useServedDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('Repository: threshold and offline signing, refresh', () => {
  const served = useServedDir();

  it('prepare → addSignature in other sessions → status → publish, for a 2-of-3 targets role', async () => {
    const [root, t1, t2, t3, snapshot, timestamp] = await ed25519(6);
    const storage = await FsRepositoryStorage.open(served.dir);
    const repo = await Repository.create(storage, {
      roles: {
        root: { keys: [root!] },
        targets: { keys: [t1!, t2!.publicKey, t3!.publicKey], threshold: 2 },
        snapshot: { keys: [snapshot!] },
        timestamp: { keys: [timestamp!] },
      },
      signers: [t2!],
      now: () => T0,
    });
    expect(repo).toBeDefined();
    // A session with only one targets key cannot publish, and writes nothing trying.
    const session1 = await Repository.open(storage, {
      signers: [t1!, snapshot!, timestamp!],
      now: () => T0,
    });
    await session1.addTarget('fw.img', text('fw'));
    const before = await storage.list('metadata');
    await expect(session1.publish()).rejects.toMatchObject({
      code: 'ERR_TUF_UNSIGNED',
      role: 'targets',
    });
    expect(await storage.list('metadata')).toEqual(before);
    expect(await session1.prepare()).toEqual(['targets']);
    const status1 = session1.status().find((s) => s.role === 'targets')!;
    expect(status1).toMatchObject({ pending: true, staged: true, version: 2, verified: false });
    expect(status1.requirements[0]!.signed).toEqual([t1!.keyid]);
    expect(status1.requirements[0]!.missing.sort()).toEqual([t2!.keyid, t3!.keyid].sort());

    // Another holder signs offline, in its own session, without changing `signed`.
    const session2 = await Repository.open(storage, { now: () => T0 });
    const signedBefore = session2.getMetadata('targets').signedBytes();
    await session2.addSignature('targets', t3!);
    expect(session2.getMetadata('targets').signedBytes()).toEqual(signedBefore);
    expect(session2.status().find((s) => s.role === 'targets')?.verified).toBe(true);

    // The online session publishes; staging is emptied.
    const session3 = await Repository.open(storage, {
      signers: [snapshot!, timestamp!],
      now: () => T0,
    });
    await session3.publish();
    expect(await readdir(path.join(served.dir, '.tufota/staging'))).toEqual([]);
    const client = await Client.create(
      served.url,
      (await storage.readFile('metadata/1.root.json'))!,
    );
    expect(new TextDecoder().decode(await client.download('fw.img'))).toBe('fw');
  });

  it('a root change prepared and signed offline by old and new root keys', async () => {
    const [r1, r2, targets, snapshot, timestamp] = await ed25519(5);
    const storage = await FsRepositoryStorage.open(served.dir);
    await Repository.create(storage, {
      roles: {
        root: { keys: [r1!] },
        targets: { keys: [targets!] },
        snapshot: { keys: [snapshot!] },
        timestamp: { keys: [timestamp!] },
      },
      now: () => T0,
    });
    const online = await Repository.open(storage, {
      signers: [targets!, snapshot!, timestamp!],
      now: () => T0,
    });
    online.addKey('root', r2!.publicKey);
    online.revokeKey('root', r1!.keyid);
    await online.prepare();
    const root = online.status().find((s) => s.role === 'root')!;
    expect(root.requirements.map((r) => r.label)).toEqual([
      'root version 2',
      'previous root version 1',
    ]);
    expect(root.verified).toBe(false);
    const offline = await Repository.open(storage, { now: () => T0 });
    await offline.addSignature('root', r1!); // previous root's key
    await offline.addSignature('root', r2!); // new root's key
    const ready = await Repository.open(storage, { signers: [timestamp!], now: () => T0 });
    expect(ready.status().find((s) => s.role === 'root')?.verified).toBe(true);
    await ready.publish();
    const client = await Client.create(
      served.url,
      (await storage.readFile('metadata/1.root.json'))!,
    );
    await client.lookup('none');
    expect(await client.trusted('root')).toBe(2);
  });

  it('refresh re-signs exactly the roles whose expiry falls within the window', async () => {
    let now = T0;
    const [k] = await ed25519(1);
    const one = { keys: [k!] };
    const repo = await Repository.create(await FsRepositoryStorage.open(served.dir), {
      roles: { root: one, targets: one, snapshot: one, timestamp: one },
      now: () => now,
    });
    now = new Date(T0.getTime() + 2 * 3600_000);
    expect((await repo.refresh()).roles).toEqual([]);
    now = new Date(T0.getTime() + 20 * 3600_000); // timestamp (1 day) has 4 h left
    const first = await repo.refresh();
    expect(first.roles).toEqual(['timestamp']);
    expect(first.result?.written).toEqual(['metadata/timestamp.json']);
    expect(repo.getMetadata('timestamp').signed.expires.getTime()).toBe(
      now.getTime() + 24 * 3600_000,
    );
    now = new Date(T0.getTime() + 4 * 24 * 3600_000); // snapshot (7 days) past half
    expect((await repo.refresh()).roles).toEqual(['snapshot', 'timestamp']);
    now = new Date(T0.getTime() + 50 * 24 * 3600_000); // targets (90 days) past half
    expect((await repo.refresh()).roles).toEqual(['targets', 'snapshot', 'timestamp']);
    now = new Date(T0.getTime() + 200 * 24 * 3600_000); // root (365 days) past half
    const last = await repo.refresh({ within: 1000 * 24 * 3600_000 });
    expect(last.roles).toEqual(['root', 'targets', 'snapshot', 'timestamp']);
    expect(repo.getMetadata('root').signed.version).toBe(2);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    await client.lookup('none');
    expect(await client.trusted('targets')).toBe(3);
  });
});
