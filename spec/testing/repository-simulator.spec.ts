import { afterEach, describe, expect, it } from 'vitest';
import { DelegatedRole, Metadata } from '../../src/models/index.js';
import {
  AttackFetcher,
  RepositorySimulator,
  type SimulatorServer,
  serveSimulator,
} from '../../src/testing/index.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Fetch `path` (relative to the base URL) through the simulator's Fetcher interface. */
const get = (sim: RepositorySimulator, path: string): Promise<Uint8Array> =>
  sim.fetchBytes(`${sim.baseUrl}${path}`, 10_000_000);

describe('RepositorySimulator', () => {
  it('creates a repository whose metadata verifies against its own root', async () => {
    const sim = await RepositorySimulator.create();
    const root = Metadata.fromBytes(await get(sim, 'metadata/1.root.json'), 'root');
    root.verifyDelegate('root', root);
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      const bytes = await get(
        sim,
        role === 'timestamp' ? 'metadata/timestamp.json' : `metadata/1.${role}.json`,
      );
      root.verifyDelegate(role, Metadata.fromBytes(bytes, role));
    }
  });

  it('serves roots only as published, versioned, and 404s the rest', async () => {
    const sim = await RepositorySimulator.create({ consistentSnapshot: false });
    sim.root.version += 1;
    await sim.publishRoot();
    expect(Metadata.fromBytes(await get(sim, 'metadata/2.root.json'), 'root').signed.version).toBe(
      2,
    );
    await expect(get(sim, 'metadata/3.root.json')).rejects.toMatchObject({
      code: 'ERR_TUF_NOT_FOUND',
    });
    await expect(get(sim, 'metadata/root.json')).rejects.toMatchObject({
      code: 'ERR_TUF_NOT_FOUND',
    });
    // Without consistent snapshots, versioned names of other roles do not exist.
    await expect(get(sim, 'metadata/1.snapshot.json')).rejects.toMatchObject({
      code: 'ERR_TUF_NOT_FOUND',
    });
    expect(
      Metadata.fromBytes(await get(sim, 'metadata/snapshot.json'), 'snapshot').signed.version,
    ).toBe(1);
  });

  it('signs on demand with the current signers and logs every request', async () => {
    const sim = await RepositorySimulator.create();
    sim.clearFetchLog();
    sim.clearSigners('snapshot');
    const unsigned = Metadata.fromBytes(await get(sim, 'metadata/1.snapshot.json'), 'snapshot');
    expect(unsigned.signatures.size).toBe(0);
    await get(sim, 'metadata/timestamp.json');
    expect(sim.requestedMetadata()).toEqual(['1.snapshot.json', 'timestamp.json']);
    expect(sim.fetchLog[0]).toMatchObject({ kind: 'metadata', name: 'snapshot', version: 1 });
  });

  it('serves targets by hash prefix with consistent snapshots, plain otherwise', async () => {
    const sim = await RepositorySimulator.create();
    const target = sim.addTarget('targets', text('payload'), 'dir/file.bin');
    const hash = target.hashes.sha256 as string;
    expect(new TextDecoder().decode(await get(sim, `targets/dir/${hash}.file.bin`))).toBe(
      'payload',
    );
    await expect(get(sim, 'targets/dir/file.bin')).rejects.toMatchObject({
      code: 'ERR_TUF_NOT_FOUND',
    });
    await expect(get(sim, `targets/dir/${'0'.repeat(64)}.file.bin`)).rejects.toMatchObject({
      code: 'ERR_TUF_NOT_FOUND',
    });
    sim.root.consistentSnapshot = false;
    expect(await get(sim, 'targets/dir/file.bin')).toHaveLength(7);
  });

  it('decodes percent-encoded role names and records lengths and hashes when asked', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation(
      'targets',
      new DelegatedRole({ name: '../ö', keyids: [], threshold: 1, paths: ['*'] }),
    );
    sim.computeMetafileHashesLength = true;
    await sim.updateSnapshot();
    expect(sim.snapshot.meta['../ö.json']?.length).toBeGreaterThan(0);
    expect(sim.timestamp.snapshotMeta.hashes?.sha256).toMatch(/^[0-9a-f]{64}$/);
    await get(sim, 'metadata/1...%2F%C3%B6.json');
    expect(sim.requestedDelegatedRoles()).toEqual(['../ö']);
  });

  it('serves pinned and tampered bytes, and configured failures', async () => {
    const sim = await RepositorySimulator.create();
    const old = await sim.fetchMetadata('timestamp');
    sim.timestamp.version = 5;
    sim.pinMetadata('timestamp', old);
    expect(
      Metadata.fromBytes(await get(sim, 'metadata/timestamp.json'), 'timestamp').signed.version,
    ).toBe(1);
    sim.pinMetadata('timestamp', undefined);
    sim.tamperMetadata('timestamp', (bytes) => bytes.subarray(0, 10));
    expect(await get(sim, 'metadata/timestamp.json')).toHaveLength(10);
    sim.failRequests('metadata/timestamp.json', () => new Error('boom'));
    await expect(get(sim, 'metadata/timestamp.json')).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD',
    });
  });

  it('rotates top-level and delegated keys', async () => {
    const sim = await RepositorySimulator.create();
    const [signer] = await sim.rotateKeys('timestamp', { count: 2, threshold: 2 });
    expect(sim.root.roles.timestamp.keyids).toHaveLength(2);
    expect(sim.root.roles.timestamp.threshold).toBe(2);
    expect(sim.signersOf('timestamp')[0]).toBe(signer);
    await sim.delegate('targets', 'a');
    const [delegated] = await sim.rotateKeys('a');
    expect(sim.targets.delegations?.getRole('a')?.keyids).toEqual([delegated?.keyid]);
  });

  it('creates succinct hash bins', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addSuccinctDelegation('targets', 2, 'bin');
    expect([...sim.mdDelegates.keys()]).toEqual(['bin-0', 'bin-1', 'bin-2', 'bin-3']);
  });
});

