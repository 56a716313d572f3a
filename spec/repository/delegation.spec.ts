import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Metadata } from '../../src/models/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { Client, createRepository, ed25519, T0, useServedDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);
const info = (i: number) => ({
  length: 1,
  hashes: { sha256: createHash('sha256').update(`t${i}`).digest('hex') },
});

describe('Repository: delegations and succinct hash bins', () => {
  const served = useServedDir();

  it('delegates by path pattern; a target outside the pattern is refused for that role', async () => {
    const { repo } = await createRepository(served.dir);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    const [apps, nested] = await ed25519(2);
    repo.delegate('apps', { paths: ['apps/*'], keys: [apps!], terminating: true });
    repo.delegate('apps-beta', { delegator: 'apps', paths: ['apps/beta-*'], keys: [nested!] });
    await repo.addTarget('apps/beta-1', text('beta'), { role: 'apps-beta' });
    await repo.addTarget('apps/stable', text('stable'), { role: 'apps' });
    expect(() => repo.addTargetInfo('other/x', info(1), { role: 'apps' })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
    expect(() => repo.addTargetInfo('apps/stable2', info(1), { role: 'apps-beta' })).toThrow(
      expect.objectContaining({ code: 'ERR_TUF_INVALID_STATE' }),
    );
    await repo.publish();
    expect(new TextDecoder().decode(await client.download('apps/beta-1'))).toBe('beta');
    expect(new TextDecoder().decode(await client.download('apps/stable'))).toBe('stable');
    const statuses = repo.status();
    expect(statuses.find((s) => s.role === 'apps-beta')).toMatchObject({
      delegator: 'apps',
      verified: true,
      version: 1,
    });
  });

  it('routes targets to their hash bin, rewrites only touched bins, survives a resize', async () => {
    const { repo, keys } = await createRepository(served.dir);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    const [bins] = await ed25519(1);
    const names = repo.createHashBins({ bitLength: 4, keys: [bins!] });
    expect(names).toHaveLength(16);
    expect(names[0]).toBe('bins-0');
    for (let i = 0; i < 200; i++) repo.addTargetInfo(`images/${i}.bin`, info(i));
    await repo.addTarget('images/real.bin', text('real'));
    const first = await repo.publish();
    expect(first.roles.filter((r) => r.role.startsWith('bins-'))).toHaveLength(16);
    const located = repo.getTarget('images/7.bin');
    const succinct = repo.getMetadata('targets').signed as unknown as {
      delegations: { succinctRoles: { getRoleForTarget(p: string): string } };
    };
    expect(located?.role).toBe(succinct.delegations.succinctRoles.getRoleForTarget('images/7.bin'));
    expect(new TextDecoder().decode(await client.download('images/real.bin'))).toBe('real');

    repo.addTargetInfo('images/extra.bin', info(999));
    const second = await repo.publish();
    const touched = succinct.delegations.succinctRoles.getRoleForTarget('images/extra.bin');
    expect(second.roles.map((r) => r.role)).toEqual([touched, 'snapshot', 'timestamp']);

    // Reopen (bins are read back through snapshot), then resize to 64 bins.
    const again = await Repository.open(await FsRepositoryStorage.open(served.dir), {
      signers: [keys.targets, keys.snapshot, keys.timestamp, bins!],
      now: () => T0,
    });
    expect(again.targetsRoleNames()).toHaveLength(17);
    expect(again.resizeHashBins(6)).toHaveLength(64);
    const third = await again.publish();
    expect(third.roles.filter((r) => r.role.startsWith('bins-'))).toHaveLength(64);
    expect(await client.lookup('images/7.bin')).toBeDefined();
    expect(await client.lookup('images/extra.bin')).toBeDefined();
    expect(new TextDecoder().decode(await client.download('images/real.bin'))).toBe('real');
    // The old bins stay listed in snapshot: a client refuses a snapshot that drops a role.
    const snapshot = again.getPublished('snapshot')!.metadata as Metadata;
    expect(Object.keys((snapshot.signed as unknown as { meta: object }).meta)).toContain(
      'bins-0.json',
    );
    expect(Object.keys((snapshot.signed as unknown as { meta: object }).meta)).toContain(
      'bins-00.json',
    );
  });

  it('rotates the key of every bin at once', async () => {
    const { repo } = await createRepository(served.dir);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    const [b1, b2] = await ed25519(2);
    repo.createHashBins({ bitLength: 2, keys: [b1!] });
    repo.addTargetInfo('x', info(1));
    await repo.publish();
    repo.addKey('bins-0', b2!);
    repo.revokeKey('bins-3', b1!.keyid);
    const result = await repo.publish();
    expect(result.roles.map((r) => r.role).sort()).toEqual([
      'bins-0',
      'bins-1',
      'bins-2',
      'bins-3',
      'snapshot',
      'targets',
      'timestamp',
    ]);
    expect(await client.lookup('x')).toBeDefined();
  });
});
