/**
 * Example: the targets key leaked. Generate a new key, revoke the old one in a new root
 * (`tufota rotate targets`), and publish: root v2 is signed by the (offline) root key, targets
 * is re-signed with the new key. Devices holding root v1 follow the rotation on their next
 * refresh and from then on refuse anything signed with the leaked key.
 *
 * Run: node dist/examples/admin/rotate-targets-key.js
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Metadata } from 'tufota';
import { check, cleanup, device, scratch, serve, tufota, tufotaJson } from './lib.js';

const env = { TUFOTA_KEY_PASSWORD: 'example password' };

async function main(): Promise<void> {
  const dir = await scratch('rotate');
  try {
    tufota(dir, ['init', 'repo', '--keys-dir', 'keys'], env);
    const repo = path.join(dir, 'repo');
    await writeFile(path.join(dir, 'fw.img'), 'release 1');
    tufota(repo, ['add-target', '../fw.img', '--path', 'fw/1.img', '--publish'], env);
    const server = await serve(repo);
    try {
      const unit = await device(
        path.join(dir, 'device'),
        server.url,
        path.join(repo, 'metadata', '1.root.json'),
      );
      check((await unit.fetch('fw/1.img')) === 'release 1', 'the device runs release 1');

      // --- the incident ---
      const leaked = JSON.parse(
        await readFile(path.join(dir, 'keys', 'targets.pub.json'), 'utf8'),
      ) as { keyid: string };
      const fresh = tufotaJson<{ keyid: string }>(
        dir,
        ['key', 'generate', 'keys/targets-2.pem'],
        env,
      );
      tufota(
        repo,
        [
          'rotate',
          'targets',
          '--add-key',
          '../keys/targets-2.pem',
          '--revoke-key',
          leaked.keyid,
          '--publish',
        ],
        env,
      );
      const root2 = Metadata.fromBytes(
        new Uint8Array(await readFile(path.join(repo, 'metadata', '2.root.json'))),
        'root',
      );
      check(
        root2.signed.roles.targets.keyids.join() === fresh.keyid,
        'root v2 trusts only the new targets key',
      );

      await writeFile(path.join(dir, 'fw.img'), 'release 2');
      tufota(repo, ['add-target', '../fw.img', '--path', 'fw/2.img', '--publish'], env);
      check(
        (await unit.fetch('fw/2.img')) === 'release 2',
        'the device installs release 2 signed with the new key',
      );
      check((await unit.trustedRoot()) === 2, 'the device now trusts root v2');
      check(tufotaJson<{ ok: boolean }>(repo, ['verify']).ok, 'tufota verify finds no problem');
    } finally {
      await server.close();
    }
    console.log('OK: targets key rotated');
  } finally {
    await cleanup(dir);
  }
}

await main();
