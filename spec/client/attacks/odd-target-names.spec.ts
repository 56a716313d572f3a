/**
 * One odd target name must not block every update (issue 9): a signed targets role (top-level or
 * delegated) listing `../../evil`, `/etc/passwd` or `a\b` beside good targets still refreshes;
 * the good targets install; the odd ones are refused by name when looked up or downloaded, and
 * nothing is ever fetched for them or written outside the target directory. python-tuf, tuf-js
 * and tough accept such metadata the same way.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TargetFile } from '../../../src/models/index.js';
import { RepositorySimulator } from '../../../src/testing/index.js';
import { expectCode, mustGetTarget, useDevices, utf8 } from '../../helpers/client-harness.js';

const createDevice = useDevices();

const ODD = ['../../evil', '/etc/passwd', 'a\\b', 'fw/../../../evil'];

async function setup(role: 'targets' | 'vendor') {
  const sim = await RepositorySimulator.create();
  if (role === 'vendor') await sim.delegate('targets', 'vendor', { paths: ['*', '*/*'] });
  sim.addTarget(role, utf8('good firmware'), 'good.bin');
  for (const path of ODD) sim.addTarget(role, utf8(`evil bytes for ${path}`), path);
  sim.targets.version += 1;
  await sim.updateSnapshot();
  const device = await createDevice(sim);
  return { sim, device };
}

for (const role of ['targets', 'vendor'] as const) {
  describe(`odd target names listed by ${role === 'targets' ? 'the top-level targets role' : 'a delegated role'}`, () => {
    it('refresh succeeds and the good target installs', async () => {
      const { device } = await setup(role);
      const updater = await device.refresh();
      const info = await mustGetTarget(updater, 'good.bin');
      const file = await updater.downloadTarget(info);
      expect(await readFile(file, 'utf8')).toBe('good firmware');
    });

    for (const path of ODD) {
      it(`${JSON.stringify(path)} is refused by name at lookup, and nothing is fetched or written`, async () => {
        const { sim, device } = await setup(role);
        const updater = await device.refresh();
        sim.clearFetchLog();
        const error = await expectCode(updater.getTargetInfo(path), 'ERR_TUF_UNSAFE_PATH');
        expect(error.message).toContain(JSON.stringify(path));
        expect(sim.requestedPaths()).toEqual([]);
        expect(await device.targetFiles()).toEqual([]);
      });
    }
  });
}

describe('a TargetFile with an odd path built by the caller', () => {
  it('is refused by downloadTarget, findCachedTarget and openTarget before any fetch or write', async () => {
    const { sim, device } = await setup('targets');
    const updater = await device.refresh();
    sim.clearFetchLog();
    for (const path of ODD) {
      const data = utf8(`evil bytes for ${path}`);
      const info = new TargetFile(path, data.byteLength, {
        sha256: (await mustGetTarget(updater, 'good.bin')).hashes.sha256 as string,
      });
      await expectCode(updater.downloadTarget(info), 'ERR_TUF_UNSAFE_PATH');
      await expectCode(updater.findCachedTarget(info), 'ERR_TUF_UNSAFE_PATH');
      await expectCode(updater.openTarget(info), 'ERR_TUF_UNSAFE_PATH');
      // Even with an explicit destination: the path still builds the download URL.
      await expectCode(
        updater.downloadTarget(info, join(device.targetDir, 'x')),
        'ERR_TUF_UNSAFE_PATH',
      );
    }
    expect(sim.requestedPaths()).toEqual([]);
    expect(await device.targetFiles()).toEqual([]);
    expect(existsSync(resolve(device.targetDir, '../../evil'))).toBe(false);
    expect(existsSync(resolve(device.targetDir, '../evil'))).toBe(false);
  });
});
