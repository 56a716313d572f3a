/**
 * Example: recovering from a compromised timestamp key after a fast-forward attack.
 *
 * An attacker who holds the timestamp key signs `timestamp.json` with version 1000 and serves it
 * (from a mirror, or by getting in the middle). Devices that saw it now trust version 1000 and
 * refuse the real repository's lower timestamp as a rollback: they are locked out. The fix (TUF
 * 5.3.11 / fast-forward attack recovery): rotate the timestamp key in a new root. A device that
 * loads a root with new timestamp keys drops its trusted timestamp, so the real, lower-versioned
 * timestamp signed by the new key is accepted again.
 *
 * Run: node dist/examples/admin/recover-timestamp-key.js
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Metadata } from 'tufota';
import { FileSigner } from 'tufota/signers';
import { check, cleanup, device, scratch, serve, tufota, tufotaJson } from './lib.js';

const password = 'example password';
const env = { TUFOTA_KEY_PASSWORD: password };

async function main(): Promise<void> {
  const dir = await scratch('recover');
  try {
    tufota(dir, ['init', 'repo', '--keys-dir', 'keys'], env);
    const repo = path.join(dir, 'repo');
    await writeFile(path.join(dir, 'fw.img'), 'release 1');
    tufota(repo, ['add-target', '../fw.img', '--path', 'fw.img', '--publish'], env);

    // --- the attack: a mirror serving a timestamp fast-forwarded to version 1000 ---
    const mirror = path.join(dir, 'mirror');
    await cp(repo, mirror, { recursive: true });
    const stolen = await FileSigner.open(path.join(dir, 'keys', 'timestamp.pem'), { password });
    const forged = Metadata.fromBytes(
      new Uint8Array(await readFile(path.join(mirror, 'metadata', 'timestamp.json'))),
      'timestamp',
    );
    forged.signed.version = 1000;
    await forged.sign(stolen);
    await writeFile(path.join(mirror, 'metadata', 'timestamp.json'), forged.toBytes());

    const real = await serve(repo);
    const evil = await serve(mirror);
    try {
      const unit = await device(
        path.join(dir, 'device'),
        evil.url,
        path.join(repo, 'metadata', '1.root.json'),
      );
      await unit.fetch('fw.img'); // the device now trusts timestamp v1000
      let refused = false;
      try {
        await unit.fetch('fw.img', real.url);
      } catch (error) {
        refused = /version/i.test((error as Error).message);
      }
      check(refused, 'the device refuses the real repository: its timestamp is "older" than v1000');

      // --- the recovery: a new timestamp key in root v2 ---
      const compromised = JSON.parse(
        await readFile(path.join(dir, 'keys', 'timestamp.pub.json'), 'utf8'),
      ) as { keyid: string };
      tufota(dir, ['key', 'generate', 'keys/timestamp-2.pem'], env);
      tufota(
        repo,
        [
          'rotate',
          'timestamp',
          '--add-key',
          '../keys/timestamp-2.pem',
          '--revoke-key',
          compromised.keyid,
          '--publish',
        ],
        env,
      );
      const status = tufotaJson<{ roles: Array<{ role: string; version: number }> }>(repo, [
        'status',
      ]);
      check(
        status.roles.find((r) => r.role === 'root')?.version === 2,
        'root v2 rotates the timestamp key',
      );

      check(
        (await unit.fetch('fw.img', real.url)) === 'release 1',
        'the device accepts the real repository again',
      );
      check((await unit.trustedRoot()) === 2, 'the device trusts root v2');
    } finally {
      await real.close();
      await evil.close();
    }
    console.log('OK: recovered from a compromised timestamp key');
  } finally {
    await cleanup(dir);
  }
}

await main();
