/**
 * Example: create a repository whose root key never touches the online machine.
 *
 * 1. On the offline machine: generate the root key (`tufota key generate`).
 * 2. Create the repository there with that root key and freshly generated online keys
 *    (`tufota init --use-key root=...`), which signs root v1 with the offline key.
 * 3. Move the repository and the online keys to the online machine; its keyring no longer
 *    lists the root key. Releases publish without it; `tufota status` marks root "offline".
 * 4. A device provisioned with metadata/1.root.json installs a release.
 *
 * Run: node dist/examples/admin/create-repository.js
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { check, cleanup, device, scratch, serve, tufota, tufotaJson } from './lib.js';

const env = { TUFOTA_KEY_PASSWORD: 'example password: use a real secret' };

async function main(): Promise<void> {
  const dir = await scratch('create');
  try {
    // --- offline machine ---
    const offline = path.join(dir, 'offline');
    const rootKey = tufotaJson<{ keyid: string }>(
      dir,
      ['key', 'generate', 'offline/root.pem'],
      env,
    );
    tufota(
      dir,
      [
        'init',
        'repo',
        '--use-key',
        `root=${offline}/root.pem`,
        '--keys-dir',
        'online-keys',
        '--expiry',
        'timestamp=1d',
        '--expiry',
        'root=365d',
      ],
      env,
    );

    // --- carry repo/ and online-keys/ to the online machine; the root key stays behind ---
    const repo = path.join(dir, 'repo');
    const configFile = path.join(repo, '.tufota', 'cli.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as {
      keys: Record<string, unknown>;
    };
    delete config.keys[rootKey.keyid];
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);

    // --- online machine: a release ---
    await writeFile(path.join(dir, 'app-1.0.0.img'), 'application image 1.0.0');
    tufota(
      repo,
      [
        'add-target',
        '../app-1.0.0.img',
        '--path',
        'app/1.0.0.img',
        '--hardware-id',
        'gateway-v2',
        '--version',
        '1.0.0',
        '--release-counter',
        '1',
        '--publish',
      ],
      env,
    );
    const keys = tufotaJson<{ keys: Array<{ keyid: string; source: string | null }> }>(repo, [
      'key',
      'list',
    ]);
    check(
      keys.keys.find((k) => k.keyid === rootKey.keyid)?.source === null,
      'the root key is not on the online machine',
    );
    const verify = tufotaJson<{ ok: boolean }>(repo, ['verify']);
    check(verify.ok, 'tufota verify finds no problem');

    // --- a device provisioned with root v1 ---
    const server = await serve(repo);
    try {
      const gateway = await device(
        path.join(dir, 'device'),
        server.url,
        path.join(repo, 'metadata', '1.root.json'),
      );
      check(
        (await gateway.fetch('app/1.0.0.img')) === 'application image 1.0.0',
        'the device installs app/1.0.0.img',
      );
    } finally {
      await server.close();
    }
    console.log('OK: repository created with an offline root key');
  } finally {
    await cleanup(dir);
  }
}

await main();
