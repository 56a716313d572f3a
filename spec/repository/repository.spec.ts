import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metadata } from '../../src/models/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { Client, createRepository, ed25519, useServedDir } from './helpers.js';

const text = (s: string) => new TextEncoder().encode(s);
const sha = (alg: string, data: Uint8Array | string) => createHash(alg).update(data).digest('hex');

describe('Repository: create, add targets, publish', () => {
  const served = useServedDir();

  it('publishes a repository an independent client (tuf-js) downloads verified targets from', async () => {
    const { repo } = await createRepository(served.dir);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    const target = await repo.addTarget('firmware/board-a/fw.img', text('image one'), {
      hardwareIds: ['board-a'],
      version: '1.2.0',
      releaseCounter: 3,
    });
    expect(target.custom).toEqual({
      hardwareIds: ['board-a'],
      version: '1.2.0',
      releaseCounter: 3,
    });
    const result = await repo.publish();
    expect(result.roles).toEqual([
      { role: 'targets', version: 2 },
      { role: 'snapshot', version: 2 },
      { role: 'timestamp', version: 2 },
    ]);
    expect(new TextDecoder().decode(await client.download('firmware/board-a/fw.img'))).toBe(
      'image one',
    );
  });

  it('stores one copy per hash as HASH.NAME, hashing a stream while copying it', async () => {
    const { repo } = await createRepository(served.dir);
    async function* chunks() {
      yield text('part one, ');
      yield text('part two');
    }
    const target = await repo.addTarget('a/b/c.bin', chunks());
    const whole = text('part one, part two');
    expect(target.length).toBe(whole.byteLength);
    expect(target.hashes).toEqual({ sha256: sha('sha256', whole), sha512: sha('sha512', whole) });
    for (const digest of Object.values(target.hashes)) {
      expect(await readFile(path.join(served.dir, 'targets/a/b', `${digest}.c.bin`), 'utf8')).toBe(
        'part one, part two',
      );
    }
    expect(await readdir(path.join(served.dir, '.tufota/incoming'))).toEqual([]);
  });

  it('snapshot and timestamp list the length and hash of the exact bytes served', async () => {
    const { repo } = await createRepository(served.dir);
    repo.addTargetInfo('x.bin', { length: 3, hashes: { sha256: sha('sha256', 'abc') } });
    await repo.publish();
    const timestampBytes = await readFile(path.join(served.dir, 'metadata/timestamp.json'));
    const timestamp = Metadata.fromBytes(timestampBytes, 'timestamp');
    const snapshotBytes = await readFile(
      path.join(served.dir, `metadata/${timestamp.signed.snapshotMeta.version}.snapshot.json`),
    );
    expect(timestamp.signed.snapshotMeta.length).toBe(snapshotBytes.byteLength);
    expect(timestamp.signed.snapshotMeta.hashes).toEqual({ sha256: sha('sha256', snapshotBytes) });
    const snapshot = Metadata.fromBytes(snapshotBytes, 'snapshot');
    const entry = snapshot.signed.meta['targets.json']!;
    const targetsBytes = await readFile(
      path.join(served.dir, `metadata/${entry.version}.targets.json`),
    );
    expect(entry.hashes).toEqual({ sha256: sha('sha256', targetsBytes) });
    expect(entry.length).toBe(targetsBytes.byteLength);
  });

  it('bumps only the roles that changed, and publishing nothing writes nothing', async () => {
    const { repo } = await createRepository(served.dir);
    expect(await repo.publish()).toEqual({ roles: [], written: [] });
    const [apps] = await ed25519(1);
    repo.delegate('apps', { paths: ['apps/*'], keys: [apps!] });
    await repo.publish();
    await repo.addTarget('apps/one', text('1'), { role: 'apps' });
    const result = await repo.publish();
    expect(result.roles.map((r) => r.role)).toEqual(['apps', 'snapshot', 'timestamp']);
    expect(result.written).toEqual([
      'metadata/2.apps.json',
      'metadata/3.snapshot.json',
      'metadata/timestamp.json',
    ]);
  });

  it('reopens from storage alone and continues where it left off', async () => {
    const { repo, keys } = await createRepository(served.dir);
    const client = await Client.create(served.url, repo.getPublished('root')!.bytes);
    await repo.addTarget('one.txt', text('1'));
    await repo.publish();
    const again = await Repository.open(await FsRepositoryStorage.open(served.dir), {
      signers: [keys.targets, keys.snapshot, keys.timestamp],
      now: () => new Date('2030-01-02T00:00:00Z'),
    });
    expect(again.getTarget('one.txt')?.role).toBe('targets');
    expect(again.status().every((s) => s.verified && !s.pending)).toBe(true);
    again.addTargetInfo('two.txt', { length: 1, hashes: { sha256: sha('sha256', '2') } });
    expect(again.removeTarget('one.txt')).toBe(true);
    await again.publish();
    expect(await client.lookup('one.txt')).toBeUndefined();
    expect((await client.lookup('two.txt'))?.length).toBe(1);
    expect(await client.trusted('targets')).toBe(3);
  });
});
