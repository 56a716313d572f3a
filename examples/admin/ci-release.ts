/**
 * Example: a release from CI. The pipeline holds only the online keys (targets, snapshot,
 * timestamp) and their password in a secret environment variable; it adds the build output with
 * its hardware id, version and anti-rollback counter, publishes, verifies, and fails the job on
 * any problem (`tufota verify` exits 3). A cron job keeps the timestamp fresh with
 * `tufota refresh`.
 *
 * Run: node dist/examples/admin/ci-release.js
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { check, cleanup, device, scratch, serve, tufota, tufotaJson } from './lib.js';

// In CI this comes from the secret store: TUFOTA_KEY_PASSWORD (or a per-key variable).
const env = { TUFOTA_KEY_PASSWORD: 'ci secret' };

async function main(): Promise<void> {
  const dir = await scratch('ci');
  try {
    tufota(dir, ['init', 'repo', '--keys-dir', 'keys'], env);
    const repo = path.join(dir, 'repo');
    const server = await serve(repo);
    const board = await device(
      path.join(dir, 'device'),
      server.url,
      path.join(repo, 'metadata', '1.root.json'),
    );
    try {
      for (const [version, counter] of [
        ['1.4.0', 14],
        ['1.5.0', 15],
      ] as const) {
        // --- the CI job of one release ---
        await writeFile(path.join(dir, `firmware-${version}.img`), `firmware ${version}`);
        const added = tufotaJson<{
          published: { roles: Array<{ role: string; version: number }> };
        }>(
          repo,
          [
            'add-target',
            `../firmware-${version}.img`,
            '--path',
            `firmware/board-a/${version}.img`,
            '--hardware-id',
            'board-a',
            '--version',
            version,
            '--release-counter',
            String(counter),
            '--publish',
          ],
          env,
        );
        check(
          added.published.roles.some((r) => r.role === 'timestamp'),
          `release ${version} published`,
        );
        check(tufotaJson<{ ok: boolean }>(repo, ['verify']).ok, `release ${version} verifies`);
        check(
          (await board.fetch(`firmware/board-a/${version}.img`)) === `firmware ${version}`,
          `a board-a device installs ${version}`,
        );
      }
      // --- the hourly cron job: re-sign whatever expires within a day ---
      const refreshed = tufotaJson<{ roles: string[] }>(repo, ['refresh', '--within', '2d'], env);
      check(refreshed.roles.includes('timestamp'), 'refresh re-signed the timestamp');
      check(
        (await board.fetch('firmware/board-a/1.5.0.img')) === 'firmware 1.5.0',
        'devices accept the refreshed metadata',
      );
    } finally {
      await server.close();
    }
    console.log('OK: CI release workflow');
  } finally {
    await cleanup(dir);
  }
}

await main();