describe('AttackFetcher', () => {
  it('caps endless data at the requested length', async () => {
    const sim = await RepositorySimulator.create();
    const fetcher = new AttackFetcher(sim, sim.baseUrl, (p) =>
      p === 'metadata/timestamp.json' ? { kind: 'endless' } : undefined,
    );
    await expect(
      fetcher.fetchBytes(`${sim.metadataBaseUrl}timestamp.json`, 100_000),
    ).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD_TOO_LARGE',
    });
    expect(
      (await fetcher.fetchBytes(`${sim.metadataBaseUrl}1.root.json`, 100_000)).byteLength,
    ).toBeGreaterThan(0);
  });

  it('drips the honest bytes', async () => {
    const sim = await RepositorySimulator.create();
    const fetcher = new AttackFetcher(sim, sim.baseUrl, () => ({
      kind: 'drip',
      chunkSize: 200,
      intervalMs: 1,
    }));
    const honest = await sim.fetchMetadata('root', 1);
    expect(await fetcher.fetchBytes(`${sim.metadataBaseUrl}1.root.json`, 100_000)).toEqual(honest);
  });
});

describe('serveSimulator', () => {
  let server: SimulatorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves metadata over HTTP on 127.0.0.1, 404 for what is missing', async () => {
    const sim = await RepositorySimulator.create();
    server = await serveSimulator(sim);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const ok = await fetch(`${server.metadataUrl}1.root.json`);
    expect(ok.status).toBe(200);
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(sim.signedRoots[0]);
    expect((await fetch(`${server.metadataUrl}2.root.json`)).status).toBe(404);
    expect(sim.requestedPaths()).toEqual(['metadata/1.root.json', 'metadata/2.root.json']);
  });

  it('closes even while an endless response is being sent', async () => {
    const sim = await RepositorySimulator.create();
    server = await serveSimulator(sim, { attacks: () => ({ kind: 'endless' }) });
    const response = await fetch(`${server.metadataUrl}timestamp.json`);
    const reader = response.body!.getReader();
    let total = 0;
    while (total < 100_000) total += (await reader.read()).value?.byteLength ?? 0;
    await reader.cancel();
    await server.close();
    server = undefined;
    expect(total).toBeGreaterThanOrEqual(100_000);
  });
});
