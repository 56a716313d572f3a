/**
 * Malicious mirrors preventing updates (TUF threat model): a mirror serves garbage, the wrong
 * file, errors, or nothing. The client must fail with a precise error, keep its trusted state
 * intact, and recover as soon as an honest mirror answers.
 */
import { describe, expect, it } from 'vitest';
import { DownloadHttpError, NotFoundError } from '../../../src/errors.js';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { expectCode, useDevices } from '../../helpers/client-harness.js';

const createDevice = useDevices();

async function setup() {
  const sim = await RepositorySimulator.create();
  const device = await createDevice(sim);
  await device.refresh();
  // The repository moves on; the mirror misbehaves from here.
  sim.targets.version += 1;
  await sim.updateSnapshot();
  return { sim, device };
}

describe('malicious mirrors', () => {
  it('refuses bytes that are not JSON, keeping the trusted timestamp', async () => {
    const { sim, device } = await setup();
    sim.tamperMetadata('timestamp', () => new TextEncoder().encode('<html>mirror error</html>'));
    await expectCode(device.refresh(), 'ERR_TUF_FORMAT');
    expect(device.memoryStore.version('timestamp')).toBe(1);
  });

  it('refuses another role served in place of the timestamp', async () => {
    const { sim, device } = await setup();
    const snapshot = await sim.fetchMetadata('snapshot');
    sim.pinMetadata('timestamp', snapshot);
    await expectCode(device.refresh(), 'ERR_TUF_FORMAT');
  });

  it('refuses a root served under the wrong version number', async () => {
    const { sim, device } = await setup();
    sim.root.version += 1;
    await sim.publishRoot();
    sim.signedRoots[1] = sim.signedRoots[0]!; // 2.root.json answers with version 1
    await expectCode(device.refresh(), 'ERR_TUF_BAD_VERSION');
    expect(device.memoryStore.version('root')).toBe(1);
  });

  it('fails on a server error in the root chain instead of treating it as the end of the chain', async () => {
    const { sim, device } = await setup();
    sim.clearFetchLog();
    sim.failRequests(
      'metadata/2.root.json',
      () =>
        new DownloadHttpError('503 from mirror', { statusCode: 503, url: 'metadata/2.root.json' }),
    );
    await expectCode(device.refresh(), 'ERR_TUF_DOWNLOAD_HTTP');
    expect(sim.requestedMetadata()).not.toContain('timestamp.json');
  });

  it('fails when the mirror has no timestamp, keeps the trusted state, and recovers', async () => {
    const { sim, device } = await setup();
    sim.failRequests(
      'metadata/timestamp.json',
      () => new NotFoundError('no timestamp on this mirror'),
    );
    await expectCode(device.refresh(), 'ERR_TUF_NOT_FOUND');
    expect(device.memoryStore.version('timestamp')).toBe(1);
    expect(device.memoryStore.version('targets')).toBe(1);
    sim.failRequests('metadata/timestamp.json', undefined);
    await device.refresh();
    expect(device.memoryStore.version('targets')).toBe(2);
  });
});
