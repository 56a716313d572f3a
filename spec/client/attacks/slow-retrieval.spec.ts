/**
 * Slow retrieval attack (TUF threat model): a server sends data so slowly, or stalls, that the
 * client never finishes and never learns of updates. The defence lives in the transport
 * (`HttpFetcher`: idle-body timeout and a minimum throughput over a window), so these tests run
 * the Updater over real HTTP against a dripping or stalled simulator on 127.0.0.1. They assert
 * the error raised, never how long it took.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  RepositorySimulator,
  type ResponseAttack,
  type SimulatorServer,
  serveSimulator,
} from '../../../src/testing/index.js';
import { HttpFetcher } from '../../../src/transport/index.js';
import { Device, expectCode, mustGetTarget, utf8 } from '../../helpers/client-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(attacked: (sim: RepositorySimulator) => string, attack: ResponseAttack) {
  const sim = await RepositorySimulator.create();
  sim.addTarget('targets', utf8('x'.repeat(4096)), 'image.bin');
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const path = attacked(sim);
  const server: SimulatorServer = await serveSimulator(sim, {
    attacks: (p) => (p === path ? attack : undefined),
  });
  cleanups.push(() => server.close());
  const fetcher = new HttpFetcher({
    bodyTimeoutMs: 300,
    minBytesPerSecond: 2_000,
    speedWindowMs: 200,
    retries: 0,
  });
  cleanups.push(async () => fetcher.close());
  const device = await Device.create(sim, {
    fetcher,
    metadataBaseUrl: server.metadataUrl,
    targetBaseUrl: server.targetUrl,
  });
  cleanups.push(() => device.dispose());
  return { sim, device };
}

const drip: ResponseAttack = { kind: 'drip', chunkSize: 1, intervalMs: 40 };

describe('slow retrieval attack', () => {
  it('gives up on a timestamp that drips in a byte at a time', async () => {
    const { device } = await setup(() => 'metadata/timestamp.json', drip);
    await expectCode(device.refresh(), 'ERR_TUF_SLOW_RETRIEVAL');
    expect(device.memoryStore.roles()).toEqual(['root']);
  });

  it('gives up on a server that stalls after the headers', async () => {
    const { device } = await setup(() => 'metadata/2.snapshot.json', { kind: 'stall' });
    await expectCode(device.refresh(), 'ERR_TUF_SLOW_RETRIEVAL');
    expect(device.memoryStore.roles()).toEqual(['root', 'timestamp']);
  });

  it('gives up on a target that drips in, leaving nothing in the target directory', async () => {
    const { device } = await setup((sim) => {
      const hash = sim.targetFiles.get('image.bin')?.targetFile.hashes.sha256;
      return `targets/${hash}.image.bin`;
    }, drip);
    const updater = await device.refresh();
    await expectCode(
      updater.downloadTarget(await mustGetTarget(updater, 'image.bin')),
      'ERR_TUF_SLOW_RETRIEVAL',
    );
    expect(await device.targetFiles()).toEqual([]);
  });
});
