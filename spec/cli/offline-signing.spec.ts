/**
 * Threshold and offline signing through the CLI, as operators run it: a 2-of-3 targets role
 * whose second and third keys live on other machines. The edit is prepared online, signed with
 * the local key, carried out as a file, signed offline without touching `signed`, imported, and
 * published once the threshold is met.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticServer, type StaticServer } from '../../src/server/index.js';
import { buildOnce, Client, keyidOf, ok, removeDir, tempDir, treeHash, tufota } from './helpers.js';

describe('tufota CLI: offline threshold signing (2 of 3 targets keys)', () => {
  let work: string;
  let repo: string;
  let server: StaticServer;
  const ids: string[] = [];

  beforeAll(async () => {
    await buildOnce();
    work = await tempDir('tufota-cli-offline-');
    repo = path.join(work, 'repo');
    await ok(
      ['init', 'repo', '--keys-dir', 'keys', '--keys', 'targets=3', '--threshold', 'targets=2'],
      work,
    );
    server = await createStaticServer({ root: repo });
    for (const i of [1, 2, 3])
      ids.push(await keyidOf(path.join(work, 'keys', `targets-${i}.pub.json`)));
    // Keys 2 and 3 are held offline: this machine's keyring forgets them.
    const configFile = path.join(repo, '.tufota', 'cli.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as {
      keys: Record<string, unknown>;
    };
    delete config.keys[ids[1] as string];
    delete config.keys[ids[2] as string];
    await writeFile(configFile, JSON.stringify(config));
    await writeFile(path.join(work, 'fw.img'), 'threshold-signed firmware');
  });
  afterAll(async () => {
    await server.close();
    await removeDir(work);
  });

  it('one key is not enough: publish fails naming the missing keys and writes nothing', async () => {
    await ok(['add-target', '../fw.img', '--path', 'fw.img'], repo);
    const before = await treeHash(repo);
    const result = await tufota(['publish', '--json'], { cwd: repo });
    expect(result.code).toBe(1);
    const error = JSON.parse(result.stderr).error;
    expect(error.code).toBe('ERR_TUF_UNSIGNED');
    expect(error.message).toContain(ids[1]);
    expect(error.hint).toContain('tufota status');
    expect(await treeHash(repo)).toBe(before);
  });

  it('sign --role with the local key → status shows 1/2 and the missing key ids as offline', async () => {
    const signed = await ok(['sign', '--role', 'targets', '--json'], repo);
    expect(signed.json.signedWith).toEqual([ids[0]]);
    const status = await tufota(['status', '--json', '--check'], { cwd: repo });
    expect(status.code).toBe(3);
    const targets = status.json.roles.find((r: { role: string }) => r.role === 'targets');
    expect(targets).toMatchObject({ pending: true, staged: true, verified: false });
    expect(targets.requirements[0].threshold).toBe(2);
    expect(targets.requirements[0].signed).toEqual([ids[0]]);
    expect(targets.requirements[0].missing).toEqual(
      expect.arrayContaining([
        { keyid: ids[1], inKeyring: false },
        { keyid: ids[2], inKeyring: false },
      ]),
    );
    const human = await tufota(['status'], { cwd: repo });
    expect(human.stdout).toMatch(/targets .*staged, needs signatures/);
    expect(human.stdout).toContain(`${ids[1]} (offline)`);
  });

  it('prepare --out → offline sign of the carried file (signed untouched) → import → publish', async () => {
    const prepared = await ok(['prepare', '--out', '../carry', '--json'], repo);
    expect(prepared.json.copies).toEqual([path.join(work, 'carry', 'targets.json')]);
    const carried = path.join(work, 'carry', 'targets.json');
    const signedBefore = (JSON.parse(await readFile(carried, 'utf8')) as { signed: unknown })
      .signed;

    // On the offline machine: no repository, just the file and the key.
    const offline = await ok(
      ['sign', 'carry/targets.json', '--key', 'keys/targets-2.pem', '--json'],
      work,
    );
    expect(offline.json).toMatchObject({ role: 'targets', signedWith: [ids[1]], signatures: 2 });
    const after = JSON.parse(await readFile(carried, 'utf8')) as { signed: unknown };
    expect(after.signed).toEqual(signedBefore);

    const imported = await ok(['import', '../carry/targets.json', '--json'], repo);
    expect(imported.json.imported[0].imported).toEqual([ids[1]]);
    expect(imported.json.imported[0].requirements[0]).toMatchObject({ signed: 2, threshold: 2 });
    expect((await tufota(['status', '--check'], { cwd: repo })).code).toBe(0);

    const published = await ok(['publish', '--json'], repo);
    expect(published.json.roles.map((r: { role: string }) => r.role)).toEqual([
      'targets',
      'snapshot',
      'timestamp',
    ]);
    const targets = JSON.parse(
      await readFile(path.join(repo, 'metadata', '2.targets.json'), 'utf8'),
    ) as {
      signatures: Array<{ keyid: string }>;
    };
    expect(targets.signatures.map((s) => s.keyid).sort()).toEqual([ids[0], ids[1]].sort());
    const client = await Client.create(
      server.url,
      await readFile(path.join(repo, 'metadata', '1.root.json')),
    );
    expect(Buffer.from(await client.download('fw.img')).toString()).toBe(
      'threshold-signed firmware',
    );
    await client.remove();
    expect((await ok(['verify'], repo)).code).toBe(0);
  });

  it('an external signing command plugs in as a key (HSM/KMS protocol: bytes on stdin, hex on stdout)', async () => {
    // A stand-in "HSM tool": signs stdin with key 3 using node's crypto.
    const tool = path.join(work, 'hsm-sign.mjs');
    await writeFile(
      tool,
      [
        "import { createPrivateKey, sign } from 'node:crypto';",
        "import { readFileSync } from 'node:fs';",
        "const key = createPrivateKey({ key: readFileSync(process.argv[2], 'utf8'), passphrase: process.env.TUFOTA_KEY_PASSWORD });",
        'const data = readFileSync(0);',
        "process.stdout.write(sign(null, data, key).toString('hex'));",
      ].join('\n'),
    );
    await writeFile(path.join(work, 'fw2.img'), 'second release');
    await ok(['add-target', '../fw2.img', '--path', 'fw2.img'], repo);
    await ok(['sign', '--role', 'targets'], repo); // key 1 from the keyring
    await ok(
      [
        'sign',
        '--role',
        'targets',
        '--signer-command',
        process.execPath,
        '--signer-arg',
        tool,
        '--signer-arg',
        path.join(work, 'keys', 'targets-3.pem'),
        '--signer-keyid',
        ids[2] as string,
      ],
      repo,
    );
    await ok(['publish'], repo);
    const client = await Client.create(
      server.url,
      await readFile(path.join(repo, 'metadata', '1.root.json')),
    );
    expect(Buffer.from(await client.download('fw2.img')).toString()).toBe('second release');
    await client.remove();
  });

  it('import of several files is all or nothing: one untrusted signature and nothing is staged', async () => {
    await writeFile(path.join(work, 'fw3.img'), 'third release');
    await ok(['add-target', '../fw3.img', '--path', 'fw3.img'], repo);
    for (const holder of ['one', 'two']) await ok(['prepare', '--out', `../carry-${holder}`], repo);
    await ok(['key', 'generate', 'stranger.pem'], work);
    await ok(['sign', 'carry-one/targets.json', '--key', 'keys/targets-2.pem'], work);
    await ok(['sign', 'carry-two/targets.json', '--key', 'stranger.pem'], work);

    const before = await treeHash(repo);
    const refused = await tufota(
      ['import', '../carry-one/targets.json', '../carry-two/targets.json', '--json'],
      { cwd: repo },
    );
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr).error.code).toBe('ERR_TUF_KEY_NOT_AUTHORIZED');
    expect(await treeHash(repo)).toBe(before);

    const imported = await ok(['import', '../carry-one/targets.json', '--json'], repo);
    expect(imported.json.imported[0].imported).toEqual([ids[1]]);
    const staged = JSON.parse(
      await readFile(path.join(repo, '.tufota', 'staging', 'targets.json'), 'utf8'),
    ) as { signatures: Array<{ keyid: string }> };
    expect(staged.signatures.map((s) => s.keyid)).toContain(ids[1]);
  });
});
