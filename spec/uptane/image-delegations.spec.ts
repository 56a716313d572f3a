/**
 * §5.4.4.7 step 4.1: an image-repository delegation applies only to the hardware ids it lists.
 * A supplier delegated for brake hardware cannot vouch for an image for the gateway, even one
 * whose own `custom.hardwareIds` names the gateway.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InMemorySigner } from '../../src/crypto/signer.js';
import { DelegatedRole } from '../../src/models/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { RepositorySimulator } from '../../src/testing/index.js';
import { FileFetcher } from '../../src/transport/index.js';
import {
  findImageTarget,
  httpMetadataReader,
  loadRepositoryChain,
} from '../../src/uptane/index.js';

async function imageRepository(
  roles: Array<{ name: string; hardwareIds?: string[]; terminating?: boolean }>,
) {
  const sim = await RepositorySimulator.create();
  for (const r of roles) {
    await sim.addDelegation(
      'targets',
      new DelegatedRole({
        name: r.name,
        keyids: [],
        threshold: 1,
        terminating: r.terminating ?? false,
        paths: ['fw/*'],
        ...(r.hardwareIds !== undefined ? { unrecognized: { hardwareIds: r.hardwareIds } } : {}),
      }),
    );
  }
  return sim;
}

async function lookup(sim: RepositorySimulator, hardwareId: string) {
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const reader = httpMetadataReader(sim, sim.metadataBaseUrl);
  const loaded = await loadRepositoryChain(
    'image',
    reader,
    { root: sim.signedRoots[0] as Uint8Array },
    new Date(),
  );
  return findImageTarget(loaded, reader, 'fw/x.img', hardwareId);
}

const DATA = new Uint8Array([1, 2, 3]);

describe('image repository delegations restricted by hardware id', () => {
  it('a role delegated for other hardware cannot vouch for this hardware', async () => {
    const sim = await imageRepository([{ name: 'brake-supplier', hardwareIds: ['brake'] }]);
    sim.addTarget('brake-supplier', DATA, 'fw/x.img', { hardwareIds: ['gateway', 'brake'] });
    expect(await lookup(sim, 'gateway')).toBeUndefined();
  });

  it('the same role vouches for the hardware it is delegated for', async () => {
    const sim = await imageRepository([{ name: 'brake-supplier', hardwareIds: ['brake'] }]);
    sim.addTarget('brake-supplier', DATA, 'fw/x.img', { hardwareIds: ['gateway', 'brake'] });
    expect((await lookup(sim, 'brake'))?.path).toBe('fw/x.img');
  });

  it('a terminating delegation for other hardware does not end the search', async () => {
    const sim = await imageRepository([
      { name: 'brake-supplier', hardwareIds: ['brake'], terminating: true },
      { name: 'gateway-supplier', hardwareIds: ['gateway'] },
    ]);
    sim.addTarget('gateway-supplier', DATA, 'fw/x.img', { hardwareIds: ['gateway'] });
    expect((await lookup(sim, 'gateway'))?.path).toBe('fw/x.img');
  });

  it('a role without hardwareIds restricts by path only', async () => {
    const sim = await imageRepository([{ name: 'any' }]);
    sim.addTarget('any', DATA, 'fw/x.img', { hardwareIds: ['gateway'] });
    expect((await lookup(sim, 'gateway'))?.path).toBe('fw/x.img');
  });
});

describe('the repository tooling writes hardware-id delegations ECUs enforce', () => {
  it('Repository.delegate({ hardwareIds }) publishes a role a gateway ECU ignores', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tufota-image-repo-'));
    try {
      const key = await InMemorySigner.generate('ed25519');
      const roles = { keys: [key] };
      const repo = await Repository.create(await FsRepositoryStorage.open(dir), {
        roles: { root: roles, targets: roles, snapshot: roles, timestamp: roles },
        signers: [key],
      });
      repo.delegate('brake-supplier', { paths: ['fw/*'], keys: [key], hardwareIds: ['brake'] });
      await repo.addTarget('fw/x.img', DATA, {
        role: 'brake-supplier',
        hardwareIds: ['gateway', 'brake'],
        version: '1.0.0',
      });
      await repo.publish();
      expect(() =>
        repo.delegate('other', { paths: ['x/*'], keys: [key], hardwareIds: [''] }),
      ).toThrow(/hardware ids/);

      const reader = httpMetadataReader(new FileFetcher({ root: dir }), 'metadata/');
      const root = repo.getPublished('root')?.bytes as Uint8Array;
      const loaded = await loadRepositoryChain('image', reader, { root }, new Date());
      expect(await findImageTarget(loaded, reader, 'fw/x.img', 'gateway')).toBeUndefined();
      expect((await findImageTarget(loaded, reader, 'fw/x.img', 'brake'))?.path).toBe('fw/x.img');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
